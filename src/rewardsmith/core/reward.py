"""`Reward`: a named, versioned scoring function with a declared kind, and its decorator."""

from __future__ import annotations

import importlib
import inspect
import time
import traceback
import typing
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal, Protocol

import pydantic

from rewardsmith.core.errors import RegistryError
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score, coerce_score

__all__ = ["DEFAULT_VERSION", "ENGINE_PARAMS", "Kind", "Reward", "reward"]

Kind = Literal["cpu", "io", "group"]

ENGINE_PARAMS: Final = frozenset({"timeout_s", "retries", "concurrency"})
"""Params the engine consumes itself; a reward sees them only if its signature asks for them."""

DEFAULT_READS: Final = ("prompt", "completion", "reference", "task", "extra")

DEFAULT_VERSION: Final = "1"
"""A reward's version until it is first bumped; spec hashes leave it out (`Spec.content_hash`)."""


class _Registrar(Protocol):
    def add(self, reward: Reward) -> None: ...

    def get(self, name: str) -> Reward: ...


# The registry imports this module (it stores `Reward`s), so this module cannot import it back:
# `core/registry.py` hands its default registry over with `use_default_registry` when it is
# imported, which the package's `__init__` does before any reward is defined.
_registry: _Registrar | None = None


def use_default_registry(registry: _Registrar) -> None:
    """Where the `reward` decorator registers, and where a worker looks a reward up by name."""
    global _registry
    _registry = registry


def _default_registry() -> _Registrar:
    if _registry is None:  # pragma: no cover - core/__init__ imports the registry first
        raise RegistryError("rewardsmith.core.registry has not been imported")
    return _registry


class Reward:
    """A scoring function plus the metadata the engine and the registry need.

    Create one with the `reward` decorator rather than directly. Calling the object calls the
    function unchanged, so a decorated reward stays a plain, testable Python function.

    Attributes:
        name: registry name, ``family.name`` or a single word.
        kind: ``cpu`` (pure, may hang: runs in a killable worker process), ``io`` (async: runs
            on the event loop with limits and retries) or ``group`` (receives every sample of a
            group at once and returns one score per sample).
        version: bumped whenever the same inputs may give different numbers; recorded in
            provenance and part of the cache key.
        inline: the reward is cheap and cannot hang, so the engine may run it in the calling
            process without a worker round trip.
        reads: the sample fields the score depends on (the cache key hashes only these).
        timeout_s: default per-call time limit enforced by the engine.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str,
        kind: Kind = "cpu",
        version: str = DEFAULT_VERSION,
        inline: bool = False,
        reads: Sequence[str] | None = None,
        timeout_s: float = 30.0,
        check_reference: Callable[[Any], str | None] | None = None,
    ) -> None:
        if kind not in ("cpu", "io", "group"):
            raise ValueError(f"reward {name!r}: kind must be 'cpu', 'io' or 'group', not {kind!r}")
        if kind == "io" and not inspect.iscoroutinefunction(fn):
            raise TypeError(f"reward {name!r}: kind='io' needs an 'async def' function")
        if kind != "io" and inspect.iscoroutinefunction(fn):
            raise TypeError(f"reward {name!r}: an 'async def' reward must declare kind='io'")
        self.fn = fn
        self.name = name
        self.kind: Kind = kind
        self.version = str(version)
        self.inline = inline
        self.reads = tuple(reads) if reads is not None else DEFAULT_READS
        self.timeout_s = float(timeout_s)
        self.check_reference = check_reference
        self.ref = f"{fn.__module__}:{fn.__qualname__}"
        self.__doc__ = fn.__doc__
        self.__name__ = getattr(fn, "__name__", name)
        self.__qualname__ = getattr(fn, "__qualname__", name)
        self.__module__ = fn.__module__
        self.__wrapped__ = fn
        self._params_model: type[pydantic.BaseModel] | None = None
        self._param_names: frozenset[str] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Reward {self.name}@{self.version} kind={self.kind}{' inline' if self.inline else ''}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # Workers import the defining module (which re-registers the reward) instead of
        # receiving a pickled function object.
        return (_load_reward, (self.ref, self.name))

    @property
    def summary(self) -> str:
        """The first line of the docstring."""
        doc = inspect.getdoc(self.fn) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    # -- params -----------------------------------------------------------------------------

    def params_model(self) -> type[pydantic.BaseModel]:
        """A pydantic model of the keyword parameters the function accepts after the sample."""
        if self._params_model is None:
            self._params_model = _params_model_for(self.fn, self.name)
        return self._params_model

    def validate_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Check params against the signature; raises `pydantic.ValidationError` when wrong.

        Engine params (``timeout_s``) are accepted for every reward and passed on only when the
        function's signature names them.
        """
        model = self.params_model()
        own = {k: v for k, v in params.items() if k not in ENGINE_PARAMS or k in model.model_fields}
        validated = model.model_validate(own)
        return {k: getattr(validated, k) for k in own}

    def accepted_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The params to pass to the function (engine params removed unless it asks for them)."""
        if not params:  # the common case, once per row: no lookup at all
            return {}
        if self._param_names is None:  # pydantic's `model_fields` costs ~1 us per access
            self._param_names = frozenset(self.params_model().model_fields)
        names = self._param_names
        return {k: v for k, v in params.items() if k not in ENGINE_PARAMS or k in names}

    # -- running (no isolation here: the engine decides where this runs) --------------------

    def run(self, sample: Sample, params: dict[str, Any]) -> Score:
        """Call a cpu reward on one sample, turning any exception or bad return into a status."""
        start = time.perf_counter()
        try:
            result = self.fn(sample, **self.accepted_params(params))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            score = _exception_score(self.name, exc)
        else:
            score = coerce_score(result, self.name)
        score.latency_s = time.perf_counter() - start
        return score

    async def arun(self, sample: Sample, params: dict[str, Any]) -> Score:
        """Await an io reward on one sample; exceptions propagate so the engine can retry them."""
        start = time.perf_counter()
        result = await self.fn(sample, **self.accepted_params(params))
        score = coerce_score(result, self.name)
        score.latency_s = time.perf_counter() - start
        return score

    def run_group(self, samples: list[Sample], params: dict[str, Any]) -> list[Score]:
        """Call a group reward on the samples of one group; one score per sample, in order."""
        start = time.perf_counter()
        try:
            results = self.fn(samples, **self.accepted_params(params))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            failed = _exception_score(self.name, exc)
            return [Score.fail("error", failed.reason, **failed.info) for _ in samples]
        if not isinstance(results, list | tuple) or len(results) != len(samples):
            got = len(results) if isinstance(results, list | tuple) else type(results).__name__
            reason = f"group reward {self.name!r} returned {got}, expected {len(samples)} scores"
            return [Score.fail("error", reason) for _ in samples]
        elapsed = (time.perf_counter() - start) / max(len(samples), 1)
        scores = [coerce_score(result, self.name) for result in results]
        for score in scores:
            score.latency_s = elapsed
        return scores


def reward(
    name: str,
    *,
    kind: Kind = "cpu",
    version: str = DEFAULT_VERSION,
    inline: bool = False,
    reads: Sequence[str] | None = None,
    timeout_s: float = 30.0,
    check_reference: Callable[[Any], str | None] | None = None,
    register: bool = True,
) -> Callable[[Callable[..., Any]], Reward]:
    """Define a reward and register it by name.

    The function takes a `Sample` (a list of samples for ``kind="group"``) and keyword params,
    and returns a float or a `Score`. ``check_reference`` validates a reference ahead of scoring
    (used by ``rewardsmith check``): it returns None when fine, or the problem as text.

    Example:
        >>> import rewardsmith
        >>> @rewardsmith.reward("demo.shouting", inline=True, register=False)
        ... def shouting(sample, *, min_ratio: float = 0.5) -> float:
        ...     '''1.0 when most letters are capitals.'''
        ...     letters = [c for c in sample.completion_text if c.isalpha()]
        ...     return float(bool(letters) and sum(c.isupper() for c in letters) >= min_ratio * len(letters))
        >>> shouting(rewardsmith.Sample(id="a", completion="HELLO there"))
        1.0
    """

    def wrap(fn: Callable[..., Any]) -> Reward:
        made = Reward(
            fn,
            name=name,
            kind=kind,
            version=version,
            inline=inline,
            reads=reads,
            timeout_s=timeout_s,
            check_reference=check_reference,
        )
        if register:
            _default_registry().add(made)
        return made

    return wrap


def _exception_score(name: str, exc: BaseException) -> Score:
    if isinstance(exc, SystemExit):
        reason = f"reward {name!r} called exit({exc.code!r})"
    else:
        reason = f"reward {name!r} raised {type(exc).__name__}: {_first_line(exc)}"
    tb = "".join(traceback.format_exception(exc, limit=-4))
    return Score.fail("error", reason, traceback=tb[-2000:])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    return line[:300]


def _params_model_for(fn: Callable[..., Any], name: str) -> type[pydantic.BaseModel]:
    signature = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:
        hints = {}
    fields: dict[str, Any] = {}
    extra: Literal["forbid", "allow"] = "forbid"
    for position, parameter in enumerate(signature.parameters.values()):
        if position == 0 and parameter.kind in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        ):
            continue  # the sample (or list of samples)
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            extra = "allow"
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)
    config = pydantic.ConfigDict(extra=extra, arbitrary_types_allowed=True, strict=False)
    model_name = "".join(
        part.capitalize() for part in name.replace("-", "_").replace(".", "_").split("_")
    )
    return pydantic.create_model(f"{model_name}Params", __config__=config, **fields)


def _load_reward(ref: str, name: str) -> Reward:
    """Find a reward again in another process: by its defining module, then by registry name."""
    module_name, _, qualname = ref.partition(":")
    candidates = [module_name] + (["__mp_main__"] if module_name == "__main__" else [])
    for candidate in candidates:
        try:
            target: Any = importlib.import_module(candidate)
            for part in qualname.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError):
            continue
        if isinstance(target, Reward):
            return target
    try:
        return _default_registry().get(name)
    except RegistryError:
        raise RegistryError(
            f"reward {name!r} ({ref}) cannot be found in a worker process: define it at module "
            "level in an importable module (or a script guarded by `if __name__ == '__main__'`), "
            "or declare it inline=True if it is cheap and cannot hang"
        ) from None

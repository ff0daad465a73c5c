"""`Spec`: which reward terms run, with what params, weights, routing, gates and status policy.

A spec comes from a TOML file, a dict of the same shape, a `Spec`, or just a registered reward
name (a one-term spec). Every problem is found by `load_spec` before any row is scored, and the
error names the source, the key and the fix.

Example:
    >>> spec = load_spec({"terms": [{"name": "em", "use": "exact_match"}]})
    >>> [term.name for term in spec.terms], spec.on_status.error
    (['em'], 'mask')
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rewardsmith.core.errors import RegistryError, SpecError
from rewardsmith.core.formula import Formula, FormulaError
from rewardsmith.core.registry import Registry, default_registry
from rewardsmith.core.reward import DEFAULT_VERSION, ENGINE_PARAMS, Reward
from rewardsmith.core.shaping_spec import (
    ConstrainedSpec,
    CreditSpec,
    EnsembleSpec,
    LexicographicSpec,
    NormalizeSpec,
    TransformSpec,
    UnlikelinessSpec,
)

__all__ = [
    "ConstrainedSpec",
    "CreditSpec",
    "EnsembleSpec",
    "LexicographicSpec",
    "Limits",
    "NormalizeSpec",
    "ResolvedTerm",
    "Spec",
    "StatusPolicy",
    "TermSpec",
    "TransformSpec",
    "UnlikelinessSpec",
    "load_resolved",
    "load_spec",
    "term_versions",
]

_ACTION_PATTERN: Final = re.compile(r"^(zero|mask|raise|penalty:-?\d+(\.\d+)?([eE]-?\d+)?)$")


def _check_action(value: str) -> str:
    if not _ACTION_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a status action; use 'zero', 'mask', 'raise' or 'penalty:<number>'"
        )
    return value


Action = Annotated[str, AfterValidator(_check_action)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermSpec(_Strict):
    """One reward term of a spec."""

    name: str = Field(min_length=1)
    """Term name; the key of this term in ``components`` and the name gates refer to."""
    use: str = Field(min_length=1)
    """The reward to run: a registered name (``rewardsmith list``) or ``package.module:function``."""
    weight: float = 1.0
    """Multiplier of this term's value in the weighted sum."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Keyword params for the reward; ``timeout_s`` sets the engine's per-call limit."""
    when: str | list[str] | None = None
    """Task name(s) this term applies to (matched against each row's ``task``); unset: all rows."""
    gate: str | None = None
    """Name of another term that must pass (value >= ``gate_min``) for this term to count."""
    gate_min: float = 1.0
    """The value the gate term must reach to pass."""
    transform: list[TransformSpec] = Field(default_factory=list)
    """Transforms of this term's ok value, applied in order before gates and weights."""
    clip: tuple[float, float] | None = None
    """Shorthand: clip this term's value to ``[low, high]`` after its transforms."""
    credit: CreditSpec | None = None
    """Aggregate the term's step scores (``Score.info["steps"]``) into its value."""

    @pydantic.field_validator("transform", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @pydantic.field_validator("clip")
    @classmethod
    def _ordered_clip(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(f"clip = [low, high] needs low <= high, got {list(value)}")
        return value

    def applies_to(self, task: str | None) -> bool:
        if self.when is None:
            return True
        wanted = [self.when] if isinstance(self.when, str) else self.when
        return task in wanted


class StatusPolicy(_Strict):
    """What training sees for each non-ok status: ``zero``, ``mask`` (null), ``penalty:<x>`` or
    ``raise``."""

    not_applicable: Action = "mask"
    """A row that no term applies to (no term's ``when`` matches its task)."""
    invalid_reference: Action = "mask"
    """The reference is unusable: the data is wrong, not the completion."""
    parse_error: Action = "zero"
    """No answer could be extracted from the completion: the policy's fault."""
    timeout: Action = "zero"
    """The reward ran past its time limit and was killed."""
    error: Action = "mask"
    """The reward crashed, returned a non-number, or the input row was malformed."""
    refused: Action = "zero"
    """The completion was refused before scoring (over a size limit, or unsafe to run)."""
    grader_failure: Action = "mask"
    """Any non-ok status that the grader itself caused (``Score.info["fault"] == "grader"``): a
    judge that timed out, refused, gave no verdict or ran out of budget. The policy is not to
    blame, so by default the row is masked, whatever the status's own action says."""

    def action(self, status: str) -> str:
        return str(getattr(self, status))


class Limits(_Strict):
    """Guards applied to every row before any reward sees it."""

    max_completion_chars: int = Field(default=1_000_000, gt=0)
    """Longer completions are ``refused`` instead of being handed to rewards."""
    worker_memory_mb: int | None = Field(default=None, gt=0)
    """Resident memory (MiB) a worker may hold while it runs a ``cpu`` reward on a row; past it
    the worker is killed and the row is ``error`` with reason ``memory limit ...``. Unset: 4096.
    ``rewardsmith score --memory-mb``, ``ServeConfig.worker_memory_mb`` and
    ``Engine(memory_mb=...)`` win over it; an engine built without one (``rewardsmith.score``'s
    included) applies each spec's own limit to that spec's rows."""


class Spec(_Strict):
    """A complete reward definition."""

    name: str = "unnamed"
    """A label recorded in the run log."""
    description: str = ""
    """Free text for people."""
    terms: list[TermSpec] = Field(min_length=1)
    """The reward terms; the row reward is the weighted sum of the terms that apply."""
    on_status: StatusPolicy = Field(default_factory=StatusPolicy)
    """Status policy: how each failure status becomes a training value."""
    limits: Limits = Field(default_factory=Limits)
    """Input guards."""
    combine: Literal["sum", "formula", "lexicographic", "constrained"] = "sum"
    """How term values become the row reward: weighted ``sum``, a ``formula``,
    ``lexicographic`` comparison within groups (see ``lexicographic``), or ``constrained``
    (an objective plus Lagrange-multiplied constraints, see ``constrained``)."""
    formula: str | None = None
    """combine = "formula": an expression over term and ensemble names, e.g.
    ``"min(correct, format) + 0.1 * clip(length, -1, 0)"``."""
    lexicographic: LexicographicSpec | None = None
    """combine = "lexicographic": factor order, margins and scope."""
    constrained: ConstrainedSpec | None = None
    """combine = "constrained": objective, thresholds, multiplier learning rate and bounds."""
    ensembles: list[EnsembleSpec] = Field(default_factory=list)
    """Terms pooled into one component (mean, median, min, mean - λ·var, mean - λ·std)."""
    normalize: NormalizeSpec | None = None
    """Group or batch advantages, returned alongside the rewards."""
    unlikeliness: UnlikelinessSpec | None = None
    """Scale each group's rewards down for the policy's most likely samples."""

    @pydantic.model_validator(mode="after")
    def _check_terms(self) -> Spec:
        names = [term.name for term in self.terms]
        for position, term in enumerate(self.terms):
            if names.count(term.name) > 1:
                raise ValueError(f"terms[{position}]: term name {term.name!r} is used twice")
            if term.gate is not None:
                if term.gate == term.name:
                    raise ValueError(
                        f"terms[{position}] ({term.name!r}).gate: a term cannot gate itself"
                    )
                if term.gate not in names:
                    raise ValueError(
                        f"terms[{position}] ({term.name!r}).gate: no term named {term.gate!r}"
                        f"{_did_you_mean(term.gate, names)}"
                    )
        _check_shaping(self, names)
        return self

    def content_hash(self, versions: Mapping[str, str] | None = None) -> str:
        """A stable hash of everything that changes the numbers (not of the file's layout).

        Shaping keys left at their defaults are not hashed, so a spec written before they
        existed keeps its hash (and a resumed run still finds its log).

        Args:
            versions: the version of each term's reward, by term name (`term_versions`). A
                version other than the default ``"1"`` is hashed with its term, so the hash
                changes when a reward's version does; a spec whose rewards are all at ``"1"``
                keeps the hash it had before versions were hashed. Leave it out only where the
                rewards cannot change under the hash (a cache within one process).
        """
        data = self.model_dump(mode="json")
        for key in _SHAPING_KEYS:
            if data.get(key) == _SHAPING_DEFAULTS[key]:
                del data[key]
        if data["limits"].get("worker_memory_mb") is None:
            del data["limits"]["worker_memory_mb"]  # unset: older specs keep their hash
        if data["on_status"].get("grader_failure") == "mask":
            del data["on_status"]["grader_failure"]  # its default: older specs keep their hash
        for term in data["terms"]:
            for key in _TERM_SHAPING_KEYS:
                if term.get(key) in (None, []):
                    term.pop(key, None)
            version = (versions or {}).get(term["name"], DEFAULT_VERSION)
            if version != DEFAULT_VERSION:
                term["reward_version"] = version
        payload = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


_SHAPING_KEYS: Final = (
    "combine",
    "formula",
    "lexicographic",
    "ensembles",
    "normalize",
    "unlikeliness",
    "constrained",
)
_SHAPING_DEFAULTS: Final[dict[str, Any]] = {
    "combine": "sum",
    "formula": None,
    "lexicographic": None,
    "ensembles": [],
    "normalize": None,
    "unlikeliness": None,
    "constrained": None,
}
_TERM_SHAPING_KEYS: Final = ("transform", "clip", "credit")


def _check_shaping(spec: Spec, names: list[str]) -> None:
    """Cross-key checks of the shaping tables (names exist, modes agree)."""
    members: dict[str, str] = {}
    ensemble_names = []
    for position, ensemble in enumerate(spec.ensembles):
        where = f"ensembles[{position}] ({ensemble.name!r})"
        if ensemble.name in names or ensemble.name in ensemble_names:
            raise ValueError(f"{where}.name: {ensemble.name!r} is already a term or ensemble name")
        ensemble_names.append(ensemble.name)
        for member in ensemble.terms:
            if member not in names:
                raise ValueError(
                    f"{where}.terms: no term named {member!r}{_did_you_mean(member, names)}"
                )
            if member in members:
                raise ValueError(
                    f"{where}.terms: term {member!r} is already in ensemble {members[member]!r}"
                )
            members[member] = ensemble.name
    known = names + ensemble_names
    if spec.combine == "formula":
        if not spec.formula:
            raise ValueError('combine = "formula" needs a formula, e.g. formula = "min(a, b)"')
        try:
            Formula(spec.formula, names=known)
        except FormulaError as exc:
            raise ValueError(f"formula: {exc}") from None
    elif spec.formula is not None:
        raise ValueError(f'formula is set but combine = {spec.combine!r}; add combine = "formula"')
    if spec.lexicographic is not None and spec.combine != "lexicographic":
        raise ValueError(
            f'[lexicographic] is set but combine = {spec.combine!r}; add combine = "lexicographic"'
        )
    if spec.combine == "lexicographic" and spec.lexicographic is not None:
        lex = spec.lexicographic
        for factor in lex.order:
            if factor not in known:
                raise ValueError(
                    f"lexicographic.order: no term or ensemble named {factor!r}{_did_you_mean(factor, known)}"
                )
        if isinstance(lex.margins, list) and len(lex.margins) != len(lex.order or names):
            raise ValueError(
                f"lexicographic.margins: {len(lex.margins)} margins for {len(lex.order or names)} factors"
            )
    _check_constrained(spec, known)
    process = spec.normalize.process if spec.normalize is not None else None
    if process is not None and process not in names:
        raise ValueError(
            f"normalize.process: no term named {process!r}{_did_you_mean(process, names)}"
        )
    if spec.normalize is not None and spec.normalize.method == "gdpo" and spec.combine != "sum":
        raise ValueError(
            f'normalize.method = "gdpo" normalizes each weighted component, so it needs combine = "sum", not {spec.combine!r}'
        )


def _check_constrained(spec: Spec, known: list[str]) -> None:
    table = spec.constrained
    if table is not None and spec.combine != "constrained":
        raise ValueError(
            f'[constrained] is set but combine = {spec.combine!r}; add combine = "constrained"'
        )
    if spec.combine != "constrained":
        return
    if table is None:
        raise ValueError(
            'combine = "constrained" needs a [constrained] table with an objective and constraints'
        )
    named = [("objective", table.objective)] + [
        (f"constraints[{i}].term", c.term) for i, c in enumerate(table.constraints)
    ]
    weights = {term.name: term.weight for term in spec.terms}
    weights.update({ensemble.name: ensemble.weight for ensemble in spec.ensembles})
    members = {member for ensemble in spec.ensembles for member in ensemble.terms}
    for key, name in named:
        if name not in known:
            raise ValueError(
                f"constrained.{key}: no term or ensemble named {name!r}{_did_you_mean(name, known)}"
            )
        if name in members:
            raise ValueError(
                f"constrained.{key}: {name!r} is an ensemble member; name its ensemble instead"
            )
        if weights[name] != 1.0:
            # The multipliers are the weights here; a static weight would silently rescale them.
            raise ValueError(
                f"constrained.{key}: {name!r} has weight {weights[name]}; weights do not apply "
                'with combine = "constrained" (the multipliers are the weights): remove it'
            )


@dataclass(frozen=True)
class ResolvedTerm:
    """A term with its reward looked up and its params validated."""

    spec: TermSpec
    reward: Reward
    params: dict[str, Any]
    timeout_s: float
    retries: int = 2
    concurrency: int = 16

    @property
    def name(self) -> str:
        return self.spec.name


def term_versions(terms: Sequence[ResolvedTerm]) -> dict[str, str]:
    """The version of each term's reward, by term name: what `Spec.content_hash` takes."""
    return {term.name: term.reward.version for term in terms}


def load_spec(source: object, *, registry: Registry | None = None) -> Spec:
    """Build and validate a `Spec` from a Spec, dict, TOML path or reward name.

    Raises:
        SpecError: naming the source, the key and what to change.
    """
    return load_resolved(source, registry=registry)[0]


def load_resolved(
    source: object, *, registry: Registry | None = None
) -> tuple[Spec, list[ResolvedTerm]]:
    """`load_spec` plus the resolved terms it had to build to validate the spec."""
    registry = registry or default_registry
    if isinstance(source, Spec):
        spec, origin = source, "<Spec>"
    elif isinstance(source, dict):
        spec, origin = _from_dict(source, "<dict>"), "<dict>"
    elif isinstance(source, str | Path):
        text = str(source)
        path = Path(text)
        if text.endswith(".toml") or path.is_file():
            spec, origin = _from_file(path), str(path)
        else:
            spec = Spec(name=text, terms=[TermSpec(name=_term_name(text), use=text)])
            origin = f"reward {text!r}"
    else:
        raise SpecError(
            f"a spec must be a reward name, a TOML path, a dict or a Spec, not {type(source).__name__}"
        )
    return spec, resolve_terms(spec, registry=registry, origin=origin)


def resolve_terms(
    spec: Spec, *, registry: Registry | None = None, origin: str = "<spec>"
) -> list[ResolvedTerm]:
    """Look up every term's reward and validate its params; raises `SpecError` on the first problem."""
    registry = registry or default_registry
    resolved = []
    for position, term in enumerate(spec.terms):
        where = f"{origin}: terms[{position}] ({term.name!r})"
        try:
            reward = registry.get(term.use)
        except RegistryError as exc:
            raise SpecError(f"{where}.use: {exc}") from None
        try:
            params = reward.validate_params(term.params)
        except pydantic.ValidationError as exc:
            raise SpecError(f"{where}.params: {_describe_params_error(exc, reward)}") from None
        timeout = term.params.get("timeout_s", reward.timeout_s)
        retries = term.params.get("retries", 2)
        concurrency = term.params.get("concurrency", 16)
        for key, value, low in (
            ("timeout_s", timeout, 0),
            ("retries", retries, -1),
            ("concurrency", concurrency, 0),
        ):
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if not is_number or value <= low or (key != "timeout_s" and value != int(value)):
                kind = (
                    "a positive number of seconds" if key == "timeout_s" else f"an integer > {low}"
                )
                raise SpecError(f"{where}.params.{key}: must be {kind}, got {value!r}")
        resolved.append(
            ResolvedTerm(
                spec=term,
                reward=reward,
                params=params,
                timeout_s=float(timeout),
                retries=int(retries),
                concurrency=int(concurrency),
            )
        )
    return resolved


def _term_name(reward_name: str) -> str:
    return reward_name.rsplit(":", 1)[-1]


def _from_file(path: Path) -> Spec:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read spec file: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{path}: spec file is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: invalid TOML: {exc}") from None
    return _from_dict(data, str(path))


def _from_dict(data: dict[str, Any], origin: str) -> Spec:
    try:
        return Spec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise SpecError(_describe_spec_error(exc, data, origin)) from None


def _describe_spec_error(exc: pydantic.ValidationError, data: dict[str, Any], origin: str) -> str:
    lines = []
    for error in exc.errors():
        key = _key_path(error["loc"], data)
        if error["type"] == "extra_forbidden":
            model = _model_at(error["loc"][:-1])
            allowed = list(model.model_fields) if model else []
            bad = str(error["loc"][-1])
            lines.append(
                f"{key}: unknown key {bad!r}{_did_you_mean(bad, allowed)} "
                f"(allowed here: {', '.join(allowed)})"
            )
        elif error["type"] == "missing":
            lines.append(f"{key}: required key is missing")
        else:
            message = error["msg"].removeprefix("Value error, ")
            if isinstance(error.get("input"), dict):
                # A whole table failed a cross-key check: the message names the keys, and
                # echoing the table back would bury it.
                lines.append(f"{key}: {message}")
            else:
                lines.append(f"{key}: {message} (got {error.get('input')!r})")
    plural = "s" if len(lines) > 1 else ""
    return f"{origin}: invalid spec, {len(lines)} problem{plural}:\n  " + "\n  ".join(lines)


def _describe_params_error(exc: pydantic.ValidationError, reward: Reward) -> str:
    allowed = [name for name in reward.params_model().model_fields] + sorted(ENGINE_PARAMS)
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "<params>"
        if error["type"] == "extra_forbidden":
            problems.append(
                f"unknown param {key!r} for reward {reward.name!r}{_did_you_mean(key, allowed)} "
                f"(accepted: {', '.join(allowed)})"
            )
        elif error["type"] == "missing":
            problems.append(f"reward {reward.name!r} needs param {key!r}")
        else:
            problems.append(f"{key}: {error['msg']} (got {error.get('input')!r})")
    return "; ".join(problems)


def _key_path(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    parts: list[str] = []
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, list) and part < len(node):
                node = node[part]
                if isinstance(node, dict) and isinstance(node.get("name"), str):
                    label += f" ({node['name']!r})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts) or "<top level>"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Spec
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return model


def _did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""

"""The registry: the only way rewards are found.

Three sources, looked up in this order: rewards registered in this process (decorator),
built-ins (imported lazily from `rewardsmith.core.builtins`), and third-party packages through
the ``rewardsmith.rewards`` entry-point group. A name that contains ``:`` is an import path
(``pkg.module:function``) and is imported directly.

Names follow the rule in docs/spec.md (``family.name`` inside a family of rewards, one word
otherwise); a name given before that rule resolves through an alias (`Registry.add_alias`). Once
`Registry.freeze` is called, no new reward may be registered: a host that serves a fixed set of
rewards can make sure that nothing imported later changes what a name means.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from importlib.metadata import entry_points
from typing import Any

from rewardsmith.core.builtins import BUILTIN_ALIASES, BUILTIN_REWARDS
from rewardsmith.core.errors import RegistryError
from rewardsmith.core.reward import Reward, use_default_registry

__all__ = ["ENTRY_POINT_GROUP", "Registry", "default_registry", "get_reward", "list_rewards"]

ENTRY_POINT_GROUP = "rewardsmith.rewards"


class Registry:
    """Rewards by name, with lazy targets and "did you mean" on unknown names."""

    def __init__(
        self,
        lazy: dict[str, str] | None = None,
        *,
        aliases: dict[str, str] | None = None,
        use_entry_points: bool = True,
    ) -> None:
        self._rewards: dict[str, Reward] = {}
        self._lazy: dict[str, str] = dict(lazy or {})
        self._use_entry_points = use_entry_points
        self._entry_points_loaded = False
        self._aliases: dict[str, str] = dict(aliases or {})
        self._frozen = False
        self._lock = threading.RLock()

    def add(self, reward: Reward) -> None:
        """Register a reward; a second, different reward under the same name is an error."""
        with self._lock:
            if reward.name in self._aliases:
                raise RegistryError(
                    f"reward name {reward.name!r} is an alias of {self._aliases[reward.name]!r}; "
                    f"{reward.ref} must choose another name"
                )
            self._check_open(reward.name, reward.ref)
            existing = self._rewards.get(reward.name)
            if existing is not None and existing.ref != reward.ref:
                raise RegistryError(
                    f"reward name {reward.name!r} is already registered by {existing.ref}; "
                    f"{reward.ref} must choose another name"
                )
            self._rewards[reward.name] = reward

    def add_lazy(self, name: str, target: str) -> None:
        """Register a name whose module (``pkg.mod`` or ``pkg.mod:attr``) is imported on use."""
        with self._lock:
            self._check_open(name, target)
            self._lazy.setdefault(name, target)

    def add_alias(self, alias: str, name: str) -> None:
        """Make ``alias`` another name for the reward ``name`` (the reward keeps its own name).

        Example:
            >>> registry = Registry({"exact_match": "rewardsmith.rewards.text:exact_match"})
            >>> registry.add_alias("text.exact_match", "exact_match")
            >>> registry.get("text.exact_match").name
            'exact_match'
        """
        with self._lock:
            self._check_open(alias, f"an alias of {name!r}")
            if alias in self._rewards or alias in self._lazy:
                raise RegistryError(f"cannot alias {alias!r}: a reward already has that name")
            existing = self._aliases.get(alias)
            if existing is not None and existing != name:
                raise RegistryError(f"{alias!r} is already an alias of {existing!r}, not {name!r}")
            self._aliases[alias] = name

    def aliases(self) -> dict[str, str]:
        """Every alias and the name it stands for."""
        with self._lock:
            return dict(self._aliases)

    def freeze(self) -> None:
        """Refuse every later registration (rewards, lazy names, aliases) with `RegistryError`.

        Entry points are read first, so the set of names is fixed from here on. A name known
        before the freeze still resolves (importing its module registers it); a new name is
        refused, whether it comes from a decorator (in any module, one imported by path
        included), `add_lazy` or `add_alias`.

        Example:
            >>> registry = Registry(use_entry_points=False)
            >>> registry.freeze()
            >>> registry.add_lazy("late", "somewhere")
            Traceback (most recent call last):
            ...
            rewardsmith.core.errors.RegistryError: the registry is frozen: cannot register 'late' (somewhere)...
        """
        with self._lock:
            self._load_entry_points()
            self._frozen = True

    @property
    def frozen(self) -> bool:
        return self._frozen

    def get(self, name: str) -> Reward:
        """The reward registered as ``name`` (or found at import path ``pkg.mod:attr``)."""
        with self._lock:
            name = self._aliases.get(name, name)
            if name in self._rewards:
                return self._rewards[name]
            if ":" in name:
                return self._import_path(name)
            if name not in self._lazy:
                self._load_entry_points()
            if name in self._lazy:
                self._import_target(name, self._lazy[name])
                if name in self._rewards:
                    return self._rewards[name]
                raise RegistryError(
                    f"importing {self._lazy[name]} did not register a reward named {name!r}"
                )
            raise RegistryError(self._unknown_message(name))

    def names(self) -> list[str]:
        """Every known name, registered, lazy or alias, sorted."""
        with self._lock:
            self._load_entry_points()
            return sorted(set(self._rewards) | set(self._lazy) | set(self._aliases))

    def all(self) -> list[Reward]:
        """Every reward once (aliases left out), importing lazy targets (a target that fails to
        import is skipped)."""
        rewards = []
        for name in self.names():
            if name in self._aliases:
                continue
            try:
                rewards.append(self.get(name))
            except RegistryError:
                continue
        return rewards

    # -- internals --------------------------------------------------------------------------

    def _check_open(self, name: str, what: str) -> None:
        # A name known before the freeze may still be registered: importing a built-in's module
        # (through `get` or directly) registers the rewards it defines. Only new names are refused.
        known = name in self._rewards or name in self._lazy or name in self._aliases
        if self._frozen and not known:
            raise RegistryError(
                f"the registry is frozen: cannot register {name!r} ({what}). Register every "
                "reward before the registry is frozen (when the host starts serving)."
            )

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded or not self._use_entry_points:
            return
        self._entry_points_loaded = True
        for point in entry_points(group=ENTRY_POINT_GROUP):
            self._lazy.setdefault(point.name, point.value)

    def _import_target(self, name: str, target: str) -> None:
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise RegistryError(
                f"reward {name!r} lives in {module_name}, which failed to import: {exc}. "
                f"{_install_hint(exc)}"
            ) from exc
        if attr:
            found = _resolve_attr(module, attr, name)
            if not isinstance(found, Reward):
                found = Reward(found, name=name)
            if name not in self._rewards:
                self._rewards[name] = found

    def _import_path(self, path: str) -> Reward:
        module_name, _, attr = path.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise RegistryError(
                f"cannot import {module_name!r} for reward {path!r}: {exc}"
            ) from exc
        found = _resolve_attr(module, attr, path)
        if isinstance(found, Reward):
            return found
        if callable(found):
            return Reward(found, name=path)
        raise RegistryError(f"{path!r} is a {type(found).__name__}, not a reward function")

    def _unknown_message(self, name: str) -> str:
        known = sorted(set(self._rewards) | set(self._lazy) | set(self._aliases))
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return (
            f"unknown reward {name!r}.{hint} Known rewards: {', '.join(known)}. "
            "Third-party rewards register through the 'rewardsmith.rewards' entry-point group, "
            "or name one by import path as 'package.module:function'."
        )


def _resolve_attr(module: Any, attr: str, name: str) -> Any:
    target = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise RegistryError(
                f"{module.__name__} has no attribute {attr!r} (reward {name!r})"
            ) from exc
    return target


def _install_hint(exc: ImportError) -> str:
    missing = getattr(exc, "name", None) or ""
    extras = {"sympy": "math", "mpmath": "math"}
    extra = extras.get(missing.split(".")[0])
    if extra:
        return f"Install it with: pip install 'rewardsmith[{extra}]'"
    return "Check that the package providing it is installed."


default_registry = Registry(BUILTIN_REWARDS, aliases=BUILTIN_ALIASES)
use_default_registry(default_registry)


def get_reward(name: str) -> Reward:
    """Look a reward up in the default registry."""
    return default_registry.get(name)


def list_rewards() -> list[Reward]:
    """Every reward in the default registry, built-ins and entry points included."""
    return default_registry.all()

"""How a term (reward + params) travels to a worker: by import path, or by value.

A reward defined in an importable module travels as its ``module:qualname`` (the worker imports
the module, as it would any library). A reward defined where no other process can import it —
the ``__main__`` of a script, ``python -c``, standard input, a notebook cell, a module built at
run time — travels by value: its function is serialized with cloudpickle (as Ray and Dask do),
together with the globals it uses. The worker never runs the caller's main module.

A reward whose function holds something that cannot be serialized (a lock, an open file, a
loaded model) raises `EngineError` naming the reward and the ways out.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import sys
from typing import Any

import cloudpickle

from rewardsmith.core.errors import EngineError
from rewardsmith.core.reward import Reward

__all__ = ["dump_term", "ships_by_value"]


def ships_by_value(reward: Reward) -> bool:
    """True when no other process could find the reward by import path: its module is
    ``__main__`` or not importable, or it is defined inside a function (a closure)."""
    module_name = getattr(reward.fn, "__module__", None) or ""
    if module_name in ("__main__", "__mp_main__"):
        return True
    if "<locals>" in getattr(reward.fn, "__qualname__", "") or "<lambda>" in reward.ref:
        return True
    module = sys.modules.get(module_name)
    return module is None or getattr(module, "__spec__", None) is None


def dump_term(reward: Reward, params: dict[str, Any]) -> tuple[str, bytes]:
    """Serialize one term for the workers; returns a content id and the bytes.

    Raises:
        EngineError: the reward (or a param) cannot be sent to another process.
    """
    buffer = io.BytesIO()
    try:
        _TermPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((reward, params))
    except Exception as exc:
        where = reward.ref.partition(":")[0]
        raise EngineError(
            f"reward {reward.name!r} ({reward.ref}) cannot be sent to worker processes: "
            f"{type(exc).__name__}: {exc}. Its function, the globals it uses and its params must "
            f"be picklable. Fixes: move the reward into an importable module (a .py file next to "
            f"your script, imported by name) so workers import it instead of receiving it"
            + (
                " (it is defined in __main__, so it is sent by value)"
                if where == "__main__"
                else ""
            )
            + "; create what it holds (a model, a client, a lock) inside the function or at "
            "import time of that module; or declare it inline=True if it is cheap and cannot "
            "hang. Debug with: import cloudpickle; cloudpickle.dumps(your_reward.fn)"
        ) from exc
    blob = buffer.getvalue()
    return hashlib.blake2b(blob, digest_size=12).hexdigest(), blob


def _import_reward(module_name: str, qualname: str, name: str) -> Reward:
    """A reward received by import path, found again in the worker."""
    import importlib

    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ImportError(
            f"reward {name!r}: importing its module {module_name!r} in the worker failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if isinstance(target, Reward):
        return target
    from rewardsmith.core.registry import default_registry

    return default_registry.get(name)  # e.g. a reward registered by a loop or a factory


def _rebuild_reward(fn: Any, meta: dict[str, Any]) -> Reward:
    """A reward received by value, rebuilt in the worker (not registered there)."""
    return Reward(fn, **meta)


class _TermPickler(cloudpickle.Pickler):
    """cloudpickle, plus: a `Reward` from an unimportable module is rebuilt from its function."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Reward) and ships_by_value(obj):
            meta = {
                "name": obj.name,
                "kind": obj.kind,
                "version": obj.version,
                "inline": obj.inline,
                "reads": obj.reads,
                "timeout_s": obj.timeout_s,
            }
            return _rebuild_reward, (obj.fn, meta)
        if isinstance(obj, Reward):
            module_name, _, qualname = obj.ref.partition(":")
            return _import_reward, (module_name, qualname, obj.name)
        return super().reducer_override(obj)

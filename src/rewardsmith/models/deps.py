"""Optional dependencies of the learned rewards, imported on first use with an install hint.

The core never imports torch, transformers or httpx; the modules here ask for them only when a
model is trained, loaded or a judge is called, so ``rewardsmith list`` and a spec that does not
use them work without the extras.

Example:
    >>> require("json", "rm").__name__
    'json'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from rewardsmith.core.errors import RewardsmithError

__all__ = ["MissingDependencyError", "require"]


class MissingDependencyError(RewardsmithError, ImportError):
    """An optional dependency is not installed; the message says which extra brings it."""


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise `MissingDependencyError` naming ``pip install rewardsmith[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module!r} is needed here but is not installed ({exc}); "
            f"install it with: pip install 'rewardsmith[{extra}]'"
        ) from exc

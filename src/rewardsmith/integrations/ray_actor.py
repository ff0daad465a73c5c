"""What runs inside one Ray actor, shared by `ray` (the engine) and `ray_data` (Ray Data).

Kept apart from both so that neither imports the other's module to reach it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from rewardsmith.core.spec import Spec, resolve_terms
from rewardsmith.engine.batch import ScoredBatch
from rewardsmith.engine.engine import Engine, Row

__all__ = ["RewardActor", "is_row_local"]

_INSTALL_HINT = "the Ray backend needs ray: pip install 'rewardsmith[ray]'"


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL_HINT) from exc
    return ray


class RewardActor:
    """What runs inside one Ray actor: an engine and a spec (wrapped with ``ray.remote``)."""

    def __init__(self, spec: Spec, workers: int = 1, sys_path: list[str] | None = None) -> None:
        for entry in reversed(sys_path or []):
            if entry not in sys.path:
                sys.path.insert(0, entry)
        self.spec = spec
        self.terms = resolve_terms(spec)
        self.engine = Engine(workers)

    def score(self, rows: list[Row], ids: list[str]) -> ScoredBatch:
        return self.engine.score_prepared(rows, ids, self.spec, self.terms)

    def pid(self) -> int:
        return os.getpid()

    def node(self) -> str:
        """The id of the Ray node this actor runs on."""
        import ray

        return str(ray.get_runtime_context().get_node_id())

    def close(self) -> None:
        self.engine.close()


def is_row_local(spec: Spec) -> bool:
    """Whether each row's reward depends only on its row (and its group), so batches can be
    split between actors without changing a number."""
    if getattr(spec, "normalize", None) is not None or getattr(spec, "unlikeliness", None):
        return False
    for item in [*spec.terms, *getattr(spec, "ensembles", [])]:
        # Some transforms keep running statistics; treat every shaped term as batch-level.
        if getattr(item, "transform", None) or getattr(item, "credit", None) is not None:
            return False
    return True

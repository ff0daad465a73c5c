"""The engine: worker pool, async runner, cache and batch scoring."""

from rewardsmith.engine.api import ascore, default_engine, score
from rewardsmith.engine.batch import ScoredBatch
from rewardsmith.engine.cache import ScoreCache
from rewardsmith.engine.engine import Engine, prepare_rows
from rewardsmith.engine.pool import WorkerPool

__all__ = [
    "Engine",
    "ScoreCache",
    "ScoredBatch",
    "WorkerPool",
    "ascore",
    "default_engine",
    "prepare_rows",
    "score",
]

"""Moved to `rewardsmith.engine.batcher` (integrations batch per-sample calls without the server).

Kept so that old imports keep working.
"""

from rewardsmith.engine.batcher import MicroBatcher, QueueFullError, RunSink, can_block

__all__ = ["MicroBatcher", "QueueFullError", "RunSink", "can_block"]

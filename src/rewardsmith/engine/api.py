"""`score` and `ascore`: the one-call Python API, on a shared engine per worker count."""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rewardsmith.engine.batch import ScoredBatch
from rewardsmith.engine.engine import Engine

__all__ = ["ascore", "default_engine", "score"]

_engines: dict[int | None, Engine] = {}
_engines_lock = threading.Lock()


def default_engine(workers: int | None = None) -> Engine:
    """The process-wide engine for this worker count, started on first use, closed at exit."""
    with _engines_lock:
        engine = _engines.get(workers)
        if engine is None:
            engine = _engines[workers] = Engine(workers)
        return engine


def score(
    rows: Iterable[Any] | str | Path,
    spec: Any,
    *,
    workers: int | None = None,
    engine: Engine | None = None,
) -> ScoredBatch:
    """Score rows with a spec; one `Score` per row, in order.

    Args:
        rows: dicts or `Sample`s, or the path of a JSONL or Parquet file.
        spec: a registered reward name, a TOML path, a dict, or a `Spec`.
        workers: worker processes for cpu rewards (default: number of cores).
        engine: an `Engine` to use instead of the shared one.

    Example:
        >>> import rewardsmith
        >>> batch = rewardsmith.score(
        ...     [{"completion": "Paris", "reference": "paris"}, {"completion": "Lyon", "reference": "Paris"}],
        ...     "exact_match",
        ... )
        >>> [s.value for s in batch], batch.status_counts["ok"]
        ([1.0, 0.0], 2)
    """
    if isinstance(rows, str | Path):
        from rewardsmith.io.readers import read_rows

        rows = read_rows(rows)
    return (engine or default_engine(workers)).score(rows, spec)


async def ascore(
    rows: Iterable[Any] | str | Path,
    spec: Any,
    *,
    workers: int | None = None,
    engine: Engine | None = None,
) -> ScoredBatch:
    """`score` for async callers: runs in a thread so the caller's event loop stays free."""
    return await asyncio.to_thread(score, rows, spec, workers=workers, engine=engine)


@atexit.register
def _close_engines() -> None:
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.close()

"""`MicroBatcher`: many small concurrent requests become few engine calls, with a bounded queue.

Callers (server requests on the event loop, verl's executor threads) submit prepared rows and get
a future. One scoring thread takes whatever is queued, up to ``max_batch_rows``, scores it in one
`Engine.score_prepared` call and resolves each caller's future with its own slice. Requests that
arrive while a batch is being scored form the next batch, so batching costs no latency when the
server is idle. The queue is bounded in rows: past ``max_queue_rows`` `submit` raises
`QueueFullError` (the server answers 429) instead of holding unbounded memory.

This module imports no HTTP library: integrations use it too.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

from rewardsmith.core.errors import EngineError, RewardFailedError, RewardsmithError
from rewardsmith.core.score import Score
from rewardsmith.core.spec import ResolvedTerm, Spec, resolve_terms
from rewardsmith.engine.engine import Engine, Row


class RunSink(Protocol):
    """Where scored rows are logged: a run-log `rewardsmith.io.runlog.Run`, or a
    `rewardsmith.serve.logproc.RunLogProcess` writing one from a child process."""

    def append(
        self, row_indices: Iterable[int], ids: Iterable[str], scores: Iterable[Score]
    ) -> None: ...


__all__ = ["MicroBatcher", "QueueFullError", "RunSink"]


class QueueFullError(RewardsmithError):
    """The batcher's queue holds ``max_queue_rows`` rows; retry after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass
class _Item:
    rows: list[Row]
    ids: list[str]
    future: Future[list[Score]]
    enqueued_at: float = field(default_factory=time.monotonic)


class MicroBatcher:
    """Scores rows submitted from any thread, in micro-batches, on one scoring thread.

    Args:
        engine: the engine that scores (its worker pool and cache are shared by every request).
        spec: the spec every row is scored with.
        max_batch_rows: most rows per engine call (a larger submission is scored alone).
        max_queue_rows: most rows waiting; past it `submit` raises `QueueFullError`.
        max_wait_s: how long to wait for more rows to join a batch smaller than the maximum.
        run: a run-log run that receives every scored row, or None.
        on_batch: called after each engine call with the scores (for metrics).

    Example:
        >>> from rewardsmith import Engine, load_spec
        >>> from rewardsmith.engine.engine import prepare_rows
        >>> batcher = MicroBatcher(Engine(1), load_spec("exact_match"))
        >>> rows, ids = prepare_rows([{"completion": "4", "reference": "4"}])
        >>> [score.value for score in batcher.submit(rows, ids).result()]
        [1.0]
        >>> batcher.close()
    """

    def __init__(
        self,
        engine: Engine,
        spec: Spec,
        *,
        max_batch_rows: int = 4096,
        max_queue_rows: int = 65_536,
        max_wait_s: float = 0.0,
        run: RunSink | None = None,
        on_batch: Callable[[list[Score]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.terms: list[ResolvedTerm] = resolve_terms(spec)
        self.max_batch_rows = max_batch_rows
        self.max_queue_rows = max_queue_rows
        self.max_wait_s = max_wait_s
        self.run = run
        self.on_batch = on_batch
        self.rows_scored = 0
        self.batches = 0
        self._queue: deque[_Item] = deque()
        self._queued_rows = 0
        self._in_flight_rows = 0
        self._rate = _Rate()
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name="rewardsmith-batcher", daemon=True)
        self._thread.start()

    @property
    def queued_rows(self) -> int:
        """Rows waiting to be scored, not counting the batch being scored now."""
        return self._queued_rows

    @property
    def pending_rows(self) -> int:
        """Rows submitted and not yet answered (queued plus being scored)."""
        return self._queued_rows + self._in_flight_rows

    def submit(self, rows: list[Row], ids: list[str]) -> Future[list[Score]]:
        """Queue prepared rows (see `rewardsmith.engine.engine.prepare_rows`); the future
        resolves to one `Score` per row, in order.

        Raises:
            QueueFullError: the queue is full; nothing was queued.
            EngineError: the batcher is closed.
        """
        future: Future[list[Score]] = Future()
        if not rows:
            future.set_result([])
            return future
        with self._cond:
            if self._closing:
                raise EngineError("the batcher is shutting down and takes no new rows")
            if self._queued_rows and self._queued_rows + len(rows) > self.max_queue_rows:
                raise QueueFullError(
                    f"{self._queued_rows} rows are waiting to be scored (limit "
                    f"{self.max_queue_rows}); retry later",
                    self._rate.seconds_for(self._queued_rows + len(rows)),
                )
            self._queue.append(_Item(rows, ids, future))
            self._queued_rows += len(rows)
            self._cond.notify()
        return future

    async def score(self, rows: list[Row], ids: list[str]) -> list[Score]:
        """`submit` for asyncio callers."""
        return await asyncio.wrap_future(self.submit(rows, ids))

    def close(self, timeout: float | None = None) -> None:
        """Stop taking rows, finish everything queued, and stop the scoring thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    # -- the scoring thread -------------------------------------------------------------------

    def _take(self) -> list[_Item] | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue:
                return None
            batch = [self._queue.popleft()]
            size = len(batch[0].rows)
            deadline = time.monotonic() + self.max_wait_s
            while size < self.max_batch_rows:
                if not self._queue:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._closing or not self._cond.wait(remaining):
                        break
                    continue
                if size + len(self._queue[0].rows) > self.max_batch_rows:
                    break
                item = self._queue.popleft()
                batch.append(item)
                size += len(item.rows)
            taken = sum(len(item.rows) for item in batch)
            self._queued_rows -= taken
            self._in_flight_rows = taken
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._score(batch)
            except BaseException as exc:
                # Never let the scoring thread die with callers waiting on it.
                self._fail([item for item in batch if not item.future.done()], exc)
            finally:
                with self._cond:
                    self._in_flight_rows = 0

    def _score(self, batch: list[_Item]) -> None:
        live = [item for item in batch if item.future.set_running_or_notify_cancel()]
        if not live:
            return
        rows = [row for item in live for row in item.rows]
        ids = [row_id for item in live for row_id in item.ids]
        start = time.perf_counter()
        try:
            scores = list(self.engine.score_prepared(rows, ids, self.spec, self.terms))
        except RewardFailedError as exc:
            # A status whose policy is `raise` fails only the request it came from.
            if len(live) == 1:
                self._fail(live, exc)
            else:
                for item in live:
                    self._score_one(item)
            return
        except BaseException as exc:
            self._fail(live, exc)
            return
        self._rate.add(len(rows), time.perf_counter() - start)
        try:
            self._record(ids, scores)
        except Exception as exc:
            # The rows were scored but not logged: the caller hears about it, not silence.
            self._fail(live, EngineError(f"scored rows could not be logged: {exc}"))
            return
        offset = 0
        for item in live:
            item.future.set_result(scores[offset : offset + len(item.rows)])
            offset += len(item.rows)

    def _score_one(self, item: _Item) -> None:
        try:
            scores = list(self.engine.score_prepared(item.rows, item.ids, self.spec, self.terms))
        except BaseException as exc:
            item.future.set_exception(exc)
            return
        try:
            self._record(item.ids, scores)
        except Exception as exc:
            item.future.set_exception(EngineError(f"scored rows could not be logged: {exc}"))
            return
        item.future.set_result(scores)

    def _record(self, ids: list[str], scores: list[Score]) -> None:
        first = self.rows_scored
        self.rows_scored += len(scores)
        self.batches += 1
        if self.run is not None:
            self.run.append(range(first, first + len(scores)), ids, scores)
        if self.on_batch is not None:
            self.on_batch(scores)

    @staticmethod
    def _fail(items: list[_Item], exc: BaseException) -> None:
        for item in items:
            item.future.set_exception(exc)


class _Rate:
    """A moving estimate of rows scored per second, for ``Retry-After``."""

    def __init__(self) -> None:
        self.rows_per_s = 0.0

    def add(self, rows: int, seconds: float) -> None:
        if seconds <= 0:
            return
        rate = rows / seconds
        self.rows_per_s = rate if self.rows_per_s == 0 else 0.8 * self.rows_per_s + 0.2 * rate

    def seconds_for(self, rows: int) -> float:
        if self.rows_per_s <= 0:
            return 1.0
        return float(min(60, max(1, math.ceil(rows / self.rows_per_s))))

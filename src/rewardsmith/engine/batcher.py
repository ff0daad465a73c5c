"""`MicroBatcher`: many small concurrent requests become few engine calls, with a bounded queue.

Callers (server requests on the event loop, verl's executor threads) submit prepared rows and get
a future. A dispatcher thread takes what is queued and hands it to a scoring thread, which runs
one `Engine.score_prepared` call and resolves each caller's future with its own slice. The
queue is bounded in rows: past ``max_queue_rows`` `submit` raises `QueueFullError` (the server
answers 429) instead of holding unbounded memory.

How a hanging row stays in its own request: an engine call returns when its last row is
answered, and a row that hangs is answered (``timeout``) only when the worker pool kills it at
the term's deadline. So rows that could hang never share an engine call with another caller's
rows, and several engine calls run at once (``max_concurrent_calls`` scoring threads), so a
call held by a hanging row holds one thread and one worker, not the server:

- a spec whose every term is ``inline`` (cheap, cannot hang, runs in the calling thread) is
  *coalesced*: the dispatcher takes everything queued, up to ``max_batch_rows``, into one
  engine call. Requests that arrive while a batch is being scored form the next batch, so
  batching costs no latency when the server is idle.
- any other spec (``cpu`` rewards in killable workers, ``io`` rewards with timeouts) is scored
  *one submission per engine call*; the calls run concurrently, so the worker pool still sees
  the rows of many requests at once and spreads them over its workers.

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


__all__ = ["MicroBatcher", "QueueFullError", "RunSink", "can_block"]


class QueueFullError(RewardsmithError):
    """The batcher's queue holds ``max_queue_rows`` rows; retry after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def can_block(terms: list[ResolvedTerm]) -> bool:
    """True when some term may wait on a worker or a remote call (anything not ``inline``),
    so a row of it may take up to the term's timeout to answer."""
    return any(term.reward.kind == "io" or not term.reward.inline for term in terms)


@dataclass
class _Item:
    rows: list[Row]
    ids: list[str]
    future: Future[list[Score]]
    enqueued_at: float = field(default_factory=time.monotonic)


class MicroBatcher:
    """Scores rows submitted from any thread, in micro-batches, on scoring threads.

    Args:
        engine: the engine that scores (its worker pool and cache are shared by every request).
        spec: the spec every row is scored with.
        max_batch_rows: most rows per coalesced engine call (a larger submission is scored alone).
        max_queue_rows: most rows waiting; past it `submit` raises `QueueFullError`.
        max_wait_s: how long to wait for more rows to join a batch smaller than the maximum.
        run: a run-log run that receives every scored row, or None.
        on_batch: called after each engine call with the scores (for metrics).
        coalesce: score several submissions in one engine call. None (default): only when no
            term can block (see the module docstring), so a hanging row delays only its own
            submission.
        max_concurrent_calls: engine calls in flight at once (scoring threads) when not
            coalescing; a call waiting on a hanging row holds one of them until the row's
            deadline. Coalesced calls run one at a time.

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
        coalesce: bool | None = None,
        max_concurrent_calls: int | None = None,
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.terms: list[ResolvedTerm] = resolve_terms(spec)
        self.max_batch_rows = max_batch_rows
        self.max_queue_rows = max_queue_rows
        self.max_wait_s = max_wait_s
        self.run = run
        self.on_batch = on_batch
        self.coalesce = not can_block(self.terms) if coalesce is None else coalesce
        if max_concurrent_calls is None:
            # Enough calls for every worker to have rows queued behind any that hang.
            max_concurrent_calls = max(8, 4 * getattr(engine, "workers", 1))
        if max_concurrent_calls < 1:
            raise ValueError(f"max_concurrent_calls must be at least 1, not {max_concurrent_calls}")
        if self.coalesce:
            # Inline rows hold the GIL and cannot hang: a second call at once would only split
            # the next micro-batch in two.
            max_concurrent_calls = 1
        self.max_concurrent_calls = max_concurrent_calls
        self.rows_scored = 0
        self.batches = 0
        self._queue: deque[_Item] = deque()
        self._queued_rows = 0
        self._in_flight_rows = 0
        self._calls = 0
        self._rate = _Rate()
        self._cond = threading.Condition()
        self._record_lock = threading.Lock()
        self._closing = False
        self._idle_threads: list[_ScoringThread] = []
        self._threads: list[_ScoringThread] = []
        self._thread = threading.Thread(target=self._loop, name="rewardsmith-batcher", daemon=True)
        self._thread.start()

    @property
    def queued_rows(self) -> int:
        """Rows waiting to be scored, not counting the calls being scored now."""
        return self._queued_rows

    @property
    def pending_rows(self) -> int:
        """Rows submitted and not yet answered (queued plus being scored)."""
        return self._queued_rows + self._in_flight_rows

    @property
    def calls_in_flight(self) -> int:
        """Engine calls being scored now."""
        return self._calls

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
            self._cond.notify_all()
        return future

    async def score(self, rows: list[Row], ids: list[str]) -> list[Score]:
        """`submit` for asyncio callers."""
        return await asyncio.wrap_future(self.submit(rows, ids))

    def close(self, timeout: float | None = None) -> None:
        """Stop taking rows, finish everything queued and in flight, and stop the threads."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        self._thread.join(timeout)
        for thread in list(self._threads):
            thread.stop()
        for thread in list(self._threads):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    # -- the dispatcher thread ----------------------------------------------------------------

    def _take(self) -> list[_Item] | None:
        """The next engine call's submissions, once a scoring thread is free for it."""
        with self._cond:
            while not self._queue or self._calls >= self.max_concurrent_calls:
                if self._closing and not self._queue:
                    return None
                self._cond.wait()
            batch = [self._queue.popleft()]
            size = len(batch[0].rows)
            deadline = time.monotonic() + self.max_wait_s
            while self.coalesce and size < self.max_batch_rows:
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
            self._queued_rows -= size
            self._in_flight_rows += size
            self._calls += 1
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            with self._cond:
                thread = self._idle_threads.pop() if self._idle_threads else None
                if thread is None:
                    thread = _ScoringThread(self, len(self._threads))
                    self._threads.append(thread)
            thread.give(batch)

    def _done(self, thread: _ScoringThread, rows: int) -> None:
        with self._cond:
            self._in_flight_rows -= rows
            self._calls -= 1
            self._idle_threads.append(thread)
            self._cond.notify_all()

    # -- on a scoring thread ------------------------------------------------------------------

    def _run_call(self, batch: list[_Item]) -> None:
        try:
            self._score(batch)
        except BaseException as exc:
            # Never leave a caller waiting on a future nobody will resolve.
            self._fail([item for item in batch if not item.future.done()], exc)

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
        # Calls finish on several threads: row numbers and the log order are taken together.
        with self._record_lock:
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


class _ScoringThread:
    """One scoring thread, reused across calls: it runs one engine call at a time."""

    def __init__(self, batcher: MicroBatcher, number: int) -> None:
        self._batcher = batcher
        self._work: deque[list[_Item] | None] = deque()
        self._ready = threading.Semaphore(0)
        self._thread = threading.Thread(
            target=self._loop, name=f"rewardsmith-scoring-{number}", daemon=True
        )
        self._thread.start()

    def give(self, batch: list[_Item]) -> None:
        self._work.append(batch)
        self._ready.release()

    def stop(self) -> None:
        self._work.append(None)
        self._ready.release()

    def join(self, timeout: float | None) -> None:
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            self._ready.acquire()
            batch = self._work.popleft()
            if batch is None:
                return
            try:
                self._batcher._run_call(batch)
            finally:
                self._batcher._done(self, sum(len(item.rows) for item in batch))


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

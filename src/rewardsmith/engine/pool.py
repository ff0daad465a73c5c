"""A pool of worker processes whose time limits are enforced by killing the worker.

Each worker is owned by one dispatcher thread. The thread sends the worker a chunk of jobs and
waits for results one at a time; every job has its own deadline, measured from the moment the
worker finished the previous one. A job that runs past its deadline gets ``status="timeout"``,
its worker is killed (SIGKILL) and replaced, and the rest of the chunk goes to the new worker.
A worker that dies mid-job (segfault, ``os._exit``, out of memory) costs that job only:
``status="error"``. Nothing here uses signals in the calling thread, so the pool works the same
when called from any thread, from asyncio, or from Ray.

Workers are forked from a fork server (a clean, single-threaded process started once), which
keeps replacement cheap and avoids forking a multi-threaded trainer.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from rewardsmith.core.errors import EngineError
from rewardsmith.core.score import Score
from rewardsmith.engine.worker import Job, worker_main

__all__ = ["Job", "WorkerPool"]

_PRELOAD = ["__main__", "rewardsmith", "rewardsmith.engine.worker"]
_START_TIMEOUT_S = 60.0


class _Task:
    __slots__ = ("blob", "future", "group_size", "timeout_s")

    def __init__(self, blob: bytes, job: Job, future: Future[Any]) -> None:
        self.blob = blob
        self.timeout_s = job.timeout_s
        self.group_size = len(job.payload) if isinstance(job.payload, list) else None
        self.future = future

    def fail(self, status: Any, reason: str) -> None:
        """Resolve with a failure shaped like the result: one score, or one per group member."""
        if self.group_size is None:
            self.future.set_result(Score.fail(status, reason))
        else:
            self.future.set_result([Score.fail(status, reason) for _ in range(self.group_size)])


class WorkerPool:
    """Run `Job`s in ``size`` worker processes with hard per-job time limits.

    Args:
        size: number of worker processes.
        memory_mb: address-space limit (RLIMIT_AS) of each worker.
        recycle_after: a worker is replaced after this many jobs, bounding leaked memory.

    Example:
        >>> from rewardsmith.engine.pool import WorkerPool  # doctest: +SKIP
        >>> with WorkerPool(2) as pool:                      # doctest: +SKIP
        ...     futures = pool.submit([job_a, job_b])
    """

    def __init__(
        self, size: int, *, memory_mb: int | None = None, recycle_after: int = 10_000
    ) -> None:
        if size < 1:
            raise ValueError(f"a worker pool needs at least one worker, got {size}")
        self.size = size
        self.memory_mb = memory_mb
        self.recycle_after = recycle_after
        self.kills = 0
        self.deaths = 0
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        self._chunks: queue.SimpleQueue[list[_Task] | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._slots = [_Slot(self, number) for number in range(size)]

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def submit(self, jobs: Sequence[Job], *, chunk_size: int | None = None) -> list[Future[Any]]:
        """Queue jobs; each future resolves to a `Score` (or a list of them for a group job)."""
        if self._closed:
            raise EngineError("the worker pool has been shut down")
        futures: list[Future[Any]] = []
        tasks: list[_Task] = []
        for job in jobs:
            future: Future[Any] = Future()
            futures.append(future)
            try:
                blob = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                task = _Task(b"", job, future)
                task.fail(
                    "error", f"the job cannot be sent to a worker: {type(exc).__name__}: {exc}"
                )
                continue
            tasks.append(_Task(blob, job, future))
        size = chunk_size or max(1, min(128, len(tasks) // (self.size * 4)))
        for start in range(0, len(tasks), size):
            self._chunks.put(tasks[start : start + size])
        return futures

    def shutdown(self) -> None:
        """Stop every worker (killing any that is busy) and the dispatcher threads."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        # Queued chunks would otherwise run to completion before the workers stop (Ctrl-C).
        while True:
            try:
                chunk = self._chunks.get_nowait()
            except queue.Empty:
                break
            for task in chunk or []:
                task.fail("error", "the engine was shut down before this row was scored")
        for _ in self._slots:
            self._chunks.put(None)
        # A busy worker is killed now rather than awaited: its row fails as "shut down" and its
        # dispatcher thread moves on to the stop sentinel.
        for slot in self._slots:
            slot.kill_worker()
        for slot in self._slots:
            slot.stop()

    def _start_process(self) -> tuple[Any, Any]:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker_main,
            args=(child_end, list(sys.path), self.memory_mb),
            name="rewardsmith-worker",
            daemon=True,
        )
        process.start()
        child_end.close()
        return process, parent_end


class _Slot:
    """One worker process and the thread that feeds it."""

    def __init__(self, pool: WorkerPool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.process: Any = None
        self.conn: Any = None
        self.sent_path: list[str] = []
        self.jobs_done = 0
        self.thread = threading.Thread(
            target=self._loop, name=f"rewardsmith-slot-{number}", daemon=True
        )
        self.thread.start()

    def kill_worker(self) -> None:
        """SIGKILL the worker without touching the dispatcher's state (it sees the death)."""
        process = self.process  # read once: the dispatcher may replace it meanwhile
        if process is not None:
            _sigkill(process)

    def stop(self) -> None:
        self.thread.join(timeout=5)
        self._discard()

    def _loop(self) -> None:
        while True:
            chunk = self.pool._chunks.get()
            if chunk is None:
                return
            try:
                self._run_chunk(chunk)
            except BaseException as exc:
                for task in chunk:
                    if not task.future.done():
                        task.fail("error", f"engine failure: {type(exc).__name__}: {exc}")
                self._discard()

    def _run_chunk(self, chunk: list[_Task]) -> None:
        pending = chunk
        while pending:
            if self.pool._closed:
                for task in pending:
                    task.fail("error", "the engine was shut down before this row was scored")
                return
            if not self._ensure_worker(pending):
                return
            try:
                self.conn.send(("run", [(index, task.blob) for index, task in enumerate(pending)]))
            except (BrokenPipeError, OSError):
                self._discard()
                continue
            pending = self._collect(pending)

    def _collect(self, pending: list[_Task]) -> list[_Task]:
        """Receive results in order; return the tasks still to run after a kill or a death."""
        for index, task in enumerate(pending):
            deadline = time.monotonic() + task.timeout_s
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.conn.poll(remaining):
                    if time.monotonic() < deadline:
                        continue
                    self.pool.kills += 1
                    self._discard()
                    task.fail(
                        "timeout", f"no result within {task.timeout_s:g}s; the worker was killed"
                    )
                    return pending[index + 1 :]
                try:
                    job_id, result = self.conn.recv()
                except (EOFError, OSError, pickle.UnpicklingError):
                    if self.pool._closed:
                        self._discard()
                        task.fail("error", "the engine was shut down while this row was scored")
                        return pending[index + 1 :]
                    self.pool.deaths += 1
                    why = self._death_reason()
                    self._discard()
                    task.fail("error", f"the worker died: {why}")
                    return pending[index + 1 :]
                if job_id != index:  # a protocol slip would shift every later row: fail loudly
                    raise EngineError(
                        f"worker answered job {job_id} while job {index} was expected"
                    )
                task.future.set_result(result)
                self.jobs_done += 1
                break
        if self.jobs_done >= self.pool.recycle_after:
            # A fresh worker bounds whatever memory a reward leaks across calls.
            self._discard()
        return []

    def _ensure_worker(self, pending: list[_Task]) -> bool:
        if self.process is not None and self.process.is_alive():
            if self.sent_path != sys.path:
                self.sent_path = list(sys.path)
                self.conn.send(("path", self.sent_path))
            return True
        self._discard()
        try:
            self.process, self.conn = self.pool._start_process()
            self.sent_path = list(sys.path)
            self.jobs_done = 0
            return True
        except Exception as exc:
            for task in pending:
                task.fail("error", f"cannot start a worker: {exc}")
            return False

    def _death_reason(self) -> str:
        process = self.process
        if process is None:
            return "unknown"
        process.join(timeout=1.0)
        code = process.exitcode
        if code is None:
            return "it closed its pipe"
        if code < 0:
            return f"killed by signal {-code}"
        return f"exit code {code}"

    def _discard(self) -> None:
        """Kill the worker (if alive) and forget it; the next chunk starts a fresh one."""
        process, conn = self.process, self.conn
        self.process = self.conn = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()
        if process is not None:
            _sigkill(process)
            process.join(timeout=5)


def _sigkill(process: Any) -> None:
    if process.is_alive():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(process.pid, signal.SIGKILL)

"""A pool of worker processes whose time limits are enforced by killing the worker.

How the parts fit: the pool starts one zygote (a clean interpreter, see `engine.worker`) and
asks it for a worker per slot. Each slot is a dispatcher thread that owns one worker: it takes
a chunk of rows from the shared queue, makes sure its worker has the chunk's terms loaded, then
sends the whole chunk in one message. The worker writes into a shared page which row it runs
and since when, and sends results in batches; the dispatcher reads that page, so each row gets
its own deadline counted from the moment the warm worker started it. Start-up (the zygote's
imports, a fork, loading a reward) is never charged to a row: it has its own limit, reason and
counter (``start_failures``).

A row that runs past its deadline gets ``status="timeout"``, its worker is killed (SIGKILL) and
replaced, and the rows of its chunk that have no result yet go back to the shared queue, split
so that every idle worker can take a share: every row is answered exactly once, and hung rows
spread over the workers. A worker whose resident memory passes the limit while a row runs is
killed the same way, and that row gets ``status="error"`` with a reason starting
``memory limit``. A worker that dies mid-row (segfault, ``os._exit``, out of memory) costs
that row only: ``status="error"``. Nothing here uses signals in the calling thread, so the pool
works the same from any thread, from asyncio, or from Ray.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

from rewardsmith.core.errors import EngineError
from rewardsmith.core.score import Score
from rewardsmith.engine.shipping import dump_term
from rewardsmith.engine.worker import STATE, Job, pack_payload, unpack_result

__all__ = ["DEFAULT_MEMORY_MB", "Job", "PoolBatch", "WorkerPool"]

START_TIMEOUT_S = 120.0
"""How long the zygote, a fork, or loading a term may take before start-up counts as failed."""
_CHUNK_TARGET_S = 0.01
"""Chunks are sized so one takes about this long, from the measured cost per row of each term."""
_DEFAULT_ROW_COST_S = 0.001
_MAX_CHUNK = 2048
DEFAULT_MEMORY_MB = 4096
"""Resident memory (MiB) a worker may hold while a row runs, unless the pool is told otherwise."""
_MEMORY_CHECK_S = 0.02
"""How often a dispatcher reads its busy worker's resident memory (/proc/PID/statm)."""
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class PoolBatch:
    """The results of one `WorkerPool.run` call, filled in by the dispatcher threads."""

    def __init__(self, size: int, on_result: Callable[[int, Any], None] | None = None) -> None:
        self.results: list[Any] = [None] * size
        self._on_result = on_result
        self._left = size
        self._lock = threading.Lock()
        self._done = threading.Event()
        if size == 0:
            self._done.set()

    def _set(self, index: int, result: Any) -> None:
        self.results[index] = result
        if self._on_result is not None:
            self._on_result(index, result)
        self._count(1)

    def _count(self, answered: int) -> None:
        with self._lock:
            self._left -= answered
            if self._left == 0:
                self._done.set()

    def wait(self, timeout: float | None = None) -> list[Any]:
        """Every result, in job order (a `Score`, or a list of them for a group job)."""
        if not self._done.wait(timeout):
            raise TimeoutError("the worker pool did not answer in time")
        return self.results


class _Task:
    """One job in flight: where its result goes, and how it fails."""

    __slots__ = (
        "batch",
        "group_size",
        "index",
        "memory_bytes",
        "payload",
        "term_id",
        "timeout_s",
    )

    def __init__(
        self, batch: PoolBatch, index: int, term_id: str, job: Job, memory_bytes: int = 0
    ) -> None:
        self.batch = batch
        self.index = index
        self.term_id = term_id
        self.payload = job.payload
        self.timeout_s = job.timeout_s
        self.memory_bytes = memory_bytes
        self.group_size = len(job.payload) if isinstance(job.payload, list) else None

    def done(self, result: Any) -> None:
        self.batch._set(self.index, result)

    def fail(self, status: Any, reason: str, latency_s: float = 0.0) -> None:
        """Resolve with a failure shaped like the result: one score, or one per group member.
        ``latency_s`` is how long the row ran before it failed (a timeout's real cost)."""
        if self.group_size is None:
            self.done(_failed(status, reason, latency_s))
        else:
            self.done([_failed(status, reason, latency_s) for _ in range(self.group_size)])


def _resident_bytes(pid: int | None) -> int:
    """Resident memory of a process (0 when it is gone or there is no /proc)."""
    if pid is None:
        return 0
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _failed(status: Any, reason: str, latency_s: float) -> Score:
    score = Score.fail(status, reason)
    score.latency_s = latency_s
    return score


class WorkerPool:
    """Run `Job`s in ``size`` worker processes with hard per-job time limits.

    Args:
        size: number of worker processes.
        memory_mb: resident memory (MiB) a worker may hold while it runs a row; past it the
            worker is killed and the row fails with ``error`` (``memory limit ...``). None:
            `DEFAULT_MEMORY_MB`; 0: no limit. Resident, not address space: an address-space
            limit (RLIMIT_AS) breaks libraries that reserve large virtual ranges (torch, jax,
            many-threaded BLAS) without using them. Read every 20 ms, so a reward that fills
            memory very fast may pass the limit by what it allocates in that time.
        recycle_after: a worker is replaced after this many jobs, bounding leaked memory.

    Attributes:
        kills: workers killed because a row ran past its deadline.
        deaths: workers that died on their own in the middle of a row.
        memory_kills: workers killed because they held more memory than the limit.
        starts: workers started (first starts and replacements).
        start_failures: rows failed because a worker could not start or load their reward.
        start_seconds: the longest start-up seen (zygote, fork and term loading), in seconds.

    Example:
        >>> from rewardsmith.engine.pool import WorkerPool  # doctest: +SKIP
        >>> with WorkerPool(2) as pool:                      # doctest: +SKIP
        ...     scores = pool.run([job_a, job_b]).wait()
    """

    def __init__(
        self, size: int, *, memory_mb: int | None = None, recycle_after: int = 10_000
    ) -> None:
        if size < 1:
            raise ValueError(f"a worker pool needs at least one worker, got {size}")
        if memory_mb is not None and memory_mb < 0:
            raise ValueError(f"memory_mb must be positive (or 0 for no limit), got {memory_mb}")
        self.size = size
        self.memory_mb = DEFAULT_MEMORY_MB if memory_mb is None else memory_mb
        self.recycle_after = recycle_after
        self.kills = 0
        self.deaths = 0
        self.memory_kills = 0
        self.starts = 0
        self.start_failures = 0
        self.start_seconds = 0.0
        self._chunks: queue.SimpleQueue[list[_Task] | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._zygote = _Zygote()
        self._blobs: dict[str, bytes] = {}
        self._cost: dict[str, float] = {}
        self._slots = [_Slot(self, number) for number in range(size)]

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # -- submitting ---------------------------------------------------------------------------

    def warm(self, terms: Sequence[tuple[Any, dict[str, Any]]]) -> None:
        """Start the zygote and every worker now and load these (reward, params) terms, in the
        background; raises `EngineError` at once if a term cannot be sent to a worker."""
        ids = [self._register(reward, params) for reward, params in terms]
        modules = sorted({reward.fn.__module__ for reward, _ in terms})
        for slot in self._slots:
            slot.request_warm(ids, modules)

    def run(
        self,
        jobs: Sequence[Job],
        *,
        chunk_size: int | None = None,
        on_result: Callable[[int, Any], None] | None = None,
        memory_mb: int | None = None,
    ) -> PoolBatch:
        """Queue jobs and return at once; ``.wait()`` gives one result per job, in order.

        ``memory_mb`` replaces the pool's memory limit for these jobs (0: none).

        Raises:
            EngineError: the pool is shut down, or a reward cannot be sent to a worker.
        """
        if self._closed:
            raise EngineError("the worker pool has been shut down")
        batch = PoolBatch(len(jobs), on_result)
        limit = (self.memory_mb if memory_mb is None else memory_mb) << 20
        ids: dict[tuple[int, int], str] = {}
        tasks: list[_Task] = []
        for index, job in enumerate(jobs):
            key = (id(job.reward), id(job.params))
            term_id = ids.get(key)
            if term_id is None:
                term_id = ids[key] = self._register(job.reward, job.params)
            tasks.append(_Task(batch, index, term_id, job, limit))
        for chunk in self._split(tasks, chunk_size):
            self._chunks.put(chunk)
        return batch

    def submit(self, jobs: Sequence[Job], *, chunk_size: int | None = None) -> list[Future[Any]]:
        """`run`, with one future per job (a convenience for callers that want futures)."""
        futures: list[Future[Any]] = [Future() for _ in jobs]
        self.run(
            jobs,
            chunk_size=chunk_size,
            on_result=lambda index, result: futures[index].set_result(result),
        )
        return futures

    def _register(self, reward: Any, params: dict[str, Any]) -> str:
        term_id, blob = dump_term(reward, params)
        with self._lock:
            if len(self._blobs) > 4096:  # specs built per call: forget the oldest
                self._blobs.pop(next(iter(self._blobs)))
            self._blobs[term_id] = blob
        return term_id

    def _split(self, tasks: list[_Task], chunk_size: int | None) -> list[list[_Task]]:
        """Chunks of about `_CHUNK_TARGET_S` of work each, at least four per worker (so a worker
        that the OS schedules late does not leave the others idle at the end of a batch)."""
        if not tasks:
            return []
        if chunk_size is None:
            cost = max(self._cost.get(task.term_id, _DEFAULT_ROW_COST_S) for task in tasks[:64])
            by_cost = int(_CHUNK_TARGET_S / max(cost, 1e-7))
            spread = -(-len(tasks) // (self.size * 4))
            chunk_size = max(1, min(by_cost, spread, _MAX_CHUNK))
        return [tasks[start : start + chunk_size] for start in range(0, len(tasks), chunk_size)]

    def _measured(self, term_id: str, result: Any) -> None:
        """Fold one row's latency into the running cost of its term (chunk sizing)."""
        scores = result if isinstance(result, list) else [result]
        latency = sum(getattr(score, "latency_s", 0.0) for score in scores)
        old = self._cost.get(term_id)
        self._cost[term_id] = latency if old is None else 0.9 * old + 0.1 * latency

    # -- lifecycle ----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop every worker (killing any that is busy), the dispatchers and the zygote."""
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
        self._zygote.close()


class _Zygote:
    """The clean interpreter that forks workers; started on first use, restarted if it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._path: list[str] = []
        self._preloaded: set[str] = set()

    def _ensure(self) -> socket.socket:
        alive = self._process is not None and self._process.poll() is None
        if self._control is not None and alive:
            return self._control
        self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        path = [entry for entry in sys.path if entry]
        # A clean interpreter: `-c` of our own code, never the caller's main module. It is
        # the interpreter binary itself (sys.executable), not a launcher shim.
        code = (
            f"import sys; sys.path[:] = {path!r}; "
            "from rewardsmith.engine.worker import zygote_main; "
            f"zygote_main({theirs.fileno()}, {os.getpid()})"
        )
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL
            )
        finally:
            theirs.close()
        ours.settimeout(START_TIMEOUT_S)
        self._control = ours
        self._path = path
        self._preloaded = set()
        return ours

    def request(self, message: tuple[Any, ...]) -> Any:
        with self._lock:
            control = self._ensure()
            control.sendall(pickle.dumps(message))
            return pickle.loads(control.recv(1 << 20))

    def preload(self, modules: list[str]) -> None:
        wanted = [m for m in modules if m not in self._preloaded and m not in ("__main__", "")]
        if wanted:
            self.request(("preload", wanted))
            self._preloaded.update(wanted)

    def fork(self) -> tuple[int, Connection, mmap.mmap]:
        with self._lock:
            control = self._ensure()
            path = [entry for entry in sys.path if entry]
            if path != self._path:
                control.sendall(pickle.dumps(("path", path)))
                control.recv(1 << 20)
                self._path = path
            control.sendall(pickle.dumps(("fork",)))
            data, fds, _flags, _addr = socket.recv_fds(control, 1 << 16, 2)
            if not data or len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                raise EngineError("the zygote closed its socket while forking a worker")
        pid = pickle.loads(data)
        conn_fd, page_fd = fds
        try:
            page = mmap.mmap(page_fd, STATE.size)
        finally:
            os.close(page_fd)
        return pid, Connection(conn_fd), page

    def reap(self, pid: int, *, kill: bool) -> int | None:
        try:
            status: int | None = self.request(("reap", pid, kill))
        except (OSError, EOFError, pickle.UnpicklingError, EngineError):
            return None
        return status

    def _stop(self) -> None:
        control, process = self._control, self._process
        self._control = self._process = None
        if control is not None:
            control.close()  # the zygote exits on EOF; its workers follow (PDEATHSIG)
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def close(self) -> None:
        with self._lock:
            self._stop()


class _Slot:
    """One worker process and the thread that feeds it."""

    def __init__(self, pool: WorkerPool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.pid: int | None = None
        self.conn: Connection | None = None
        self.page: mmap.mmap | None = None
        self.loaded: set[str] = set()
        self.sent_path: list[str] = []
        self.jobs_done = 0
        self.serial = 0
        self._warm: tuple[list[str], list[str]] | None = None
        self.thread = threading.Thread(
            target=self._loop, name=f"rewardsmith-slot-{number}", daemon=True
        )
        self.thread.start()

    def request_warm(self, term_ids: list[str], modules: list[str]) -> None:
        self._warm = (term_ids, modules)
        self.pool._chunks.put([])  # an empty chunk wakes a dispatcher, which warms itself

    def kill_worker(self) -> None:
        """SIGKILL the worker without touching the dispatcher's state (it sees the death)."""
        pid = self.pid  # read once: the dispatcher may replace it meanwhile
        if pid is not None:
            # The worker leads its own process group: whatever its reward started goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        self.thread.join(timeout=5)
        self._discard()

    def _loop(self) -> None:
        while True:
            self._warm_up()
            chunk = self.pool._chunks.get()
            if chunk is None:
                return
            if not chunk:  # a wake-up for `_warm_up`
                continue
            try:
                self._run_chunk(chunk)
            except BaseException as exc:
                for task in chunk:
                    task.fail("error", f"engine failure: {type(exc).__name__}: {exc}")
                self._discard()

    def _warm_up(self) -> None:
        warm, self._warm = self._warm, None
        if warm is None or self.pool._closed:
            return
        term_ids, modules = warm
        with contextlib.suppress(Exception):  # a real chunk will report the problem
            self.pool._zygote.preload(modules)
            self._start_and_load(term_ids)

    # -- one chunk ----------------------------------------------------------------------------

    def _run_chunk(self, chunk: list[_Task]) -> None:
        pending = chunk
        while pending:
            if self.pool._closed:
                for task in pending:
                    task.fail("error", "the engine was shut down before this row was scored")
                return
            problem = self._start_and_load(sorted({task.term_id for task in pending}))
            if problem is not None:
                self.pool.start_failures += len(pending)
                for task in pending:
                    task.fail("error", f"worker start-up failed: {problem}")
                return
            self.serial += 1
            assert self.conn is not None
            try:
                self.conn.send(
                    (
                        "run",
                        self.serial,
                        [(task.term_id, pack_payload(task.payload)) for task in pending],
                    )
                )
            except (BrokenPipeError, OSError):
                self._discard()
                continue
            except Exception as exc:  # a payload that cannot be pickled: fail those rows
                pending = self._send_one_by_one(pending, exc)
                continue
            pending = self._collect(pending)

    def _send_one_by_one(self, pending: list[_Task], exc: Exception) -> list[_Task]:
        keep = []
        for task in pending:
            try:
                pickle.dumps(task.payload, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as problem:
                task.fail(
                    "error",
                    f"the row cannot be sent to a worker: {type(problem).__name__}: {problem}",
                )
            else:
                keep.append(task)
        if len(keep) == len(pending):
            raise exc
        return keep

    def _collect(self, pending: list[_Task]) -> list[_Task]:
        """Receive results in order; return the tasks still to run after a kill or a death."""
        conn, page = self.conn, self.page
        assert conn is not None and page is not None
        answered = 0
        next_check = 0.0
        while answered < len(pending):
            started, running = self._running(page, answered)
            task = pending[running]
            now = time.monotonic()
            remaining = started + task.timeout_s - now
            limit = task.memory_bytes
            if limit and now >= next_check:
                next_check = now + _MEMORY_CHECK_S
                held = _resident_bytes(self.pid)
                if held > limit:
                    self.pool.memory_kills += 1
                    self._discard()
                    task.fail(
                        "error",
                        f"memory limit: the worker held {held >> 20} MiB, over the limit of "
                        f"{limit >> 20} MiB, and was killed (raise it with --memory-mb, "
                        "limits.worker_memory_mb in the spec, or Engine(memory_mb=...))",
                        now - started,
                    )
                    return self._requeue(pending[answered:running] + pending[running + 1 :])
            wait = min(remaining, _MEMORY_CHECK_S) if limit else remaining
            if remaining > 0 and not conn.poll(wait):
                continue  # re-read the page: the worker may have moved on to a later row
            if remaining <= 0:
                self.pool.kills += 1
                self._discard()
                task.fail(
                    "timeout",
                    f"no result within {task.timeout_s:g}s; the worker was killed",
                    now - started,
                )
                # Rows before it finished but their results were not sent yet: run them again.
                return self._requeue(pending[answered:running] + pending[running + 1 :])
            try:
                kind, results = conn.recv()
            except (EOFError, OSError, pickle.UnpicklingError):
                _started, running = self._running(page, answered)
                if self.pool._closed:
                    self._discard()
                    pending[running].fail(
                        "error", "the engine was shut down while this row was scored"
                    )
                    return pending[answered:running] + pending[running + 1 :]
                self.pool.deaths += 1
                why = self._discard()
                pending[running].fail("error", f"the worker died: {why}")
                return pending[answered:running] + pending[running + 1 :]
            if kind != "res":  # a protocol slip would shift every later row: fail loudly
                raise EngineError(f"worker sent {kind!r} while results were expected")
            answered = self._deliver(pending, answered, results)
        self.jobs_done += len(pending)
        if self.jobs_done >= self.pool.recycle_after:
            # A fresh worker bounds whatever memory a reward leaks across calls.
            self._discard()
        return []

    def _requeue(self, rest: list[_Task]) -> list[_Task]:
        """After a kill, the chunk's unanswered rows go back to the shared queue in one piece
        per worker, so idle workers share them: hung rows left in one chunk then run side by
        side instead of one after another on this slot. Returns what this slot keeps (none)."""
        pieces = min(len(rest), self.pool.size)
        if pieces <= 1:
            return rest
        size = -(-len(rest) // pieces)
        with self.pool._lock:  # never behind shutdown's stop sentinels: they would strand it
            if self.pool._closed:
                return rest  # `_run_chunk` fails them as shut down
            for start in range(0, len(rest), size):
                self.pool._chunks.put(rest[start : start + size])
        return []

    def _deliver(self, pending: list[_Task], answered: int, results: list[Any]) -> int:
        """Hand one batch of results to their rows; returns how many rows are answered now."""
        batch = pending[answered].batch  # every task of a chunk comes from one `run` call
        slots, callback = batch.results, batch._on_result
        for packed in results:
            task = pending[answered]
            result = slots[task.index] = unpack_result(packed)
            if callback is not None:
                callback(task.index, result)
            answered += 1
        self.pool._measured(pending[answered - 1].term_id, result)
        batch._count(len(results))
        return answered

    def _running(self, page: mmap.mmap, answered: int) -> tuple[float, int]:
        """Which row of this chunk the worker is on, and since when (from the shared page)."""
        state = STATE.unpack(page[: STATE.size])
        again = STATE.unpack(page[: STATE.size])
        if again != state:  # the worker moved on while we read: the second read is whole
            state = again
        serial, index, started = state
        if serial != self.serial or index < answered:
            # The worker has not started this chunk, is between two rows, or has finished and
            # its last results are on the way: the next row's clock cannot have started yet.
            return time.monotonic(), answered
        return started, index

    # -- starting and stopping ------------------------------------------------------------------

    def _start_and_load(self, term_ids: list[str]) -> str | None:
        """A live worker with these terms loaded; the problem as text when that fails."""
        begin = time.monotonic()
        for attempt in range(2):  # one retry: the zygote itself may have died
            try:
                self._ensure_worker()
                problem = self._load(term_ids)
                break
            except (OSError, EOFError, EngineError, pickle.UnpicklingError) as exc:
                self._discard()
                if attempt:
                    return f"cannot start a worker: {type(exc).__name__}: {exc}"
        if problem is not None:
            return problem
        self.pool.start_seconds = max(self.pool.start_seconds, time.monotonic() - begin)
        return None

    def _ensure_worker(self) -> None:
        if self.pid is not None and self.conn is not None:
            if self.sent_path != sys.path:
                self.sent_path = list(sys.path)
                self.conn.send(("path", self.sent_path))
            return
        self._discard()
        self.pid, self.conn, self.page = self.pool._zygote.fork()
        self.sent_path = list(sys.path)
        self.loaded = set()
        self.jobs_done = 0
        self.pool.starts += 1

    def _load(self, term_ids: list[str]) -> str | None:
        conn = self.conn
        assert conn is not None
        for term_id in term_ids:
            if term_id in self.loaded:
                continue
            blob = self.pool._blobs.get(term_id)
            if blob is None:
                return "the term was forgotten before it could be loaded"
            conn.send(("load", term_id, blob))
            if not conn.poll(START_TIMEOUT_S):
                self._discard()
                raise EngineError(f"loading a reward took over {START_TIMEOUT_S:g}s")
            kind, got, error = conn.recv()
            if kind != "loaded" or got != term_id:
                raise EngineError(f"worker answered {kind!r} while loading a reward")
            if error is not None:
                return f"the worker could not load the reward: {error}"
            self.loaded.add(term_id)
        return None

    def _discard(self) -> str:
        """Kill the worker (if alive) and forget it; returns why it ended, for death reasons."""
        pid, conn, page = self.pid, self.conn, self.page
        self.pid = self.conn = self.page = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()
        if page is not None:
            page.close()
        if pid is None:
            return "unknown"
        code = self.pool._zygote.reap(pid, kill=True)
        if code is None:
            return "unknown"
        if code < 0:
            return f"killed by signal {-code}"
        return f"exit code {code}"

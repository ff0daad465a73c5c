"""The loop a worker process runs: receive jobs, run rewards, send scores back one by one.

This module is imported in the worker (and preloaded in the fork server), so it stays small
and imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import resource
import signal
import sys
from typing import Any

from rewardsmith.core.score import Score

__all__ = ["Job", "worker_main"]

_PR_SET_PDEATHSIG = 1


class Job:
    """One unit of worker work: a reward on one sample, or a group reward on one group."""

    __slots__ = ("params", "payload", "reward", "timeout_s")

    def __init__(self, reward: Any, params: dict[str, Any], payload: Any, timeout_s: float) -> None:
        self.reward = reward
        self.params = params
        self.payload = payload
        self.timeout_s = timeout_s

    def __getstate__(self) -> tuple[Any, ...]:
        return (self.reward, self.params, self.payload, self.timeout_s)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.reward, self.params, self.payload, self.timeout_s = state

    def run(self) -> Score | list[Score]:
        if isinstance(self.payload, list):
            return self.reward.run_group(self.payload, self.params)
        return self.reward.run(self.payload, self.params)


def worker_main(conn: Any, sys_path: list[str], memory_mb: int | None) -> None:
    """Serve jobs until the pipe closes. Runs in a child of the fork server."""
    # Ctrl-C goes to the whole foreground group; the parent decides what happens to workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _release_fork_server()
    _die_with_parent()
    sys.path[:] = sys_path
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        kind, body = message
        if kind == "stop":
            return
        if kind == "path":
            sys.path[:] = body
            continue
        for job_id, blob in body:
            result = _run_blob(blob)
            try:
                conn.send((job_id, result))
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                # An unpicklable object in Score.info: report it instead of losing the row.
                reason = f"reward result cannot be sent back: {type(exc).__name__}: {exc}"
                conn.send((job_id, Score.fail("error", reason)))


def _run_blob(blob: bytes) -> Any:
    try:
        job: Job = pickle.loads(blob)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return Score.fail(
            "error", f"the worker could not load the reward: {type(exc).__name__}: {exc}"
        )
    return job.run()


def _release_fork_server() -> None:
    """Close this worker's copy of the fork server's "alive" pipe.

    multiprocessing hands every child a copy so that it could start processes too; but the fork
    server exits only when every copy is closed, and a worker busy in a hung reward would then
    keep it (and so itself, through PDEATHSIG) alive after the run was killed with kill -9.
    Workers start no processes through the fork server, so they give their copy back.
    """
    from multiprocessing import forkserver

    server: Any = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if server is not None and fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
        server._forkserver_alive_fd = None


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when its parent dies, so no worker outlives a kill -9."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(0)

"""What runs in the engine's child processes: the zygote and the workers it forks.

How the parts fit (see docs/engine.md, "Process model")::

    caller process (the user's script, notebook or trainer)
      └── zygote      `python -c` of this module's `zygote_main`: a clean interpreter that imports
          │           rewardsmith (and the reward modules a spec names) and then only forks;
          │           it never imports the caller's ``__main__``
          └── worker  one per pool slot, forked by the zygote; loads terms, runs rows

The caller talks to the zygote over a SOCK_SEQPACKET socket (one message per request) and to
each worker over its own socket, which the zygote passes up with SCM_RIGHTS together with a
small shared-memory page. A worker writes into that page which row it is running and since
when, so the caller enforces each row's deadline exactly while results travel in batches.

Who kills whom: the caller SIGKILLs a worker whose row ran past its deadline; the zygote reaps
it (it is the parent) and reports the exit status. A worker dies with the zygote (PDEATHSIG);
the zygote exits when the caller's end of its socket closes or the caller is gone, so a
``kill -9`` of the caller leaves no process behind.

Processes a reward starts die with it. Each worker leads its own session and process group, so
a kill reaches everything the reward started (``subprocess.run(["sleep", "777"])`` included)
with one ``killpg``. A descendant that left the group (``setsid``, a daemon's double fork) is
re-parented to the zygote, which is a child subreaper: whenever the zygote reaps a worker, and
when it exits, it kills every child of its own that is not a live worker. A worker's standard
output goes to standard error, so nothing a reward prints (or starts) holds the caller's stdout.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import pickle
import signal
import socket
import struct
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

__all__ = ["STATE", "Job", "pack_payload", "unpack_result", "worker_main", "zygote_main"]

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_FLUSH_EVERY_S = 0.002
"""A worker sends finished results at least this often (and at the end of every chunk)."""

STATE = struct.Struct("<qqd")
"""The shared page: chunk serial, index of the row running (-1: none), its start (monotonic)."""


class Job:
    """One unit of worker work: a reward on one sample, or a group reward on one group."""

    __slots__ = ("params", "payload", "reward", "timeout_s")

    def __init__(self, reward: Any, params: dict[str, Any], payload: Any, timeout_s: float) -> None:
        self.reward = reward
        self.params = params
        self.payload = payload
        self.timeout_s = timeout_s

    def run(self) -> Score | list[Score]:
        """Run in this process (the engine uses this for the inline path and in workers)."""
        return run_term(self.reward, self.params, self.payload)


def run_term(reward: Any, params: dict[str, Any], payload: Any) -> Score | list[Score]:
    """One reward call: a group reward on a list of samples, any other on one sample."""
    if isinstance(payload, list):
        return reward.run_group(payload, params)  # type: ignore[no-any-return]
    return reward.run(payload, params)  # type: ignore[no-any-return]


# -- wire format -----------------------------------------------------------------------------
# Samples and scores cross the pipe as plain tuples of their fields: pickle keeps every value's
# type exactly, and a tuple unpickles ~10x faster than a msgspec Struct does.

_astuple = msgspec.structs.astuple
# The constructors below name each field (a keyword call is ~10x cheaper than building a dict
# per row); a field added to either struct must be added there too, or importing fails here.
if Sample.__struct_fields__ != (
    "id",
    "completion",
    "prompt",
    "reference",
    "task",
    "group",
    "extra",
):
    raise ImportError(f"Sample fields changed: {Sample.__struct_fields__}; update the worker wire")
if Score.__struct_fields__ != ("value", "status", "reason", "components", "info", "latency_s"):
    raise ImportError(f"Score fields changed: {Score.__struct_fields__}; update the worker wire")


def pack_payload(payload: Any) -> Any:
    """A `Sample` (or a group's list of them) as tuples for the pipe."""
    if isinstance(payload, list):
        return [_astuple(sample) for sample in payload]
    return _astuple(payload)


def _sample(fields: tuple[Any, ...]) -> Sample:
    return Sample(
        id=fields[0],
        completion=fields[1],
        prompt=fields[2],
        reference=fields[3],
        task=fields[4],
        group=fields[5],
        extra=fields[6],
    )


def _unpack_payload(packed: Any) -> Any:
    if isinstance(packed, list):
        return [_sample(fields) for fields in packed]
    return _sample(packed)


def _pack_result(result: Any) -> Any:
    if isinstance(result, list):
        return [_astuple(score) for score in result]
    return _astuple(result)


def _score(fields: tuple[Any, ...]) -> Score:
    return Score(
        value=fields[0],
        status=fields[1],
        reason=fields[2],
        components=fields[3],
        info=fields[4],
        latency_s=fields[5],
    )


def unpack_result(packed: Any) -> Any:
    """A result from the pipe: a `Score`, or a list of them for a group."""
    if isinstance(packed, list):
        return [_score(fields) for fields in packed]
    return _score(packed)


# -- worker ----------------------------------------------------------------------------------


def worker_main(conn: Connection, state: mmap.mmap) -> None:
    """Serve the caller until its socket closes. Runs in a child of the zygote.

    Messages from the caller: ``("load", term_id, blob)`` answered by ``("loaded", term_id,
    error or None)``; ``("run", serial, [(term_id, payload), ...])`` answered by one or more
    ``("res", [result, ...])`` in row order; ``("path", sys_path)``; ``("stop", None)``.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    _die_with_parent()
    terms: dict[str, tuple[Any, dict[str, Any]]] = {}
    while True:
        try:
            kind, *body = conn.recv()
        except (EOFError, OSError):
            return
        if kind == "stop":
            return
        if kind == "path":
            sys.path[:] = body[0]
        elif kind == "load":
            term_id, blob = body
            conn.send(("loaded", term_id, _load_term(terms, term_id, blob)))
        elif kind == "run":
            _run_chunk(conn, state, terms, body[0], body[1])


def _load_term(terms: dict[str, Any], term_id: str, blob: bytes) -> str | None:
    try:
        reward, params = pickle.loads(blob)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return f"{type(exc).__name__}: {exc}"
    if len(terms) >= 256:  # a long-lived worker serving many specs: keep the newest
        terms.pop(next(iter(terms)))
    terms[term_id] = (reward, params)
    return None


def _run_chunk(
    conn: Connection,
    state: mmap.mmap,
    terms: dict[str, tuple[Any, dict[str, Any]]],
    serial: int,
    items: list[tuple[str, Any]],
) -> None:
    done: list[Any] = []
    last_flush = time.monotonic()
    for index, (term_id, payload) in enumerate(items):
        now = time.monotonic()
        state[:] = STATE.pack(serial, index, now)
        reward, params = terms[term_id]
        done.append(_pack_result(run_term(reward, params, _unpack_payload(payload))))
        if time.monotonic() - last_flush >= _FLUSH_EVERY_S:
            _send_results(conn, done)
            done = []
            last_flush = time.monotonic()
    state[:] = STATE.pack(serial, -1, 0.0)
    _send_results(conn, done)


def _send_results(conn: Connection, results: list[Any]) -> None:
    if not results:
        return
    try:
        conn.send(("res", results))
    except (pickle.PicklingError, TypeError, AttributeError):
        # One result holds an unpicklable object in Score.info: report that row, keep the rest.
        conn.send(("res", [_sendable(result) for result in results]))


def _sendable(result: Any) -> Any:
    try:
        pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        reason = f"reward result cannot be sent back: {type(exc).__name__}: {exc}"
        if isinstance(result, list):
            return [_astuple(Score.fail("error", reason)) for _ in result]
        return _astuple(Score.fail("error", reason))
    return result


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies, so nothing outlives a kill -9."""
    if not _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(0)


def _prctl(option: int, value: int) -> bool:
    """Linux ``prctl(option, value)``; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(option, value, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


# -- zygote ----------------------------------------------------------------------------------


def zygote_main(control_fd: int, caller_pid: int) -> None:
    """Fork workers on request until the caller goes away. Runs as its own interpreter.

    Requests (pickled, one per SEQPACKET message): ``("path", sys_path)``, ``("preload",
    [module, ...])``, ``("fork",)`` (answered with the worker's pid plus its socket
    and shared page as passed descriptors) and ``("reap", pid, kill)`` (answered with the exit
    status: negative for a signal).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    control = socket.socket(fileno=control_fd)
    control.settimeout(1.0)
    try:
        _serve_zygote(control, caller_pid)
    finally:
        # Workers die with the zygote (PDEATHSIG), but what their rewards started does not.
        for pid in list(_WORKERS):
            _kill_tree(pid)
        _sweep_orphans(every=True)


_WORKERS: set[int] = set()
"""The zygote's live workers (every other child of the zygote is an orphan to kill)."""
_EXITED: dict[int, int] = {}
"""Exit statuses of workers that a sweep reaped before the caller asked for them."""


def _serve_zygote(control: socket.socket, caller_pid: int) -> None:
    while True:
        try:
            data = control.recv(1 << 20)
        except TimeoutError:
            if os.getppid() != caller_pid:  # the caller died without closing (kill -9)
                return
            continue
        except OSError:
            return
        if not data:
            return
        kind, *body = pickle.loads(data)
        if kind == "fork":
            _fork_worker(control)
            continue
        if kind == "path":
            sys.path[:] = body[0]
            reply: Any = None
        elif kind == "preload":
            reply = _preload(body[0])
        elif kind == "reap":
            reply = _reap(body[0], body[1])
        else:
            reply = f"unknown request {kind!r}"
        control.sendall(pickle.dumps(reply))


def _preload(modules: list[str]) -> dict[str, str]:
    import importlib

    problems = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # a worker will report it against the rows
            if isinstance(exc, KeyboardInterrupt):
                raise
            problems[name] = f"{type(exc).__name__}: {exc}"
    return problems


def _fork_worker(control: socket.socket) -> None:
    ours, theirs = socket.socketpair()
    page_fd = _shared_page()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            # Its own session and process group (pgid == pid): a kill of the group reaches
            # everything the reward starts, and no terminal signal reaches the reward's children.
            os.setsid()
            # A reward's print (or a child it starts) must not write into, or hold open, the
            # caller's stdout: `rewardsmith score ... | cat` would never end.
            os.dup2(2, 1)
            _WORKERS.clear()
            control.close()
            ours.close()
            state = mmap.mmap(page_fd, STATE.size)
            worker_main(Connection(theirs.detach()), state)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    _WORKERS.add(pid)
    theirs.close()
    try:
        socket.send_fds(control, [pickle.dumps(pid)], [ours.fileno(), page_fd])
    finally:
        ours.close()
        os.close(page_fd)


def _shared_page() -> int:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("rewardsmith-worker-state", os.MFD_CLOEXEC)
    else:  # pragma: no cover - non-Linux
        import tempfile

        fd, path = tempfile.mkstemp(prefix="rewardsmith-state-")
        os.unlink(path)
    os.ftruncate(fd, STATE.size)
    os.pwrite(fd, STATE.pack(0, -1, 0.0), 0)
    return fd


def _reap(pid: int, kill: bool) -> int | None:
    """Kill (when asked) and wait for a worker; its exit status, or None if it would not die.

    Whatever the worker's reward started dies with it: its process group, and any orphan that
    left the group and was re-parented to the zygote.
    """
    if kill:
        _kill_tree(pid)
    try:
        deadline = time.monotonic() + 2.0
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # a sweep reaped it first
                return _EXITED.pop(pid, None)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                return None
            time.sleep(0.005)
    finally:
        _WORKERS.discard(pid)
        # The group again: a child that was forked while the first kill was on its way.
        _kill_group(pid)
        _sweep_orphans()


def _kill_tree(pid: int) -> None:
    """SIGKILL a worker and its process group (the worker leads it: pgid == pid)."""
    _kill_group(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def _kill_group(pgid: int) -> None:
    if pgid <= 1 or pgid == os.getpgrp():  # never the caller's own group
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _sweep_orphans(*, every: bool = False) -> None:
    """Kill and reap the zygote's children that are not live workers: processes a reward
    started that outlived their worker and were re-parented here (the zygote is a subreaper).
    With ``every``, live workers too (the zygote is exiting)."""
    me = os.getpid()
    for child in _children(me):
        if child in _WORKERS and not every:
            continue
        with contextlib.suppress(OSError):
            group = os.getpgid(child)
            if group != me and group != os.getpgrp():
                _kill_group(group)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGKILL)
    # Reap whatever has died (orphans and their zombies), never waiting on a live worker.
    while True:
        try:
            done, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not done:
            return
        if done in _WORKERS:  # a worker that died on its own: the caller's reap reports it
            _WORKERS.discard(done)
            _EXITED[done] = os.waitstatus_to_exitcode(_status)


def _children(parent: int) -> list[int]:
    """Pids whose parent is ``parent`` (from /proc; empty where there is no /proc)."""
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == parent:
            found.append(int(entry))
    return found

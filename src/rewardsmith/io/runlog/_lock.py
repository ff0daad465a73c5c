"""One writer per run: an exclusive ``flock`` on ``run=<id>/writer.lock``.

The lock lives on an open file description, so the kernel drops it when its process dies, by
``kill -9`` included: there is no stale lock to clean up, and "running" in a manifest whose lock
nobody holds means the writer died. The file's text (pid, host, start time, command line) is
only a label for error messages; the flock is the truth, and the file is never deleted (deleting
a flock file lets two processes lock two different inodes of the same name).

Readers probe with a shared lock, which fails while a writer holds the exclusive one; a writer
that meets a probe retries for a moment instead of reporting a phantom second writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import InputError

__all__ = ["LOCK_NAME", "RunLock", "RunLockedError", "lock_holder"]

LOCK_NAME = "writer.lock"

# A reader's probe holds the shared lock for microseconds; a writer waits this long before
# deciding that the lock belongs to another writer.
_PROBE_GRACE_S = 0.5


class RunLockedError(InputError):
    """Another process is writing this run (a second ``--resume``, or the original still runs).

    The message names the run and the holder's pid, host, start time and command.
    """


def lock_holder(directory: Path) -> dict[str, Any] | None:
    """Who holds the run's writer lock: its label (``pid``, ``host``, ``started``, ``argv``;
    ``{}`` if unreadable), or None when no process holds it."""
    path = directory / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_label(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def describe_holder(holder: dict[str, Any]) -> str:
    """``pid 123 on host h since <time> (rewardsmith score ...)`` for messages."""
    if not holder:
        return "another process (its label is unreadable)"
    argv = " ".join(str(a) for a in holder.get("argv", []))[:200]
    return f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}" + (
        f" ({argv})" if argv else ""
    )


class RunLock:
    """The exclusive writer lock of one run directory, held from `acquire` to `release`.

    While held, SIGTERM (if the process left it at its default) first marks the manifest
    ``interrupted`` and then ends the process as SIGTERM would have: see `_on_sigterm`.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None
        self._previous_sigterm: Any = None
        self._sigterm_installed = False
        self.on_sigterm: Callable[[], None] | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, run_id: str) -> None:
        """Take the lock or raise `RunLockedError` naming the process that holds it."""
        if self._fd is not None:
            return
        # O_CLOEXEC: a program the writer execs (the engine's zygote, a sandbox) must not hold
        # the lock after the writer dies. (A child forked without exec would share it.)
        path = self.directory / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise InputError(f"cannot lock run {run_id} for writing ({path}): {exc}") from exc
        deadline = time.monotonic() + _PROBE_GRACE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_label(fd)
                    os.close(fd)
                    raise RunLockedError(
                        f"run {run_id} is being written by {describe_holder(holder)}; "
                        "two writers would log rows twice. Wait for it to finish, or stop it "
                        "(its rows so far stay in the log) and run --resume again"
                    ) from None
                time.sleep(0.02)
        label = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "argv": sys.argv,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(label).encode(), 0)
        self._fd = fd
        self._install_sigterm()

    def release(self) -> None:
        """Drop the lock (idempotent) and give SIGTERM back its previous handler."""
        self._restore_sigterm()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # -- SIGTERM --------------------------------------------------------------------------------

    def _install_sigterm(self) -> None:
        # Only a handler nobody chose is replaced (a server's own SIGTERM handling stays), and
        # only the main thread may set one.
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return
        self._previous_sigterm = signal.SIG_DFL
        signal.signal(signal.SIGTERM, self._on_sigterm)
        self._sigterm_installed = True

    def _restore_sigterm(self) -> None:
        if not self._sigterm_installed:
            return
        self._sigterm_installed = False
        if threading.current_thread() is threading.main_thread() and (
            signal.getsignal(signal.SIGTERM) == self._on_sigterm
        ):
            signal.signal(signal.SIGTERM, self._previous_sigterm)

    def _on_sigterm(self, signum: int, frame: object) -> None:
        """Mark the run ``interrupted``, then die of SIGTERM exactly as without this handler.

        Not an exception: code between here and the exit (worker pools, servers) would see a
        new kind of exit. Rows still in the writer's buffer (under a second of work) are lost,
        as with kill -9, and are scored again on resume.
        """
        with contextlib.suppress(Exception):
            if self.on_sigterm is not None:
                self.on_sigterm()
        self._restore_sigterm()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)


def _read_label(fd: int) -> dict[str, Any]:
    try:
        text = os.pread(fd, 65536, 0)
        label = json.loads(text) if text else {}
    except (OSError, ValueError):
        return {}
    return label if isinstance(label, dict) else {}

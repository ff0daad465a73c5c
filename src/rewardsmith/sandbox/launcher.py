"""`Sandbox`: the trusted side of the zygote; runs programs and hands back their output.

Every run involves three processes: this one (the grader), the zygote it starts
(`_zygote.py`), and the program process the zygote forks and confines for each run (helpers:
`_confine`, `_harness`, `_wire`). The map is in docs/sandbox.md, "Three processes: how a run
works": who starts whom, the JSON messages on the control socket, the program's fds 0-5,
where confinement is applied, and who may kill whom.

A `Sandbox` owns one zygote process (start one per worker process, i.e. per core). Each run
sends the zygote a small message plus file descriptors: the program and the stdin in memory
files, empty memory files for stdout and stderr (so a big output never blocks on a pipe and
RLIMIT_FSIZE caps it), and a request/response channel for calls. The zygote replies once the
run's whole process tree is dead; only then are the outputs read.

Before any program runs, the protections the zygote measured are checked against the sandbox's
*level* (`protections`): at the default ``isolated`` level a missing protection raises
`SandboxRefused` and nothing runs. Blame: whatever a run does to the zygote (kill it, flood
the answer channel) ends as the run's own failure; only a zygote that cannot start, or a
protection that fails after working at start-up, is a `SandboxError` of ours.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Final

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.sandbox import _wire
from rewardsmith.sandbox.limits import SandboxLimits
from rewardsmith.sandbox.protections import LEVELS, Protections, SandboxLevel
from rewardsmith.sandbox.result import CallResult, RunResult

__all__ = [
    "Call",
    "CallSession",
    "Sandbox",
    "SandboxError",
    "SandboxRefused",
    "default_sandbox",
    "real_python",
]

_ZYGOTE: Final = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_zygote.py")
_DEVICES: Final = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
_SIGXCPU: Final = 24
_SIGXFSZ: Final = 25
_SIGKILL: Final = 9
_STDERR_KEEP: Final = 64 << 10

Call = tuple[str, Sequence[Any], dict[str, Any]]
"""``(function name, positional args, keyword args)``; the name may be ``Class.method``."""


class SandboxError(RewardsmithError, RuntimeError):
    """The sandbox itself failed (the zygote would not start); never the program's fault."""


class SandboxRefused(SandboxError):
    """This machine lacks a protection the sandbox's level requires: nothing was run.

    The message names each missing protection and what to change. Callers turn it into the
    ``refused`` status; one that only catches `SandboxError` still fails closed (``error``).
    """


def real_python() -> str:
    """The interpreter binary behind ``sys.executable``, past venv links and pyenv shims.

    A pyenv shim is a shell script that costs ~100 ms per start; the zygote starts once, but a
    shim would also put a shell between us and the interpreter.
    """
    for candidate in (getattr(sys, "_base_executable", ""), sys.executable):
        path = os.path.realpath(candidate) if candidate else ""
        try:
            with open(path, "rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    return path
        except OSError:
            continue
    raise SandboxError(f"no interpreter binary found behind {sys.executable!r}")


class Sandbox:
    """Runs untrusted Python programs in a confined child of a warm zygote.

    Not thread-safe: one run at a time per instance (a lock enforces it). Start one per worker
    process; `default_sandbox` does that lazily.

    Example:
        >>> with Sandbox() as box:
        ...     result = box.run_script("print(sum(map(int, input().split())))", stdin=b"2 3")
        >>> result.outcome, result.stdout
        ('ok', b'5\\n')
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        python: str | None = None,
        level: SandboxLevel = "isolated",
    ) -> None:
        if level not in LEVELS:
            raise ValueError(f"sandbox level must be one of {', '.join(LEVELS)}, got {level!r}")
        self.limits = limits or SandboxLimits()
        self.python = python or real_python()
        self.level: SandboxLevel = level
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._protections: Protections | None = None
        self._cgroups: list[str] = []
        self.runs = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> Protections:
        """Start the zygote (if needed) and return the protections it measured."""
        if self._proc is None or self._proc.poll() is not None:
            self._start()
        assert self._protections is not None
        return self._protections

    @property
    def protections(self) -> Protections:
        return self.start()

    def refusal(self) -> str | None:
        """Why this sandbox refuses to run programs at its level (with the fix), or None."""
        return self.protections.refusal(self.level)

    def provenance(self) -> dict[str, Any]:
        """What a score produced here should record: the level, and what it lacked."""
        out: dict[str, Any] = {"level": self.level}
        unmet = [req for req, _, _ in self.protections.unmet()]
        if unmet:
            out["unmet"] = unmet
        return out

    def _require_level(self) -> None:
        reason = self.refusal()
        if reason is not None:
            raise SandboxRefused(reason)

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        for directory in self._cgroups:
            with suppress(OSError):
                os.rmdir(directory)  # empty once the zygote and its runs are gone
        self._cgroups = []

    def _start(self) -> None:
        self.close()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        prefix = os.path.dirname(os.path.dirname(self.python))
        config = {
            "expose": ["/usr", "/lib", "/lib64", "/lib32", "/bin", prefix],
            "devices": _DEVICES,
            "hide": [
                os.path.join(
                    prefix,
                    "lib",
                    f"python{sys.version_info[0]}.{sys.version_info[1]}",
                    "site-packages",
                )
            ],
            "probe_limits": self.limits.to_wire(),
        }
        try:
            self._proc = subprocess.Popen(
                [self.python, "-I", "-S", "-B", _ZYGOTE, str(child.fileno())],
                pass_fds=[child.fileno()],
                env={"LC_ALL": "C.UTF-8"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                # The zygote says why it failed over the socket; its stderr is for debugging.
                stderr=None if os.environ.get("REWARDSMITH_SANDBOX_DEBUG") else subprocess.DEVNULL,
                cwd="/",
            )
        finally:
            child.close()
        self._control = parent
        parent.send(json.dumps(config).encode())
        reply = self._receive(timeout=30.0)
        if reply.get("ev") != "ready":
            self.close()
            raise SandboxError(f"zygote failed to start: {reply.get('reason', reply)}")
        self._protections = Protections(active=reply["active"], notes=tuple(reply["notes"]))
        self._cgroups = list(reply.get("cgroups", []))
        for directory in self._cgroups:
            _remove_stale_cgroups(os.path.dirname(directory))

    def _receive(self, timeout: float) -> dict[str, Any]:
        assert self._control is not None
        self._control.settimeout(timeout)
        try:
            data = self._control.recv(1 << 20)
        except (TimeoutError, OSError) as exc:
            self._abandon()
            raise SandboxError(f"zygote did not answer: {exc}") from None
        if not data:
            self._abandon()
            raise SandboxError("zygote exited")
        return json.loads(data)

    def _abandon(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
        self.close()

    # -- runs ------------------------------------------------------------------------------------

    def run_script(
        self, source: str, stdin: bytes = b"", limits: SandboxLimits | None = None
    ) -> RunResult:
        """Run ``source`` as ``__main__`` with ``stdin``; stdout and stderr come back as bytes."""
        return self._run({"mode": "script", "source": source}, stdin, None, limits)

    def call(
        self, source: str, calls: Sequence[Call], limits: SandboxLimits | None = None
    ) -> tuple[RunResult, list[CallResult]]:
        """Load ``source`` as a module and make ``calls`` in one process, in order.

        Arguments cross as plain data (`_wire`); each answer is decoded in this process into
        builtin values. A call with no answer (the process died or exited) is a runtime error.
        """
        lines = b"".join(
            _wire.dumps([name, list(args), dict(kwargs)]).encode() + b"\n"
            for name, args, kwargs in calls
        )
        run = self._run({"mode": "call", "source": source}, b"", lines, limits)
        return run, _call_results(run, len(calls))

    @contextmanager
    def session(self, source: str, limits: SandboxLimits | None = None) -> Iterator[CallSession]:
        """Keep a program loaded and call it interactively (for tests that cannot be rewritten
        as independent calls). ``limits.wall_limit_s`` bounds the whole session."""
        limits = limits or self.limits
        with self._lock:
            self._require_level()
            req_r, req_w = os.pipe()
            resp_r, resp_w = os.pipe()
            try:
                channel = _Channel(
                    self, limits, {"mode": "session", "source": source}, b"", req_r, resp_w
                )
            except BaseException:
                os.close(req_w)
                os.close(resp_r)
                raise
            finally:
                os.close(req_r)
                os.close(resp_w)
            session = CallSession(self, req_w, resp_r, limits, channel)
            try:
                yield session
            finally:
                session.close_requests()
                try:
                    session.finish()
                finally:
                    os.close(resp_r)

    def _run(
        self,
        job: dict[str, Any],
        stdin: bytes,
        requests: bytes | None,
        limits: SandboxLimits | None,
    ) -> RunResult:
        limits = limits or self.limits
        with self._lock:
            self._require_level()
            req = _memfd("req", requests or b"", read_only=True)
            resp = _memfd("resp", b"")
            try:
                try:
                    channel = _Channel(self, limits, job, stdin, req, resp)
                finally:
                    os.close(req)
                result = channel.finish()
                # Read no more than the answer limit: a flood stays in the memory file.
                answers = _read_memfd(resp, limits.answer_bytes + 1)
                if len(answers) > limits.answer_bytes and result.outcome != "sandbox_error":
                    result.outcome = "output_limit"
                    result.detail = f"answers over {limits.answer_bytes} bytes"
                    answers = b""
                result.responses = answers.splitlines()
            finally:
                os.close(resp)
            return result


class _Channel:
    """One run in flight: the memory files it owns and the zygote round trip."""

    def __init__(
        self,
        box: Sandbox,
        limits: SandboxLimits,
        job: dict[str, Any],
        stdin: bytes,
        req: int,
        resp: int,
    ) -> None:
        self.box = box
        self.limits = limits
        job_fd = _memfd("job", json.dumps(job).encode(), read_only=True)
        stdin_fd = _memfd("stdin", stdin, read_only=True)
        self.stdout = _memfd("stdout", b"")
        self.stderr = _memfd("stderr", b"")
        fds = [stdin_fd, self.stdout, self.stderr, job_fd, req, resp]
        message = json.dumps({"op": "run", "limits": limits.to_wire()}).encode()
        try:
            assert box._control is not None
            socket.send_fds(box._control, [message], fds)
        except OSError as exc:
            self._close()
            box._abandon()
            raise SandboxError(f"cannot reach the zygote: {exc}") from None
        finally:
            os.close(job_fd)
            os.close(stdin_fd)
        box.runs += 1

    def finish(self) -> RunResult:
        try:
            try:
                reply = self.box._receive(timeout=self.limits.wall_limit_s + 30.0)
            except SandboxError as exc:
                # The zygote died (or hung) with this run in flight: the program is the one
                # thing that was running, so it takes the blame (a restart follows).
                return RunResult(
                    outcome="runtime_error",
                    detail=f"the sandbox ended during the run (blamed on the program): {exc}",
                )
            stdout = _read_memfd(self.stdout, self.limits.output_bytes)
            stderr = _read_memfd(self.stderr, self.limits.output_bytes)
        finally:
            self._close()
        if reply.get("ev") != "exit":
            return RunResult(outcome="sandbox_error", detail=str(reply.get("reason", reply)))
        return _classify(reply, stdout, stderr, self.limits)

    def _close(self) -> None:
        for fd in (self.stdout, self.stderr):
            with suppress(OSError):
                os.close(fd)


class CallSession:
    """Calls into a loaded program, one at a time, each with its own deadline."""

    def __init__(
        self,
        box: Sandbox,
        req_w: int,
        resp_r: int,
        limits: SandboxLimits,
        channel: _Channel | None = None,
    ) -> None:
        self._box = box
        self._channel = channel
        self._req_w: int | None = req_w
        self._resp_r = resp_r
        self._buffer = b""
        self._limits = limits
        self._dead: str | None = None
        self.result: RunResult | None = None
        self.calls = 0

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> CallResult:
        return self.call(name, args, kwargs)

    def call(
        self, name: str, args: Sequence[Any], kwargs: dict[str, Any], timeout_s: float | None = None
    ) -> CallResult:
        if self._dead:
            return CallResult("runtime_error", error=self._dead)
        self.calls += 1
        try:
            line = _wire.dumps([name, list(args), dict(kwargs)]).encode() + b"\n"
        except _wire.PlainDataError as exc:
            raise TypeError(f"argument is not plain data: {exc}") from None
        deadline = time.monotonic() + (
            timeout_s if timeout_s is not None else self._limits.wall_limit_s
        )
        if not self._write(line, deadline):
            return self._fail("time_limit", "program did not read its request in time")
        answer = self._read_line(deadline)
        if answer is None:
            return self._fail(*self._dead_reason(deadline))
        return _call_result(answer)

    def finish(self) -> RunResult:
        """The run's result, once its process has ended (waits for the zygote's report)."""
        if self.result is None:
            assert self._channel is not None
            self.result = self._channel.finish()
        return self.result

    def _fail(self, outcome: str, why: str) -> CallResult:
        self._dead = why
        self._kill()
        return CallResult(outcome, error=why)  # type: ignore[arg-type]

    def _dead_reason(self, deadline: float) -> tuple[str, str]:
        if time.monotonic() >= deadline:
            return "time_limit", "call timed out"
        if len(self._buffer) > self._limits.answer_bytes:
            return "output_limit", f"answer over {self._limits.answer_bytes} bytes"
        if self._channel is not None and self._req_w is not None:
            # The process ended: its own status says why (CPU limit, memory, a crash).
            self.close_requests()
            run = self.finish()
            if run.outcome in ("time_limit", "memory_limit", "output_limit"):
                outcome = "runtime_error" if run.outcome == "memory_limit" else run.outcome
                why = "MemoryError: over the memory limit" if outcome == "runtime_error" else ""
                return outcome, why or f"the program ended: {run.outcome}"
        return "runtime_error", "program exited or closed its channel without answering"

    def _kill(self) -> None:
        if self.result is not None or self._box._control is None:
            return  # the run already ended
        with suppress(OSError):
            self._box._control.send(b'{"op": "kill"}')

    def _write(self, data: bytes, deadline: float) -> bool:
        view = memoryview(data)
        assert self._req_w is not None
        while view:
            timeout = deadline - time.monotonic()
            if timeout <= 0:
                return False
            _, ready, _ = select.select([], [self._req_w], [], timeout)
            if ready:
                try:
                    view = view[os.write(self._req_w, view[: 1 << 16]) :]
                except BrokenPipeError:
                    return True  # the read side reports the death
        return True

    def _read_line(self, deadline: float) -> bytes | None:
        cap = self._limits.answer_bytes
        while b"\n" not in self._buffer:
            timeout = deadline - time.monotonic()
            if timeout <= 0 or len(self._buffer) > cap:
                return None
            ready, _, _ = select.select([self._resp_r], [], [], timeout)
            if not ready:
                continue
            chunk = os.read(self._resp_r, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def close_requests(self) -> None:
        if self._req_w is not None:
            os.close(self._req_w)
            self._req_w = None
        if self._dead:
            self._kill()


# -- helpers -------------------------------------------------------------------------------------


def _call_results(run: RunResult, count: int) -> list[CallResult]:
    results = [_call_result(line) for line in run.responses[:count]]
    if run.responses and _load_failure(run.responses[0]):
        results = [results[0]] * count
    missing = "time_limit" if run.outcome == "time_limit" else "runtime_error"
    why = f"no answer: the program ended ({run.outcome})"
    results.extend(CallResult(missing, error=why) for _ in range(count - len(results)))  # type: ignore[arg-type]
    return results


def _load_failure(line: bytes) -> bool:
    try:
        message = json.loads(line)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("phase") == "load"


def _call_result(line: bytes) -> CallResult:
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return CallResult("invalid_value", error="malformed answer")
    if not isinstance(message, dict):
        return CallResult("invalid_value", error="malformed answer")
    if "ok" in message and len(message) == 1:
        try:
            return CallResult("ok", value=_wire.decode(message["ok"]))
        except (_wire.PlainDataError, RecursionError, ValueError) as exc:
            return CallResult("invalid_value", error=str(exc)[:300])
    error = message.get("error")
    if isinstance(error, str):
        if error.startswith("PlainDataError"):
            return CallResult("invalid_value", error=error[:300])
        return CallResult("runtime_error", error=error[:300])
    return CallResult("invalid_value", error="malformed answer")


def _memfd(name: str, data: bytes, read_only: bool = False) -> int:
    fd = os.memfd_create(f"rewardsmith-{name}", os.MFD_CLOEXEC)
    if data:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    if not read_only:
        return fd
    # A read-only description of the same memory: the program can read it but not change it.
    ro = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
    os.close(fd)
    return ro


def _read_memfd(fd: int, cap: int) -> bytes:
    size = os.fstat(fd).st_size
    return os.pread(fd, min(size, cap), 0) if size else b""


def _classify(
    reply: dict[str, Any], stdout: bytes, stderr: bytes, limits: SandboxLimits
) -> RunResult:
    result = RunResult(
        outcome="ok",
        exit_code=reply.get("exit"),
        signal=reply.get("signal"),
        killed=reply.get("killed"),
        cpu_s=float(reply.get("cpu_s", 0.0)),
        wall_s=float(reply.get("wall_s", 0.0)),
        maxrss_kb=int(reply.get("maxrss_kb", 0)),
        stdout=stdout,
        stderr=stderr[-_STDERR_KEEP:],
    )
    if reply.get("oom_killed"):
        result.outcome = "memory_limit"
    elif (
        reply.get("killed") == "wall_time"
        or result.signal == _SIGXCPU
        # RLIMIT_CPU ends the program with SIGKILL; the kernel's CPU accounting can land just
        # under the limit (1.99 s of 2 s), so a SIGKILL near it is the CPU limit.
        or (result.signal == _SIGKILL and result.cpu_s >= 0.9 * limits.time_limit_s)
    ):
        result.outcome = "time_limit"
    elif "ready" in reply and not reply["ready"]:
        # Set up failed before the program ran (or the run was killed during set-up).
        result.outcome = "time_limit" if reply.get("killed") else "sandbox_error"
        result.detail = stderr[-500:].decode("utf-8", "replace")
    elif "exit" not in reply and "signal" not in reply:
        result.outcome = "time_limit" if reply.get("killed") else "sandbox_error"
    elif (
        len(stdout) >= limits.output_bytes
        or len(stderr) >= limits.output_bytes
        or result.signal == _SIGXFSZ
    ):
        result.outcome = "output_limit"
    elif result.signal is not None or result.exit_code != 0:
        last = stderr.rstrip().rsplit(b"\n", 1)[-1]
        result.outcome = "memory_limit" if last.startswith(b"MemoryError") else "runtime_error"
    return result


def _remove_stale_cgroups(parent: str) -> None:
    """Remove cgroups left by zygotes whose grader died without cleaning up."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        prefix, _, pid = name.rpartition("-")
        if prefix == "rewardsmith-zygote" and pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            with suppress(OSError):
                os.rmdir(os.path.join(parent, name))


_default: dict[tuple[int, str], Sandbox] = {}


def default_sandbox(level: SandboxLevel = "isolated") -> Sandbox:
    """The sandbox of this process at ``level``, started on first use (one zygote per worker
    process and level)."""
    pid = os.getpid()
    box = _default.get((pid, level))
    if box is None:
        for key in [key for key in _default if key[0] != pid]:
            del _default[key]  # inherited from a parent through fork: not ours to use
        box = _default[(pid, level)] = Sandbox(level=level)
        atexit.register(_close_default, pid, level)
    return box


def _close_default(pid: int, level: str) -> None:
    box = _default.get((pid, level))
    if box is not None and pid == os.getpid():
        box.close()  # stops the zygote and removes its cgroups

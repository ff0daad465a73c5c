"""Rewards with known misbehaviour, importable by worker processes (tests/engine is on sys.path)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import rewardsmith
from rewardsmith import Sample, Score, TransientError


def _log_call(path: str | None, sample: Sample) -> None:
    if path:
        with open(path, "a") as handle:
            handle.write(f"{os.getpid()} {sample.id} {sample.completion_text[:20]}\n")


@rewardsmith.reward("test.behaves", timeout_s=5, reads=("completion", "reference"))
def behaves(
    sample: Sample,
    *,
    calls_file: str | None = None,
    delay_s: float = 0.0,
    gate_file: str | None = None,
    gate_from: int = 0,
) -> Score | float:
    """Misbehaves on command: the completion says what to do.

    With ``gate_file``, rows whose id ends in a number >= ``gate_from`` wait (up to 60 s) until
    that file exists, so a test can interrupt a run at a known point.
    """
    _log_call(calls_file, sample)
    if delay_s:
        time.sleep(delay_s)
    if gate_file and int(sample.id.lstrip("abcdefghijklmnopqrstuvwxyz-_") or 0) >= gate_from:
        deadline = time.monotonic() + 60
        while not Path(gate_file).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    command = sample.completion_text
    if command == "hang":
        while True:
            pass
    if command == "sleep":
        time.sleep(3600)
    if command == "die":
        os._exit(7)
    if command == "segfault":
        import ctypes

        ctypes.string_at(0)
    if command == "exit":
        raise SystemExit(0)
    if command == "raise":
        raise ValueError("reward blew up")
    if command == "nan":
        return float("nan")
    if command == "inf":
        return float("inf")
    if command == "text":
        return "1.0"  # type: ignore[return-value]
    if command == "none":
        return None  # type: ignore[return-value]
    if command == "unpicklable":
        return Score(value=1.0, info={"lock": __import__("threading").Lock()})
    if command == "parse":
        return Score.fail("parse_error", "no answer found")
    return float(command == str(sample.reference))


@rewardsmith.reward("test.inline_len", inline=True, reads=("completion",))
def inline_len(sample: Sample, *, calls_file: str | None = None) -> float:
    """Length of the completion, in process."""
    _log_call(calls_file, sample)
    return float(len(sample.completion_text))


@rewardsmith.reward("test.judge", kind="io", timeout_s=2)
async def judge(
    sample: Sample, *, state_dir: str, fail_times: int = 0, delay_s: float = 0.0
) -> float:
    """An async reward that fails transiently a given number of times per sample."""
    state = Path(state_dir)
    active = state / "active"
    with open(state / "starts", "a") as handle:
        handle.write(sample.id + "\n")
    attempts = sum(1 for line in (state / "starts").read_text().splitlines() if line == sample.id)
    _bump(active, +1)
    try:
        await asyncio.sleep(delay_s)
        if attempts <= fail_times:
            raise TransientError("503 from the judge")
        if sample.completion_text == "slow":
            await asyncio.sleep(60)
        if sample.completion_text == "broken":
            raise KeyError("not transient")
        return 1.0
    finally:
        _bump(active, -1)


def _bump(path: Path, delta: int) -> None:
    current = int(path.read_text()) if path.exists() else 0
    path.write_text(str(current + delta))
    peak = path.with_name("peak")
    best = int(peak.read_text()) if peak.exists() else 0
    peak.write_text(str(max(best, current + delta)))


@rewardsmith.reward("test.group_rank", kind="group")
def group_rank(samples: list[Sample]) -> list[float]:
    """Each sample's length rank within its group, scaled to [0, 1]."""
    lengths = [len(s.completion_text) for s in samples]
    order = sorted(lengths)
    top = max(len(samples) - 1, 1)
    return [order.index(length) / top for length in lengths]


@rewardsmith.reward("test.worker_pid", reads=("completion",))
def worker_pid(sample: Sample) -> float:
    """The id of the process that ran the call."""
    return float(os.getpid())


@rewardsmith.reward("test.spawns", timeout_s=1, reads=("completion", "reference"))
def spawns(sample: Sample) -> float:
    """Starts ``sleep 777 <reference>`` and waits on it: in its process group (``wait``), in a
    new session (``daemon``, then hangs), or not at all (``quick``: returns at once)."""
    import subprocess

    command = ["sleep", "777", str(sample.reference)]
    if sample.completion_text == "wait":
        subprocess.run(command, check=False)
    elif sample.completion_text == "daemon":
        subprocess.Popen(command, start_new_session=True, stdout=None, stderr=None)
        time.sleep(3600)
    return 1.0


@rewardsmith.reward("test.hog", timeout_s=20, reads=("completion",))
def hog(sample: Sample) -> float:
    """Holds ``completion`` MiB, touched page by page (resident, not just reserved)."""
    held = []
    for _ in range(int(sample.completion_text)):
        block = bytearray(1 << 20)
        block[::4096] = b"\x01" * len(block[::4096])
        held.append(block)
    time.sleep(0.2)  # keep it resident long enough to be seen
    return float(len(held))


@rewardsmith.reward("test.sandboxed", inline=True, reads=("completion",))
def sandboxed(sample: Sample) -> Score:
    """Reports what the code rewards report: ``weak`` ran at trusted-code-only without a
    network namespace, ``refused`` was refused with the fix, anything else ran isolated."""
    if sample.completion_text == "weak":
        box = {"level": "trusted-code-only", "unmet": ["no network"]}
        return Score(value=1.0, info={"sandbox": box})
    if sample.completion_text == "refused":
        reason = "sandbox refused to run an untrusted program: no network. To fix: run as root"
        return Score.fail("refused", reason, sandbox={"level": "isolated"}, fault="grader")
    return Score(value=1.0, info={"sandbox": {"level": "isolated"}})


_probe_pids: set[int] = set()


@rewardsmith.reward("test.split_probe", inline=True, reads=("completion",))
def split_probe(
    sample: Sample,
    *,
    calls_file: str | None = None,
    pids_file: str | None = None,
    delay_s: float = 0.0,
    gate_file: str | None = None,
    gate_every: int = 0,
) -> float:
    """In process, for split file runs: logs its process and calls, and misbehaves on command.

    ``CRASH`` ends the process (exit status 3), ``KILL`` SIGKILLs it; with ``gate_file``, rows
    whose field ``n`` has ``n % gate_every >= gate_every // 2`` wait (up to 60 s) for that file.
    """
    if pids_file and os.getpid() not in _probe_pids:
        _probe_pids.add(os.getpid())
        with open(pids_file, "a") as handle:
            handle.write(f"{os.getpid()}\n")
    _log_call(calls_file, sample)
    if delay_s:
        time.sleep(delay_s)
    n = int(sample.extra.get("n", 0))
    if gate_file and gate_every and n % gate_every >= gate_every // 2:
        deadline = time.monotonic() + 60
        while not Path(gate_file).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    text = sample.completion_text
    if text == "CRASH":
        os._exit(3)
    if text == "KILL":
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return float(len(text) % 7)

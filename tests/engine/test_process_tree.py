"""What a reward starts dies with it: a timeout kills the worker's whole process group, and a
process that left the group (a new session) is killed by the zygote, its subreaper."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import sample_rewards  # noqa: F401 - registers the test rewards

from rewardsmith import Engine


def sleepers(tag: str) -> list[int]:
    """Live ``sleep 777 <tag>`` processes."""
    wanted = b"\x00".join([b"sleep", b"777", tag.encode()]) + b"\x00"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if cmdline == wanted and state != "Z":
            found.append(int(entry.name))
    return found


def gone_within(tag: str, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while sleepers(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    return sleepers(tag)


def test_a_timeout_kills_the_subprocess_a_hung_reward_waits_on() -> None:
    tag = f"0.{uuid.uuid4().int % 10**12:012d}"  # sleep sums its arguments
    rows = [{"id": "hung", "completion": "wait", "reference": tag}]
    with Engine(1) as engine:
        (score,) = engine.score(rows, "test.spawns")
        assert score.status == "timeout"
        # Killed with the worker, while the engine (and its zygote) still run.
        assert gone_within(tag, 2.0) == []
        # The replacement worker serves the next row.
        (after,) = engine.score([{"completion": "quick", "reference": tag}], "test.spawns")
        assert after.status == "ok"


def test_a_process_that_left_the_group_is_killed_by_the_zygote() -> None:
    tag = f"0.{uuid.uuid4().int % 10**12:012d}"  # sleep sums its arguments
    with Engine(1) as engine:
        (score,) = engine.score([{"completion": "daemon", "reference": tag}], "test.spawns")
        assert score.status == "timeout"
        assert gone_within(tag, 2.0) == []

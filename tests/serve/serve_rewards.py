"""Rewards the server tests need: slow on demand, one whose failure policy is `raise`, and one
that holds as much memory as its completion asks.

Imported by the test process and, through PYTHONPATH, by server subprocesses and workers.
"""

from __future__ import annotations

import time

import rewardsmith
from rewardsmith import Sample, Score


@rewardsmith.reward("serve_test.slow", inline=True, reads=("completion", "extra"))
def slow(sample: Sample) -> float:
    """Sleeps ``extra.sleep_s`` seconds (0 if absent), then pays 1.0 when the completion says yes."""
    time.sleep(float(sample.extra.get("sleep_s", 0.0)))
    return float(sample.completion_text.strip() == "yes")


@rewardsmith.reward("serve_test.picky", inline=True, reads=("completion",))
def picky(sample: Sample) -> Score:
    """An error status for the completion "boom", else 1.0."""
    if sample.completion_text == "boom":
        return Score.fail("error", "boom asked for an error")
    return Score(value=1.0)


@rewardsmith.reward("serve_test.slow_cpu", reads=("completion", "extra"), timeout_s=1.5)
def slow_cpu(sample: Sample) -> float:
    """`slow` run in a killable worker: a row asking for a long sleep hangs until its deadline."""
    time.sleep(float(sample.extra.get("sleep_s", 0.0)))
    return float(sample.completion_text.strip() == "yes")


@rewardsmith.reward("serve_test.hog", reads=("completion",), timeout_s=20)
def hog(sample: Sample) -> float:
    """Holds ``completion`` MiB, touched page by page, so the worker's resident memory grows."""
    held = []
    for _ in range(int(sample.completion_text)):
        block = bytearray(1 << 20)
        block[::4096] = b"\x01" * len(block[::4096])
        held.append(block)
    time.sleep(0.2)  # resident long enough for the pool's memory check to see it
    return float(len(held))

"""Rewards the server tests need: slow on demand, and one whose failure policy is `raise`.

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

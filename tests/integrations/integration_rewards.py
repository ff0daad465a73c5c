"""Rewards the integration tests need; importable by worker processes and Ray actors."""

from __future__ import annotations

import os

import rewardsmith
from rewardsmith import Sample


@rewardsmith.reward("itest.group_size", kind="group", inline=True, reads=("completion",))
def group_size(samples: list[Sample]) -> list[float]:
    """Each sample's reward is the size of its group: shows which samples were grouped."""
    return [float(len(samples))] * len(samples)


@rewardsmith.reward("itest.pid", reads=("completion",))
def worker_pid(sample: Sample) -> float:
    """The process id that scored the sample (to see where scoring happened)."""
    return float(os.getpid())


@rewardsmith.reward("itest.letters", inline=True, reads=("completion",))
def letter_share(sample: Sample) -> float:
    """The share of ASCII letters in the completion: varies between random completions."""
    text = sample.completion_text
    return sum(char.isascii() and char.isalpha() for char in text) / len(text) if text else 0.0


@rewardsmith.reward("itest.tokens", inline=True, reads=("extra",))
def token_count(sample: Sample) -> float:
    """The completion's token count as the trainer reported it."""
    return float(sample.extra["completion_tokens"])


@rewardsmith.reward("itest.crash", inline=True, reads=("completion",))
def crash_on_poison(sample: Sample) -> float:
    """Kills the process scoring it when the completion is ``POISON`` (inline: in the Ray
    actor itself); otherwise the completion's length."""
    if sample.completion_text == "POISON":
        os._exit(3)
    return float(len(sample.completion_text))


@rewardsmith.reward("itest.slow_marker", inline=True, reads=("completion", "extra"))
def slow_with_marker(sample: Sample) -> float:
    """Writes ``sample.extra['marker']`` (a path) on its first row, then takes 0.2 s a row:
    long enough for a test to lose a node while rows are being scored."""
    import time
    from pathlib import Path

    marker = Path(sample.extra["marker"])
    if not marker.exists():
        marker.write_text(str(os.getpid()))
    time.sleep(0.2)
    return float(len(sample.completion_text))

"""Rewards for the audit tests (tests/audit is on sys.path; subprocesses get it on PYTHONPATH)."""

from __future__ import annotations

import rewardsmith
from rewardsmith import Sample, Score


@rewardsmith.reward("audit_test.chars", inline=True, reads=("completion",))
def chars(sample: Sample) -> float:
    """A length-biased 'reward model': the completion's length in characters."""
    return float(len(sample.completion_text))


@rewardsmith.reward("audit_test.table", inline=True, reads=("completion", "extra"))
def table(sample: Sample) -> Score | float:
    """The score written in the completion itself (``"3.5"``); ``"fail"`` is a parse error."""
    text = sample.completion_text
    if text == "fail":
        return Score.fail("parse_error", "asked to fail")
    return float(text)

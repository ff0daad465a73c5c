"""Inline rewards that return what the row says, so shaping tests control every term value."""

from __future__ import annotations

import rewardsmith
from rewardsmith import Sample, Score


@rewardsmith.reward("test_shaping.field", inline=True, reads=("extra",))
def field(sample: Sample, *, name: str) -> Score | float:
    """The row's field ``name``: a number, ``"mask"`` (error), ``"timeout"``, ``"na"``, or a
    list of step scores (value = their mean, steps in info)."""
    value = sample.extra.get(name)
    if value == "error":
        return Score.fail("error", "row asked for an error")
    if value == "timeout":
        return Score.fail("timeout", "row asked for a timeout")
    if value == "na":
        return Score(status="not_applicable", reason="row asked for n/a")
    if isinstance(value, list):
        return Score(value=sum(value) / len(value), info={"steps": value})
    return float(value)

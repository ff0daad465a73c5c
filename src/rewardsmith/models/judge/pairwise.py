"""Pairwise comparison with position swap: ask A-vs-B and B-vs-A, keep only consistent wins.

LLM judges prefer the first (or second) position independently of content (Zheng et al. 2023,
MT-Bench: GPT-4 was consistent under swapping in ~65% of cases). Asking both orders and counting
a win only when both agree turns position bias into ties instead of into reward.

Example:
    >>> combine_verdicts("A", "B")  # first order says A, swapped order says B: A wins both times
    ('A', True)
    >>> combine_verdicts("A", "A")  # always the first position: position bias, not a preference
    ('tie', False)
"""

from __future__ import annotations

from typing import Literal

from rewardsmith.core.score import Score
from rewardsmith.models.judge.calls import JudgeSettings, RowUsage, ask
from rewardsmith.models.judge.parsing import parse_choice
from rewardsmith.models.judge.prompts import render

__all__ = ["Verdict", "combine_verdicts", "compare"]

Verdict = Literal["A", "B", "tie"]

_SWAPPED: dict[str, Verdict] = {"A": "B", "B": "A", "tie": "tie"}


def combine_verdicts(first: Verdict, swapped: Verdict) -> tuple[Verdict, bool]:
    """The verdict on (A, B) from the verdict on (A, B) and the one on (B, A).

    Returns the verdict and whether the two orders agreed. A disagreement is a tie.
    """
    second = _SWAPPED[swapped]  # map the swapped answer back to the original labels
    if first == second:
        return first, True
    # Opposite wins (position bias) or a win in one order only (a weak preference): a tie.
    return "tie", False


async def compare(
    settings: JudgeSettings,
    template: str,
    prompt: str,
    a: str,
    b: str,
    usage: RowUsage,
    *,
    swap: bool = True,
) -> tuple[Verdict, dict[str, object]] | Score:
    """Which of ``a`` and ``b`` the judge prefers; a failure `Score` when a call fails."""
    first: Verdict | Score = await ask(
        settings, render(template, prompt=prompt, a=a, b=b), parse_choice, usage
    )
    if isinstance(first, Score):
        return first
    if not swap:
        return first, {"verdicts": [first]}
    swapped: Verdict | Score = await ask(
        settings, render(template, prompt=prompt, a=b, b=a), parse_choice, usage
    )
    if isinstance(swapped, Score):
        return swapped
    verdict, consistent = combine_verdicts(first, swapped)
    return verdict, {"verdicts": [first, swapped], "position_consistent": consistent}

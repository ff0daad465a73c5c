"""Checks that run before a judge is asked: answers no judge should be trusted to score.

LLM judges accept "master key" responses as correct: an empty answer, a lone colon or period,
or a bare reasoning opener such as "Solution", "Let's solve this problem step by step." or
"Thought process:" (Zhao et al. 2025, "One Token to Fool LLM-as-a-Judge", measured false
positive rates of 30-90% on such inputs across GPT-4o, Claude and open judges). These are caught
here by code, so the judge is never asked and the answer gets the bottom of the scale. The audit
issue probes judges for the rest.

Example:
    >>> guard_reason(" : ", GUARDS)
    'punctuation: the answer is only punctuation or symbols'
    >>> guard_reason("Let's solve this problem step by step.", GUARDS)
    'opener: the answer is only a reasoning opener'
    >>> guard_reason("The capital is Paris.", GUARDS) is None
    True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final, Literal

from rewardsmith.core.score import Score

__all__ = ["GUARDS", "OPENERS", "Guard", "guard_reason", "guard_score"]

Guard = Literal["empty", "punctuation", "opener"]
GUARDS: Final[tuple[Guard, ...]] = ("empty", "punctuation", "opener")

OPENERS: Final = frozenset(
    {
        "solution",
        "answer",
        "the answer is",
        "final answer",
        "thought process",
        "reasoning",
        "explanation",
        "let's think step by step",
        "lets think step by step",
        "let's solve this step by step",
        "let's solve this problem step by step",
        "let's solve the problem step by step",
        "let me think",
        "let me solve this step by step",
        "step 1",
        "here is the solution",
        "to solve this problem",
        "解",
        "解答",
        "答案",
        "かいせつ",
        "解説",
        "respuesta",
        "solución",
        "réponse",
        "lösung",
    }
)


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = text.replace("’", "'")
    text = re.sub(r"\s+", " ", text)
    return text.strip(" \t\n:.,;!-—*#>\"'`()[]{}")


def guard_reason(text: str, guards: Iterable[Guard]) -> str | None:
    """Why ``text`` must not go to the judge, or None when it may."""
    enabled = set(guards)
    if "empty" in enabled and not text.strip():
        return "empty: the answer is empty"
    if (
        "punctuation" in enabled
        and text.strip()
        and all(not unicodedata.category(ch).startswith(("L", "N")) for ch in text)
    ):
        return "punctuation: the answer is only punctuation or symbols"
    if "opener" in enabled and _normalised(text) in OPENERS:
        return "opener: the answer is only a reasoning opener"
    return None


def guard_score(text: str, guards: Iterable[Guard], value: float) -> Score | None:
    """The ``value`` score of a guarded ``text`` (reason and ``info["guard"]`` name the guard).

    None when ``text`` may go to the judge.
    """
    blocked = guard_reason(text, guards)
    if blocked is None:
        return None
    return Score(value=value, reason=f"guard: {blocked}", info={"guard": blocked.split(":")[0]})

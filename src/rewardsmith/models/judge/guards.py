"""Checks that run before a judge is asked: answers no judge should be trusted to score.

LLM judges accept "master key" responses as correct: an empty answer, a lone colon or period,
or a bare reasoning opener such as "Solution", "Let's solve this problem step by step." or
"Thought process:" (Zhao et al. 2025, "One Token to Fool LLM-as-a-Judge", measured false
positive rates of 30-90% on such inputs across GPT-4o, Claude and open judges). These are caught
here by code, so the judge is never asked and the answer gets the bottom of the scale.

The ``opener`` guard learns from the probe families of `rewardsmith.models.judge.keys`
(openers, reasoning starters and sign-offs in nine languages): their phrases, split into
clauses, form a lexicon, and an answer is guarded when every clause of it (markdown, list
markers and section numbers removed) is in the lexicon, or when it is a short announcement
ending in a colon ("Here are the steps:"). So "Certainly! Here it is:" or "**Solution 1**" are
caught though neither is listed whole. ``rewardsmith audit probes`` measures what the judge
pays with guards off and on; phrases that still get through can be added per term with the
judge's ``guard_phrases`` param.

Example:
    >>> guard_reason(" : ", GUARDS)
    'punctuation: the answer is only punctuation or symbols'
    >>> guard_reason("Let's solve this problem step by step.", GUARDS)
    'opener: the answer is only a reasoning opener'
    >>> guard_reason("**Sure! Here it is:** Hope this helps!", GUARDS)
    'opener: the answer is only content-free phrases (openers, reasoning starters, sign-offs)'
    >>> guard_reason("The capital is Paris.", GUARDS) is None
    True
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final, Literal

from rewardsmith.core.score import Score
from rewardsmith.models.judge.keys import PHRASES

__all__ = ["GUARDS", "LEXICON", "OPENERS", "Guard", "clauses", "guard_reason", "guard_score"]

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


# Clause boundaries after NFKC (which turns the full-width ：；！？ into ASCII; 。 stays).
_CLAUSE_END: Final = re.compile(r"[.!?:;\n。]+")
_MARKUP: Final = re.compile(r"[*#>`_~|]+|^\s*(?:[-+•]|\d+[.)])\s+", re.M)
# Labels that take a section number ("Solution 1", "Step 2"); never "answer", whose number may
# be the answer itself.
_NUMBERED: Final = re.compile(
    r"^(solution|step|method|approach|part|case|reasoning|explanation|response|thought process)"
    r"\s*\d+$"
)
_ANNOUNCEMENT_WORDS: Final = 10


def clauses(text: str) -> list[str]:
    """The normalised clauses of ``text``: lower case, markup and section numbers removed.

    Example:
        >>> clauses("**Sure!** Here it is:\\n\\n### Solution 2")
        ['sure', 'here it is', 'solution']
    """
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = _MARKUP.sub(" ", text)
    out = []
    for raw in _CLAUSE_END.split(text):
        clause = re.sub(r"\s+", " ", raw).strip(" \t,—-\"'()[]{}")
        clause = _NUMBERED.sub(r"\1", clause)
        if clause:
            out.append(clause)
    return out


LEXICON: Final = frozenset(
    clause
    for languages in PHRASES.values()
    for phrases in languages.values()
    for phrase in phrases
    for clause in clauses(phrase)
) | frozenset(clause for opener in OPENERS for clause in clauses(opener))
"""Every clause of the content-free key phrases: what the ``opener`` guard refuses."""


def _known(clause: str, extra: frozenset[str]) -> bool:
    if clause in LEXICON or clause in extra:
        return True
    # A known phrase with a section number ("Step-by-step solution 2"), except "answer N".
    # Latin labels only: in "解 2" or "Ответ 2" the number may be the answer.
    numbered = re.fullmatch(r"([a-z' -]*[a-z])\s*\d+", clause)
    if numbered is None or "answer" in clause:
        return False
    label = numbered.group(1).strip()
    return label in LEXICON or label in extra


def _content_free(text: str, extra: frozenset[str]) -> bool:
    found = clauses(text)
    if not found:
        return False
    if all(_known(clause, extra) for clause in found):
        return True
    # An announcement of content that never comes: "Here are the three steps:".
    stripped = unicodedata.normalize("NFKC", text).strip().rstrip("*_ ")
    return stripped.endswith(":") and len(stripped.split()) <= _ANNOUNCEMENT_WORDS


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = text.replace("’", "'")
    text = re.sub(r"\s+", " ", text)
    return text.strip(" \t\n:.,;!-—*#>\"'`()[]{}")


def guard_reason(text: str, guards: Iterable[Guard], extra: Iterable[str] = ()) -> str | None:
    """Why ``text`` must not go to the judge, or None when it may.

    ``extra`` adds content-free phrases to the ``opener`` guard's lexicon (each is split into
    clauses like the built-in phrases).
    """
    enabled = set(guards)
    if "empty" in enabled and not text.strip():
        return "empty: the answer is empty"
    if (
        "punctuation" in enabled
        and text.strip()
        and all(not unicodedata.category(ch).startswith(("L", "N")) for ch in text)
    ):
        return "punctuation: the answer is only punctuation or symbols"
    if "opener" in enabled:
        if _normalised(text) in OPENERS:
            return "opener: the answer is only a reasoning opener"
        learned = frozenset(clause for phrase in extra for clause in clauses(phrase))
        if _content_free(text, learned):
            return (
                "opener: the answer is only content-free phrases "
                "(openers, reasoning starters, sign-offs)"
            )
    return None


def guard_score(
    text: str, guards: Iterable[Guard], value: float, extra: Iterable[str] = ()
) -> Score | None:
    """The ``value`` score of a guarded ``text`` (reason and ``info["guard"]`` name the guard).

    None when ``text`` may go to the judge; ``extra`` as in `guard_reason`.
    """
    blocked = guard_reason(text, guards, extra)
    if blocked is None:
        return None
    return Score(value=value, reason=f"guard: {blocked}", info={"guard": blocked.split(":")[0]})

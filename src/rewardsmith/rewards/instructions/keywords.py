"""Keyword instructions: required keywords, keyword frequency, forbidden words, letter counts.

Required keywords (``existence``, ``frequency`` with ``at least``) are looked for outside code
unless the reward's ``keywords_in_code`` is on: a policy that stuffs the keywords into a code
block or an inline code span has not used them in its answer. Forbidden words and ``less than``
bounds always look at the whole text, code included, so code cannot hide them either.

Example:
    >>> from rewardsmith.rewards.instructions.registry import Context
    >>> existence("Paris is lovely in spring.", Context(), keywords=["paris", "spring"])
    Verdict(followed=True, detail='')
    >>> existence("Nice.\\n```\\nparis spring\\n```", Context(), keywords=["paris"])
    Verdict(followed=False, detail="missing keywords: ['paris']")
"""

from __future__ import annotations

import functools
import re
from typing import Any, ClassVar

from rewardsmith.core.params import CheckedParam, NonNegativeInt
from rewardsmith.rewards.instructions.counting import without_code
from rewardsmith.rewards.instructions.registry import (
    Context,
    Phrase,
    Phrases,
    Relation,
    Verdict,
    checker,
    compare,
)

__all__ = ["existence", "forbidden_words", "frequency", "letter_frequency"]


class Letter(str, CheckedParam):
    """One character to count, such as ``"e"``; IFEval's data also asks for ``"#"`` and ``"!"``."""

    base: ClassVar[Any] = str

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if len(value) != 1 or value.isspace():
            raise ValueError(f"expected one character, got {value[:20]!r}")
        return value


def _searchable(text: str, context: Context) -> str:
    if context.keywords_in_code or context.ifeval_compat:
        return text.casefold()
    prose = without_code(text)
    # A response that is nothing but code (a fenced JSON answer, which json_format accepts) is
    # the answer itself: its keywords count. Otherwise code cannot carry required keywords.
    return (prose if prose.strip() else text).casefold()


@functools.lru_cache(maxsize=1024)
def _as_regex(keyword: str) -> re.Pattern[str] | None:
    """IFEval's reading of a keyword: a regular expression (None when it does not compile)."""
    try:
        return re.compile(keyword, re.IGNORECASE)
    except re.error:
        return None


def _count(keyword: str, haystack: str, context: Context) -> int:
    """Non-overlapping occurrences: literal text, or IFEval's regex under ``ifeval_compat``."""
    pattern = _as_regex(keyword) if context.ifeval_compat else None
    if pattern is not None:
        return sum(1 for _ in pattern.finditer(haystack))
    return haystack.count(keyword.casefold())


@checker("keywords:existence")
def existence(text: str, context: Context, *, keywords: Phrases) -> Verdict:
    """Every keyword appears (case-insensitive substring).

    IFEval reads a keyword as a regular expression; ``ifeval_compat`` does too. By default it is
    literal text, so ``C++`` or ``U.S.`` in a reference means what it says.
    """
    haystack = _searchable(text, context)
    missing = []
    for keyword in keywords:
        needle = keyword.strip()
        pattern = _as_regex(needle) if context.ifeval_compat else None
        found = pattern.search(haystack) if pattern is not None else needle.casefold() in haystack
        if not found:
            missing.append(keyword)
    return Verdict(not missing, f"missing keywords: {missing[:10]}" if missing else "")


@checker("keywords:frequency")
def frequency(
    text: str, context: Context, *, keyword: Phrase, frequency: NonNegativeInt, relation: Relation
) -> Verdict:
    """A keyword appears ``less than`` / ``at least`` ``frequency`` times (non-overlapping)."""
    haystack = _searchable(text, context) if relation == "at least" else text.casefold()
    count = _count(keyword.strip(), haystack, context)
    followed = compare(count, relation, frequency)
    return Verdict(
        followed, "" if followed else f"{keyword!r} {count} times, needs {relation} {frequency}"
    )


@functools.lru_cache(maxsize=1024)
def _whole_word(word: str) -> re.Pattern[str]:
    return re.compile(r"\b" + re.escape(word) + r"\b", re.IGNORECASE)


@checker("keywords:forbidden_words")
def forbidden_words(text: str, context: Context, *, forbidden_words: Phrases) -> Verdict:
    """None of the words appears as a whole word (case-insensitive), code included."""
    found = [w for w in forbidden_words if _whole_word(w.strip()).search(text)]
    return Verdict(not found, f"forbidden words used: {found[:10]}" if found else "")


@checker("keywords:letter_frequency")
def letter_frequency(
    text: str,
    context: Context,
    *,
    letter: Letter,
    let_frequency: NonNegativeInt,
    let_relation: Relation,
) -> Verdict:
    """A character appears ``less than`` / ``at least`` ``let_frequency`` times (any case).

    Any single character may be counted (``#`` for hashtags). IFEval accepts only a-z and
    silently checks a random letter instead of any other character, so its verdict on such a
    row is random; this counts the character asked for, with or without ``ifeval_compat``.
    """
    count = text.lower().count(letter.lower())
    followed = compare(count, let_relation, let_frequency)
    detail = "" if followed else f"{letter!r} {count} times, needs {let_relation} {let_frequency}"
    return Verdict(followed, detail)

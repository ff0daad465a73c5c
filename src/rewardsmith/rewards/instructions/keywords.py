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
from rewardsmith.rewards.params import CheckedParam, NonNegativeInt

__all__ = ["existence", "forbidden_words", "frequency", "letter_frequency"]


class Letter(str, CheckedParam):
    """One letter, such as ``"e"``."""

    base: ClassVar[Any] = str

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if len(value) != 1 or not value.isalpha():
            raise ValueError(f"expected one letter, got {value[:20]!r}")
        return value


def _searchable(text: str, context: Context) -> str:
    return (text if context.keywords_in_code else without_code(text)).casefold()


@checker("keywords:existence")
def existence(text: str, context: Context, *, keywords: Phrases) -> Verdict:
    """Every keyword appears (case-insensitive substring, as IFEval)."""
    haystack = _searchable(text, context)
    missing = [k for k in keywords if k.strip().casefold() not in haystack]
    return Verdict(not missing, f"missing keywords: {missing[:10]}" if missing else "")


@checker("keywords:frequency")
def frequency(
    text: str, context: Context, *, keyword: Phrase, frequency: NonNegativeInt, relation: Relation
) -> Verdict:
    """A keyword appears ``less than`` / ``at least`` ``frequency`` times (non-overlapping)."""
    needle = keyword.strip().casefold()
    haystack = _searchable(text, context) if relation == "at least" else text.casefold()
    count = haystack.count(needle)
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
    """A letter appears ``less than`` / ``at least`` ``let_frequency`` times (any case)."""
    count = text.casefold().count(letter.casefold())
    followed = compare(count, let_relation, let_frequency)
    detail = "" if followed else f"{letter!r} {count} times, needs {let_relation} {let_frequency}"
    return Verdict(followed, detail)

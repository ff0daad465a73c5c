"""`Score`: what a reward says about one sample, and the statuses it can carry."""

from __future__ import annotations

import math
from typing import Any, Final, Literal

import msgspec

__all__ = ["FAILURE_STATUSES", "STATUSES", "Score", "Status", "coerce_score"]

Status = Literal[
    "ok", "not_applicable", "invalid_reference", "parse_error", "timeout", "error", "refused"
]

STATUSES: Final[tuple[str, ...]] = (
    "ok",
    "not_applicable",
    "invalid_reference",
    "parse_error",
    "timeout",
    "error",
    "refused",
)
FAILURE_STATUSES: Final[tuple[str, ...]] = STATUSES[1:]


class Score(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The result of one reward on one sample.

    ``value`` is ``None`` whenever the reward could not produce a number; ``status`` then says
    why. A failure is never silently ``0.0``: the spec's status policy decides what training sees.

    Example:
        >>> Score(value=1.0).status
        'ok'
        >>> Score.fail("parse_error", "no \\\\boxed{} answer").value is None
        True
    """

    value: float | None = None
    status: Status = "ok"
    reason: str = ""
    components: dict[str, float] = msgspec.field(default_factory=dict)
    info: dict[str, Any] = msgspec.field(default_factory=dict)
    latency_s: float = 0.0

    @classmethod
    def fail(cls, status: Status, reason: str, **info: Any) -> Score:
        """A score with no value, a non-ok status and a reason."""
        if status == "ok":
            raise ValueError("Score.fail needs a failure status, not 'ok'")
        return cls(value=None, status=status, reason=reason, info=dict(info))

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def coerce_score(result: object, reward_name: str) -> Score:
    """Turn what a reward returned into a `Score`, refusing anything that is not a real number.

    A reward may return a float, an int, a bool or a `Score`. NaN, infinities, ``None`` with an ok
    status and other types become ``status="error"`` with a reason naming the reward, so a broken
    reward shows up in the status counts instead of as a plausible number.
    """
    if type(result) is Score and not result.components:
        # The common cases, settled without the general checks below: an ok finite float,
        # or a failure without a value. (`v - v` is 0.0 for a finite float, NaN otherwise.)
        value = result.value
        if result.status == "ok":
            if type(value) is float and value - value == 0.0:
                return result
        elif value is None:
            return result
    if isinstance(result, Score):
        if result.status == "ok":
            problem = _number_problem(result.value)
            if problem:
                return Score.fail("error", f"reward {reward_name!r} returned {problem}")
            result.value = float(result.value)  # type: ignore[arg-type]
        elif result.value is not None:
            result.value = None
        for key, value in result.components.items():
            problem = _number_problem(value)
            if problem:
                return Score.fail(
                    "error", f"reward {reward_name!r} returned component {key!r} = {problem}"
                )
        return result
    problem = _number_problem(result)
    if problem:
        return Score.fail("error", f"reward {reward_name!r} returned {problem}")
    return Score(value=float(result))  # type: ignore[arg-type]


def _number_problem(value: object) -> str | None:
    """Why ``value`` is not a finite real number, or None when it is one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if abs(value) <= _FLOAT_MAX_INT else "an integer too large for a float"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return f"an infinite value ({value})"
        return None
    return f"{type(value).__name__} {_short_repr(value)}, expected a float or a Score"


_FLOAT_MAX_INT: Final = int(1.7976931348623157e308)


def _short_repr(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

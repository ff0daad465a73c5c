from __future__ import annotations

import pytest

from rewardsmith import Score
from rewardsmith.core.score import coerce_score


@pytest.mark.parametrize("value", [1, 0.5, True, -3])
def test_numbers_become_ok_scores(value: object) -> None:
    score = coerce_score(value, "r")
    assert score.status == "ok"
    assert score.value == float(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (float("nan"), "NaN"),
        (float("-inf"), "infinite"),
        ("1.0", "str '1.0'"),
        (None, "NoneType"),
        ([1.0], "list"),
        (10**400, "too large"),
        (Score(value=float("nan")), "NaN"),
        (Score(value=None), "NoneType"),
        (Score(value=1.0, components={"a": float("nan")}), "component 'a'"),
    ],
)
def test_non_numbers_become_errors_naming_the_reward(value: object, fragment: str) -> None:
    score = coerce_score(value, "my.reward")
    assert score.status == "error"
    assert score.value is None
    assert "my.reward" in score.reason
    assert fragment in score.reason


def test_failed_score_never_carries_a_value() -> None:
    score = coerce_score(Score(value=1.0, status="timeout", reason="slow"), "r")
    assert score.value is None
    assert score.status == "timeout"


def test_fail_refuses_ok_status() -> None:
    with pytest.raises(ValueError):
        Score.fail("ok", "nothing wrong")  # type: ignore[arg-type]

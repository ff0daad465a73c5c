"""A response that denies or hedges its answer is not paid for it (audit probe finding)."""

from __future__ import annotations

import pytest

from rewardsmith.rewards.math import verify


@pytest.mark.parametrize(
    "response",
    [
        "The answer is not 420.",
        "The answer isn't 420",
        "It is definitely not 420",
        "The answer is not \\boxed{420}",
        "I think 3 or 420",
        "x = 420 is wrong",
        "$x = 420$ is wrong.",
        "The final answer is not $420$.",
    ],
)
def test_denied_or_hedged_answers_are_parse_errors(response: str) -> None:
    verdict = verify("420", response)
    assert not verdict.equal
    assert verdict.status == "parse_error"
    assert "negates or hedges" in verdict.reason


@pytest.mark.parametrize(
    "response",
    [
        "The answer is 420.",
        "It is not 3. The answer is 420.",
        "Thus \\boxed{420}.",
        "so we get 420",
        "The final answer is $420$. I hope it is correct.",
        "420 is not prime, and the answer is \\boxed{420}.",
    ],
)
def test_plain_answers_are_still_read(response: str) -> None:
    assert verify("420", response).equal

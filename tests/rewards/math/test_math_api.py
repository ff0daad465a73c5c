"""The public names of rewardsmith.rewards.math are a contract."""

from __future__ import annotations

import rewardsmith.rewards.math as math_reward


def test_exported_names():
    assert set(math_reward.__all__) == {
        "DEFAULT_RULES",
        "LLMCheck",
        "MathConfig",
        "Parsed",
        "Verdict",
        "extract_answer",
        "math_answer",
        "math_fast_path",
        "parse",
        "verify",
    }
    for name in math_reward.__all__:
        assert hasattr(math_reward, name)


def test_verdict_is_truthy_when_equal():
    assert math_reward.verify("2", r"\boxed{2}")
    assert not math_reward.verify("2", r"\boxed{3}")

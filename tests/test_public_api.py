"""The flat public namespace is a contract: adding a name is a decision, removing one breaks users."""

from __future__ import annotations

import rewardsmith

EXPECTED = {
    "STATUSES",
    "Engine",
    "EngineError",
    "InputError",
    "Limits",
    "Registry",
    "RegistryError",
    "Reward",
    "RewardFailedError",
    "RewardsmithError",
    "Sample",
    "Score",
    "ScoredBatch",
    "Spec",
    "SpecError",
    "StatusPolicy",
    "TermSpec",
    "TransientError",
    "__version__",
    "ascore",
    "get_reward",
    "list_rewards",
    "load_spec",
    "reward",
    "score",
}


def test_exported_names_are_pinned() -> None:
    assert set(rewardsmith.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(rewardsmith, name), name

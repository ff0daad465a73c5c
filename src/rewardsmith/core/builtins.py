"""Where each built-in reward lives, so the registry imports a module only when it is used.

Add a line here when a new built-in reward module registers a name; name it by the rule in
docs/spec.md ("Reward names"), which tests/core/test_registry.py checks.
"""

from __future__ import annotations

from typing import Final

BUILTIN_REWARDS: Final[dict[str, str]] = {
    "exact_match": "rewardsmith.rewards.text",
    "f1": "rewardsmith.rewards.text",
    "regex": "rewardsmith.rewards.text",
    "choice": "rewardsmith.rewards.choice",
    "format.tags": "rewardsmith.rewards.format",
    "json_schema": "rewardsmith.rewards.format",
    "length": "rewardsmith.rewards.length",
    "repetition": "rewardsmith.rewards.length",
    "math": "rewardsmith.rewards.math",
    "code": "rewardsmith.rewards.code",
    "rm": "rewardsmith.models.bt.reward",
    "prm": "rewardsmith.models.prm",
    "dpo.implicit": "rewardsmith.models.implicit",
    "likelihood": "rewardsmith.models.likelihood",
    "self_certainty": "rewardsmith.models.certainty",
    "judge": "rewardsmith.models.judge.reward",
    "judge.rubric": "rewardsmith.models.judge.rubric",
    "vlm.clip": "rewardsmith.models.vlm.reward",
    "tools": "rewardsmith.rewards.tools",
    "instructions": "rewardsmith.rewards.instructions",
    "sql": "rewardsmith.rewards.sql",
    "text": "rewardsmith.rewards.similarity",
    "group.majority_vote": "rewardsmith.shaping.group",
}

BUILTIN_ALIASES: Final[dict[str, str]] = {
    # The names the naming rule (docs/spec.md, "Reward names") gives rewards that were first
    # published under another name. The reward keeps reporting its first name: run logs, caches
    # and resumed runs record it, so renaming it would rescore every logged row.
    "text.exact_match": "exact_match",
    "text.f1": "f1",
    "text.regex": "regex",
    "format.json_schema": "json_schema",
    "length.repetition": "repetition",
}

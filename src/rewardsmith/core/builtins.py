"""Where each built-in reward lives, so the registry imports a module only when it is used.

Add a line here when a new built-in reward module registers a name.
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
}

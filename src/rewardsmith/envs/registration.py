"""Gymnasium ids for the bundled gridworlds: ``rewardsmith/GridGoal-v0``, ``rewardsmith/GridABC-v0``.

Importing this module registers them (once).

Example:
    >>> import gymnasium as gym
    >>> gym.make("rewardsmith/GridGoal-v0").unwrapped.layout[0]
    'S....'
"""

from __future__ import annotations

import gymnasium as gym

__all__ = ["IDS"]

IDS = {"rewardsmith/GridGoal-v0": "goal", "rewardsmith/GridABC-v0": "abc"}
"""Registered id -> bundled task name."""

for _id, _task in IDS.items():
    if _id not in gym.registry:
        gym.register(
            id=_id,
            entry_point="rewardsmith.envs.gridworld:make_task",
            kwargs={"name": _task},
            disable_env_checker=True,
        )

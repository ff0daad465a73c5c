"""Deprecated: the Gymnasium wrappers moved to `rewardsmith.envs.wrappers`.

Importing this module warns (`DeprecationWarning`) and re-exports the wrappers under their old
names; ``TransformReward`` is now `ApplyRewardTransform` (the old name is also a different
class, ``gymnasium.wrappers.TransformReward``). Remove this module in the next minor release;
until then it is the one import from shaping up into envs that tests/test_layers.py allows.
"""

from __future__ import annotations

import warnings

from rewardsmith.envs.wrappers import ApplyRewardTransform, CombineReward, ShapeReward, TermFn

__all__ = ["CombineReward", "ShapeReward", "TermFn", "TransformReward"]

TransformReward = ApplyRewardTransform
"""Old name of `ApplyRewardTransform`."""

warnings.warn(
    "rewardsmith.shaping.gym_wrappers is deprecated: import CombineReward, ShapeReward and "
    "ApplyRewardTransform (formerly TransformReward) from rewardsmith.envs.wrappers",
    DeprecationWarning,
    stacklevel=2,
)

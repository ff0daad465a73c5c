"""Rewards for Gymnasium environments: reward machines, intrinsic bonuses, reward wrappers
(combine, transform, potential shaping), bundled gridworlds, a tabular learner, and the LLM
reward-design loop (`rewardsmith.envs.design`).

Needs the ``[gym]`` extra (``pip install 'rewardsmith[gym]'``). Names load on first use, so
``import rewardsmith.envs`` (the CLI does) costs nothing until one is touched. See
docs/design.md.

Example:
    >>> from rewardsmith.envs import RewardMachine
    >>> rm = RewardMachine.from_toml('''
    ... initial = "start"
    ... accepting = ["done"]
    ... [[transitions]]
    ... from = "start"
    ... when = "A"
    ... to = "done"
    ... reward = 1.0
    ... ''')
    >>> rm.step("start", {"A"})
    ('done', 1.0)
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [  # noqa: RUF022  (grouped by concern, not sorted)
    # reward machines
    "RMTransition",
    "RewardMachine",
    "RewardMachineEnv",
    "parse_condition",
    # intrinsic rewards
    "CountBonus",
    "Decay",
    "RNDBonus",
    # environments
    "TASKS",
    "GridWorld",
    "TabularModel",
    "make_task",
    # learners
    "Evaluation",
    "PGConfig",
    "QLearningConfig",
    "QTable",
    "SoftmaxPolicy",
    "evaluate",
    "q_learning",
    "reinforce",
    # reward wrappers
    "ApplyRewardTransform",
    "CombineReward",
    "ShapeReward",
]

_HOMES = {
    "reward_machine": ("RMTransition", "RewardMachine", "RewardMachineEnv", "parse_condition"),
    "intrinsic": ("CountBonus", "Decay", "RNDBonus"),
    "gridworld": ("TASKS", "GridWorld", "TabularModel", "make_task"),
    "learners": (
        "Evaluation",
        "PGConfig",
        "QLearningConfig",
        "QTable",
        "SoftmaxPolicy",
        "evaluate",
        "q_learning",
        "reinforce",
    ),
    "wrappers": ("ApplyRewardTransform", "CombineReward", "ShapeReward"),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'rewardsmith.envs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rewardsmith.envs.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

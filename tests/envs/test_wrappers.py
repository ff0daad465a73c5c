"""Gymnasium wrappers, and the classic check: potential-based shaping leaves the optimal policy
of a tabular MDP unchanged, while a naive bonus changes it (Ng, Harada and Russell 1999)."""

from __future__ import annotations

import random
from typing import Any

import pytest

gym = pytest.importorskip("gymnasium", reason="needs the [gym] extra")

from rewardsmith.envs.wrappers import ApplyRewardTransform, CombineReward, ShapeReward  # noqa: E402

GAMMA = 0.9
STATES = 6
GOAL = STATES - 1


class Chain(gym.Env):  # type: ignore[misc]
    """States 0..5 on a line; 0 = left, 1 = right; entering 5 pays 10 and ends the episode;
    every other step costs 0.1. ``reset(options={"state": s})`` starts anywhere."""

    observation_space = gym.spaces.Discrete(STATES)
    action_space = gym.spaces.Discrete(2)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.state = (options or {}).get("state", 2)
        return self.state, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        self.state = max(0, min(GOAL, self.state + (1 if action == 1 else -1)))
        done = self.state == GOAL
        return self.state, 10.0 if done else -0.1, done, False, {}


def _q_values(env: gym.Env) -> dict[tuple[int, int], float]:
    """Value iteration on transitions read off the (wrapped) environment."""
    table = {}
    for state in range(GOAL):
        for action in (0, 1):
            env.reset(options={"state": state})
            next_state, reward, terminated, _, _ = env.step(action)
            table[state, action] = (float(reward), int(next_state), bool(terminated))
    q = {key: 0.0 for key in table}
    for _ in range(400):
        q = {
            (s, a): r + (0.0 if done else GAMMA * max(q[s2, 0], q[s2, 1]))
            for (s, a), (r, s2, done) in table.items()
        }
    return q


def _policy(q: dict[tuple[int, int], float]) -> list[int]:
    return [max((0, 1), key=lambda a: q[s, a]) for s in range(GOAL)]


def test_potential_shaping_preserves_the_optimal_policy() -> None:
    base_q = _q_values(Chain())
    assert _policy(base_q) == [1] * GOAL  # walk right to the goal
    rng = random.Random(7)
    potentials = [lambda s: 3.0 * (s == 1), lambda s: -2.0 * s, lambda s: 50.0 * (s % 2)]
    tables = [[rng.uniform(-20, 20) for _ in range(STATES)] for _ in range(10)]
    potentials += [table.__getitem__ for table in tables]
    for phi in potentials:
        shaped_q = _q_values(ShapeReward(Chain(), potential=phi, gamma=GAMMA))
        assert _policy(shaped_q) == _policy(base_q)
        # Ng et al.: Q_shaped(s, a) = Q(s, a) - Phi(s)
        for (state, action), value in base_q.items():
            assert shaped_q[state, action] == pytest.approx(value - phi(state), abs=1e-6)


def test_a_naive_bonus_changes_the_optimal_policy() -> None:
    # The same "be in state 1" signal as a plain bonus: looping 2 <-> 1 now beats the goal.
    bonus = CombineReward(
        Chain(), {"bonus": lambda obs, action, next_obs, reward, info: 3.0 * (next_obs == 1)}
    )
    assert _policy(_q_values(bonus))[2] == 0  # from state 2 it now walks away from the goal
    assert _policy(_q_values(bonus)) != _policy(_q_values(Chain()))


def test_wrappers_log_components_and_stack() -> None:
    env = CombineReward(
        Chain(),
        {"progress": lambda obs, action, next_obs, reward, info: float(next_obs - obs)},
        formula="env + 0.5 * progress",
    )
    env = ShapeReward(env, potential=lambda s: float(s), gamma=GAMMA)
    env.reset(options={"state": 3})
    _, reward, _, _, info = env.step(1)
    assert info["reward_components"] == pytest.approx(
        {"env": -0.1, "progress": 1.0, "shaping": GAMMA * 4 - 3}
    )
    assert reward == pytest.approx(-0.1 + 0.5 + GAMMA * 4 - 3)
    _, reward, terminated, _, info = env.step(1)  # into the goal: terminal potential is 0
    assert terminated and info["reward_components"]["shaping"] == pytest.approx(-4.0)


def test_transform_wrapper_keeps_and_restores_running_state() -> None:
    env = ApplyRewardTransform(Chain(), {"kind": "zscore"})
    env.reset()
    rewards = [env.step(1)[1] for _ in range(2)]
    assert rewards[0] == 0.0  # one value so far: its own mean
    saved = env.state_dict()
    assert saved["count"] == 2
    other = ApplyRewardTransform(Chain(), {"kind": "zscore"})
    other.load_state_dict(saved)
    env.reset()
    other.reset()
    assert env.step(0)[1] == other.step(0)[1]
    with pytest.raises(ValueError, match="reads row fields"):
        ApplyRewardTransform(Chain(), {"kind": "par", "ref_field": "refs"})
    with pytest.raises(ValueError, match="'env' names"):
        CombineReward(Chain(), {"env": lambda *args: 0.0})


def test_the_old_module_still_imports_with_a_deprecation_warning() -> None:
    import importlib
    import sys

    import rewardsmith.envs.wrappers as wrappers

    sys.modules.pop("rewardsmith.shaping.gym_wrappers", None)
    with pytest.warns(DeprecationWarning, match=r"rewardsmith\.envs\.wrappers"):
        old = importlib.import_module("rewardsmith.shaping.gym_wrappers")
    assert old.TransformReward is wrappers.ApplyRewardTransform
    assert old.CombineReward is wrappers.CombineReward
    assert old.ShapeReward is wrappers.ShapeReward
    assert old.TermFn is wrappers.TermFn

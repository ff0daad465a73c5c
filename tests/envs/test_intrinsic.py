"""Exploration bonuses against hand-computed values, decays, hashing, and components."""

from __future__ import annotations

import math

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium", reason="needs the [gym] extra")

from rewardsmith.envs import CountBonus, Decay, GridWorld, RNDBonus  # noqa: E402
from rewardsmith.envs.wrappers import ShapeReward  # noqa: E402

RIGHT, LEFT = 1, 3


def test_count_bonus_by_hand() -> None:
    env = CountBonus(GridWorld(["S..G"], rewards={"G": 1.0}), coef=0.5)
    env.reset(seed=0)
    got = []
    for action in [RIGHT, LEFT, RIGHT, RIGHT, RIGHT]:
        _, reward, _, _, info = env.step(action)
        got.append((round(reward, 6), info["reward_components"]))
    # cells visited: 1, 0(S), 1, 2, 3=G (env pays 1)
    assert got == [
        (0.5, {"env": 0.0, "count": 0.5}),
        (0.5, {"env": 0.0, "count": 0.5}),
        (round(0.5 / math.sqrt(2), 6), {"env": 0.0, "count": 0.5 / math.sqrt(2)}),
        (0.5, {"env": 0.0, "count": 0.5}),
        (1.5, {"env": 1.0, "count": 0.5}),
    ]
    assert env.counts == {1: 2, 0: 1, 2: 1, 3: 1}


def test_count_bonus_state_round_trip_and_decay() -> None:
    env = CountBonus(GridWorld(["S.."]), coef=Decay(1.0, end=0.0, steps=2))
    env.reset(seed=0)
    rewards = [env.step(RIGHT)[1] for _ in range(3)]
    assert rewards == pytest.approx([1.0, 0.5, 0.0])  # coef 1, 0.5, 0 by step
    state = env.state_dict()
    fresh = CountBonus(GridWorld(["S.."]), coef=Decay(1.0, end=0.0, steps=2))
    fresh.load_state_dict(state)
    assert fresh.counts == env.counts and fresh.t == 3


def test_decay_shapes_and_errors() -> None:
    linear = Decay(2.0, end=1.0, steps=4)
    assert [linear(t) for t in (0, 2, 4, 10)] == [2.0, 1.5, 1.0, 1.0]
    halving = Decay(1.0, end=0.0, steps=10, kind="exponential")
    assert [halving(t) for t in (0, 10, 20)] == [1.0, 0.5, 0.25]
    with pytest.raises(ValueError, match="steps must be positive"):
        Decay(1.0, steps=0)
    with pytest.raises(ValueError, match="kind"):
        Decay(1.0, kind="cosine")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        CountBonus(GridWorld(["S."]), coef=float("nan"))
    with pytest.raises(TypeError, match="coefficient"):
        CountBonus(GridWorld(["S."]), coef="big")  # type: ignore[arg-type]


def test_simhash_counts_nearby_continuous_observations_together() -> None:
    env = CountBonus(gym.make("MountainCar-v0"), coef=1.0, seed=0)
    assert env.hash_bits == 16
    a = np.array([-0.5, 0.0], dtype=np.float32)
    assert env.key(a) == env.key(a * 1.0001)  # a tiny move keeps the code
    assert env.key(a) != env.key(-a)  # the opposite direction flips every bit
    env.reset(seed=0)
    bonuses = [env.step(1)[4]["reward_components"]["count"] for _ in range(50)]
    assert bonuses[0] == 1.0 and min(bonuses) < 1.0  # codes repeat, so counts grow
    with pytest.raises(ValueError, match="hash_bits"):
        CountBonus(GridWorld(["S."]), hash_bits=8)
    with pytest.raises(ValueError, match=r"1\.\.62"):
        CountBonus(gym.make("MountainCar-v0"), hash_bits=0)


def test_rnd_bonus_falls_on_repeated_observations_and_stays_high_on_new_ones() -> None:
    env = RNDBonus(GridWorld(["S" + "." * 9]), coef=1.0, seed=0)
    env.reset(seed=0)
    first = env.step(RIGHT)[4]["reward_components"]["rnd"]
    # Bounce between cells 1 and 2 many times: their error shrinks.
    for _ in range(100):
        env.step(RIGHT)
        env.step(LEFT)
    familiar = env.step(RIGHT)[4]["reward_components"]["rnd"]  # cell 2
    for _ in range(5):
        env.step(RIGHT)
    novel = env.step(RIGHT)[4]["reward_components"]["rnd"]  # cell 8, never seen
    assert familiar < first / 5
    assert novel > 3 * familiar


def test_rnd_on_box_observations_and_components_stack() -> None:
    env = RNDBonus(CountBonus(gym.make("MountainCar-v0"), coef=0.1), coef=Decay(1.0, steps=10))
    env.reset(seed=0)
    _, reward, *_, info = env.step(1)
    parts = info["reward_components"]
    assert set(parts) == {"env", "count", "rnd"}
    assert reward == pytest.approx(sum(parts.values()))
    with pytest.raises(ValueError, match="features="):
        RNDBonus(gym.make("Blackjack-v1"))


def test_bonuses_compose_with_potential_shaping() -> None:
    env = ShapeReward(CountBonus(GridWorld(["S.."]), coef=1.0), potential=float, gamma=1.0)
    env.reset(seed=0)
    _, reward, *_, info = env.step(RIGHT)
    assert info["reward_components"] == {"env": 0.0, "count": 1.0, "shaping": 1.0}
    assert reward == 2.0

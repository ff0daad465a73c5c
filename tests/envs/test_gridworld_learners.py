"""Gridworlds, the tabular model, the Q-learner, the code screen and the envs namespace."""

from __future__ import annotations

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium", reason="needs the [gym] extra")

import rewardsmith.envs  # noqa: E402
from rewardsmith.envs import (  # noqa: E402
    GridWorld,
    QLearningConfig,
    evaluate,
    make_task,
    q_learning,
)
from rewardsmith.envs.design import extract_code, screen_code  # noqa: E402

UP, RIGHT, DOWN, LEFT = range(4)


def test_moves_walls_labels_and_ends() -> None:
    env = GridWorld(["S#G", ".L."], goal="G", trap="L", max_steps=5)
    obs, info = env.reset(seed=0)
    assert env.describe(obs) == {"row": 0, "col": 0, "cell": "S"} and info["labels"] == set()
    obs, _, terminated, _, _ = env.step(RIGHT)  # wall: stays
    assert env.describe(obs)["col"] == 0 and not terminated
    obs, _, _, _, _ = env.step(UP)  # off the grid: stays
    assert env.describe(obs)["row"] == 0
    env.step(DOWN)
    _, _reward, terminated, truncated, info = env.step(RIGHT)  # into lava
    assert terminated and not truncated and info == {"labels": {"L"}, "success": False}
    env.reset(seed=0)
    for _ in range(5):
        *_, truncated, _ = env.step(LEFT)
    assert truncated


def test_slip_and_tabular_model_agree() -> None:
    env = GridWorld(["S..", "..G"], goal="G", slip=0.4)
    model = env.tabular()
    assert np.allclose(model.transitions.sum(axis=2), 1.0)
    assert model.terminal.tolist() == [False] * 5 + [True]
    assert model.start[env.start_state] == 1.0
    # Empirical next-state frequencies from the start match the model.
    counts = np.zeros(model.n_states)
    env.reset(seed=1)
    for _ in range(4000):
        env.state = env.start_state
        obs, *_ = env.step(RIGHT)
        counts[obs] += 1
    assert np.allclose(counts / counts.sum(), model.transitions[env.start_state, RIGHT], atol=0.03)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layout": []}, "non-empty rows"),
        ({"layout": ["S..", ".."]}, "equal length"),
        ({"layout": ["..."]}, "exactly one start"),
        ({"layout": ["S?."]}, "unknown characters"),
        ({"layout": ["S.G"], "goal": "X"}, "goal names letters"),
        ({"layout": ["S.G"], "slip": 1.5}, "slip"),
        ({"layout": ["S.G"], "max_steps": 0}, "max_steps"),
    ],
)
def test_bad_layouts(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GridWorld(**kwargs)


def test_bad_actions_and_tasks() -> None:
    env = make_task("goal")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action 7"):
        env.step(7)
    with pytest.raises(ValueError, match="unknown gridworld task 'maze'"):
        make_task("maze")


def test_q_learning_solves_goal_with_env_reward_and_validates_config() -> None:
    env = make_task("goal", rewards={"G": 1.0, "L": -1.0})
    trained = q_learning(env, QLearningConfig(episodes=200, seed=0))
    result = evaluate(env, trained.q, episodes=2)
    assert result.success_rate == 1.0 and result.mean_length == 7.0  # the shortest path
    assert len(trained.returns) == 200
    # With no reward at all the greedy agent has nothing to go on.
    blind = q_learning(make_task("goal"), QLearningConfig(episodes=200, seed=0))
    assert evaluate(make_task("goal"), blind.q, episodes=5).success_rate < 1.0
    for bad in ({"episodes": 0}, {"alpha": 0.0}, {"gamma": 1.5}, {"epsilon": -0.1}):
        with pytest.raises(ValueError):
            QLearningConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Discrete action space"):
        q_learning(gym.make("MountainCarContinuous-v0"), QLearningConfig(episodes=1))


def test_reinforce_learns_cartpole_across_seeds() -> None:
    """A linear softmax policy trained with REINFORCE holds the pole far longer than chance.

    One seed's final length swings widely with numpy/gymnasium versions (157 to 500 steps for
    seeds 0-3 on one install), so the assertions are about what learning guarantees: every
    seed's late training episodes beat the random policy, and the mean over seeds does by a
    wide margin (measured over 12 seeds: mean 297, worst 98; random: about 22).
    """
    env = gym.make("CartPole-v1")
    rng = np.random.default_rng(0)
    random_lengths = []
    for episode in range(50):
        env.reset(seed=episode)
        steps, done = 0, False
        while not done:
            _, _, terminated, truncated, _ = env.step(int(rng.integers(2)))
            steps, done = steps + 1, terminated or truncated
        random_lengths.append(steps)
    chance = float(np.mean(random_lengths))
    assert 10 < chance < 40
    evaluated = []
    for seed in range(4):
        trained = rewardsmith.envs.reinforce(
            env, rewardsmith.envs.PGConfig(episodes=300, seed=seed)
        )
        assert np.mean(trained.returns[-50:]) > 3 * chance  # learning curve rose on every seed
        evaluated.append(evaluate(env, trained.policy, episodes=3).mean_length)
    assert np.mean(evaluated) > 5 * chance


def test_reinforce_on_a_gridworld_and_bad_input() -> None:
    env = GridWorld(["S...G"], goal="G", rewards={"G": 1.0})
    config = rewardsmith.envs.PGConfig(episodes=200, lr=0.1, gamma=0.9, seed=0)
    trained = rewardsmith.envs.reinforce(env, config)
    assert evaluate(env, trained.policy, episodes=1).success_rate == 1.0
    for bad in ({"episodes": 0}, {"lr": 0.0}, {"gamma": 2.0}, {"baseline_decay": 1.0}):
        with pytest.raises(ValueError):
            rewardsmith.envs.PGConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="features="):
        rewardsmith.envs.reinforce(gym.make("Blackjack-v1"), config)


def test_registered_ids() -> None:
    import rewardsmith.envs.registration  # noqa: F401

    env = gym.make("rewardsmith/GridABC-v0")
    assert env.unwrapped.layout == list(make_task("abc").layout)


def test_extract_code() -> None:
    block = "def compute_reward(o, a, n):\n    return 1.0\n"
    assert extract_code(f"text\n```python\n{block}```\nmore") == block
    assert extract_code(f"```py\nx = 1\n```\n```\n{block}```") == block  # the block with the def
    assert extract_code(block) == block  # a bare reply that is only code
    assert extract_code("no code here") is None
    assert extract_code("```python\ndef other():\n    pass\n```") is None


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import os\n", "imports module 'os'"),
        ("from subprocess import run\n", "imports from 'subprocess'"),
        ("from . import x\n", "imports from '.'"),
        ("def compute_reward(o, a, n):\n    return open('x')\n", "uses 'open'"),
        ("def compute_reward(o, a, n):\n    return eval('1')\n", "uses 'eval'"),
        ("def compute_reward(o, a, n):\n    return __import__('os')\n", "uses '__import__'"),
        ("def compute_reward(o, a, n):\n    return ().__class__\n", "attribute '__class__'"),
        ("def compute_reward(o, a, n):\n    global x\n    return 1\n", "uses global"),
        ("def compute_reward(o, a):\n    return 1\n", "three arguments"),
        ("def reward(o, a, n):\n    return 1\n", "defines no top-level function"),
        ("def compute_reward(o, a, n)\n    return 1\n", "syntax error"),
        ("x = 1\n" * 5000, "the limit is"),
    ],
)
def test_screen_refuses_with_a_reason(source: str, reason: str) -> None:
    assert any(reason in r for r in screen_code(source)), screen_code(source)


def test_screen_passes_plain_reward_code() -> None:
    source = (
        "import math\nfrom collections import Counter\n\n"
        "def compute_reward(obs, action, next_obs):\n"
        "    d = math.hypot(next_obs['row'], next_obs['col'])\n"
        "    return -d, {'distance': -d}\n"
    )
    assert screen_code(source) == []


def test_envs_namespace_is_pinned() -> None:
    assert sorted(rewardsmith.envs.__all__) == sorted(
        [
            "RMTransition", "RewardMachine", "RewardMachineEnv", "parse_condition",
            "CountBonus", "Decay", "RNDBonus",
            "TASKS", "GridWorld", "TabularModel", "make_task",
            "Evaluation", "PGConfig", "QLearningConfig", "QTable", "SoftmaxPolicy",
            "evaluate", "q_learning", "reinforce",
            "ApplyRewardTransform", "CombineReward", "ShapeReward",
        ]
    )  # fmt: skip
    for name in rewardsmith.envs.__all__:
        assert getattr(rewardsmith.envs, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        rewardsmith.envs.Nope  # noqa: B018


def _optimal_q(model: rewardsmith.envs.TabularModel, R: np.ndarray, gamma: float) -> np.ndarray:
    live = (~model.terminal).astype(float)  # no value after an end state
    q = np.zeros((model.n_states, model.n_actions))
    for _ in range(500):
        v = q.max(axis=1) * live
        q = np.einsum("sat,sat->sa", model.transitions, R + gamma * v[None, None, :])
    return q


def test_potential_shaping_keeps_the_optimal_policy_on_the_bundled_grid() -> None:
    """Ng et al. 1999 on `goal`: R + gamma*Phi(s') - Phi(s) (Phi = 0 at end states) has the
    same optimal actions as R for a random Phi; a plain bonus for cells near lava does not."""
    from rewardsmith.shaping.potential import PotentialShaping

    env, gamma = make_task("goal", slip=0.1), 0.9
    model = env.tabular()
    n = model.n_states
    letters = [env.letter(s) for s in range(n)]
    R = np.zeros((n, 4, n))
    R[:, :, [s for s in range(n) if letters[s] == "G"]] = 1.0
    R[:, :, [s for s in range(n) if letters[s] == "L"]] = -1.0
    phi = np.random.default_rng(0).normal(scale=3.0, size=n)
    shaping = PotentialShaping(lambda s: float(phi[s]), gamma)
    F = np.array(
        [
            [[shaping.term(s, t, terminated=bool(model.terminal[t])) for t in range(n)]] * 4
            for s in range(n)
        ]
    )
    live = ~model.terminal
    best = _optimal_q(model, R, gamma)[live].argmax(axis=1)
    shaped = _optimal_q(model, R + F, gamma)[live].argmax(axis=1)
    assert (best == shaped).all()
    bonus = np.zeros_like(R)
    bonus[:, :, [s for s in range(n) if letters[s] == "L"]] = 2.0  # "exciting" cells
    assert (_optimal_q(model, R + bonus, gamma)[live].argmax(axis=1) != best).any()

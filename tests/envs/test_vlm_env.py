"""VLM rewards in Gymnasium: the PixelTarget example, the single and vector wrappers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")

from rewardsmith.envs.learners import QLearningConfig, q_learning  # noqa: E402
from rewardsmith.envs.pixel_target import (  # noqa: E402
    BASELINE_PROMPT,
    GOAL_PROMPT,
    PixelTarget,
    PositionEncoder,
)
from rewardsmith.envs.vlm import VLMReward, VLMRewardVector  # noqa: E402
from rewardsmith.models.vlm import GoalReward  # noqa: E402

CELLS = [(row, col) for row in range(5) for col in range(5)]


class CountingEncoder(PositionEncoder):
    """Counts image batches, to check that frames are batched."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def embed_images(self, images: Any) -> np.ndarray:
        self.batches.append(len(images))
        return super().embed_images(images)


def _reward(alpha: float = 0.0, encoder: PositionEncoder | None = None) -> GoalReward:
    baseline = BASELINE_PROMPT if alpha > 0 else None
    return GoalReward(encoder or PositionEncoder(), GOAL_PROMPT, baseline, alpha=alpha)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_goal_prompt_ranks_the_goal_state_above_every_other(alpha: float) -> None:
    env = PixelTarget(render_mode="rgb_array")
    values = dict(zip(CELLS, _reward(alpha)([env.frame_at(c) for c in CELLS]), strict=True))
    goal = values.pop(env.goal)
    assert all(goal > other for other in values.values())
    # Closer (in moves) ranks higher along the diagonal away from the goal.
    diagonal = [values[(k, 4 - k)] for k in range(1, 5)]
    assert diagonal == sorted(diagonal, reverse=True)
    # A prompt for another corner moves the optimum there.
    other = GoalReward(PositionEncoder(), "a red square in the bottom left corner")
    scores = dict(zip(CELLS, other([env.frame_at(c) for c in CELLS]), strict=True))
    assert max(scores, key=scores.__getitem__) == (4, 0)


def test_wrapper_scores_the_rendered_frame_after_each_step() -> None:
    reward = _reward(alpha=0.5)
    env = VLMReward(PixelTarget(start=(2, 2), render_mode="rgb_array"), reward, weight=2.0)
    env.reset(seed=0)
    for action, cell in [(1, (2, 3)), (0, (1, 3)), (0, (0, 3)), (1, (0, 4)), (1, (0, 4))]:
        _, value, terminated, truncated, info = env.step(action)
        expected = float(reward([env.unwrapped.frame_at(cell)])[0])
        assert value == pytest.approx(2.0 * expected)
        assert info["reward_components"] == {"env": 0.0, "vlm": pytest.approx(expected)}
        assert not terminated and not truncated
    assert info["success"]  # on the goal, and staying there by walking into the wall


def test_wrapper_needs_rgb_frames() -> None:
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        VLMReward(PixelTarget(), _reward())


def test_running_normalisation_saves_and_restores() -> None:
    env = VLMReward(PixelTarget(render_mode="rgb_array"), _reward(), normalize=True)
    env.reset(seed=1)
    values = [float(env.step(a)[1]) for a in (1, 1, 0, 0, 2, 3)]
    assert values[0] == 0.0  # a first batch of one is its own mean
    state = env.state_dict()
    assert state["count"] == 6
    fresh = VLMReward(PixelTarget(start=(0, 4), render_mode="rgb_array"), _reward(), normalize=True)
    fresh.load_state_dict(state)
    fresh.reset(seed=0)
    # On the goal, the best frame there is: above the running mean.
    assert float(fresh.step(0)[1]) > 0.0
    assert fresh.state_dict()["count"] == 7


def test_vector_wrapper_scores_all_frames_in_one_batch() -> None:
    encoder = CountingEncoder()
    reward = _reward(encoder=encoder)
    envs = gym.vector.SyncVectorEnv(
        [lambda: PixelTarget(max_steps=3, render_mode="rgb_array") for _ in range(3)]
    )
    wrapped = VLMRewardVector(envs, reward)
    wrapped.reset(seed=0)
    encoder.batches.clear()
    for step in range(4):
        _, rewards, _, truncated, info = wrapped.step(np.array([1, 0, 2]))
        frames = envs.render()
        expected = reward(list(frames))
        encoder.batches.pop()  # the check's own call
        if step < 3:
            assert rewards == pytest.approx(expected)
            assert encoder.batches[-1] == 3  # one forward pass for the three frames
        else:
            # After truncation at step 3, every sub-env is auto-reset: no transition, no reward.
            assert rewards.tolist() == [0.0, 0.0, 0.0]
            assert len(encoder.batches) == 3  # and nothing was scored
        assert np.array_equal(info["vlm_reward"], rewards)
    assert truncated.tolist() == [False, False, False]


def test_pixel_target_is_registered() -> None:
    env = gym.make("rewardsmith/PixelTarget-v0", render_mode="rgb_array", size=4)
    env.reset(seed=0)
    assert env.render().shape == (32, 32, 3)


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_q_learning_on_the_vlm_reward_reaches_the_goal_and_stays(alpha: float) -> None:
    for seed in range(5):
        env = VLMReward(
            PixelTarget(max_steps=20, render_mode="rgb_array"), _reward(alpha), normalize=True
        )
        result = q_learning(env, QLearningConfig(episodes=400, seed=seed, gamma=0.9))
        rng = np.random.default_rng(0)
        ends = []
        for episode in range(10):
            obs, _ = env.reset(seed=1000 + episode)
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(result.q.act(obs, rng))
                done = terminated or truncated
            ends.append(bool(info["success"]))
        assert sum(ends) >= 8, (seed, ends)

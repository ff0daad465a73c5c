"""Gymnasium wrappers that reward the rendered frame with a vision-language model (VLM-RM).

Both wrappers render the environment after each step (``render_mode="rgb_array"``), score the
frame with a `rewardsmith.models.vlm.GoalReward` (goal prompt, baseline prompt, α), and return
``env_weight · env_reward + weight · vlm_reward``; by default the VLM reward replaces the
environment's, as in Rocamonde et al. 2023. With ``normalize=True`` the VLM reward goes
through a running z-score (`rewardsmith.shaping.transforms.RunningZScore`), whose statistics
save and restore with ``state_dict``.

- `VLMReward` wraps one environment: one frame, one forward pass per step.
- `VLMRewardVector` wraps a vector environment (``gym.make_vec(..., render_mode="rgb_array")``):
  the frames of all sub-environments go through the model in one batch per step. A
  sub-environment that is being auto-reset this step (Gymnasium's default next-step
  autoreset) shows its reset frame, not a transition, so it gets 0 like the environment's own
  reward.

Each adds its parts to ``info["reward_components"]`` (single env) or ``info["vlm_reward"]``
(vector env), like the wrappers in `rewardsmith.envs.wrappers`.

Example:
    >>> from rewardsmith.envs.pixel_target import PixelTarget, PositionEncoder, GOAL_PROMPT
    >>> from rewardsmith.models.vlm import GoalReward
    >>> env = VLMReward(PixelTarget(start=(0, 3), render_mode="rgb_array"),
    ...                 GoalReward(PositionEncoder(), GOAL_PROMPT))
    >>> _ = env.reset(seed=0)
    >>> _, reward, _, _, info = env.step(1)  # right: into the top-right corner
    >>> info["success"], round(reward, 4), sorted(info["reward_components"])
    (True, 0.9987, ['env', 'vlm'])
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import numpy as np

from rewardsmith.models.vlm.goal import GoalReward
from rewardsmith.shaping.transforms import RunningZScore

try:
    import gymnasium as gym
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "rewardsmith.envs needs gymnasium: pip install 'rewardsmith[gym]'", name=exc.name
    ) from exc

__all__ = ["VLMReward", "VLMRewardVector"]


def _check_render_mode(env: Any) -> None:
    mode = getattr(env, "render_mode", None)
    if mode != "rgb_array":
        raise ValueError(
            f"a VLM reward needs frames: make the environment with render_mode='rgb_array' "
            f"(it has {mode!r})"
        )


class _Scaled:
    """The parts both wrappers share: weights and the optional running normalisation."""

    def __init__(self, reward: GoalReward, weight: float, env_weight: float, normalize: bool):
        self.reward = reward
        self.weight, self.env_weight = weight, env_weight
        self.normalizer = RunningZScore() if normalize else None

    def score(self, frames: list[Any]) -> np.ndarray:
        values = self.reward(frames)
        if self.normalizer is None or len(values) == 0:
            return values
        self.normalizer.observe([float(v) for v in values])
        return np.array([self.normalizer.apply(float(v)) for v in values])

    def state_dict(self) -> dict[str, Any]:
        return self.normalizer.state_dict() if self.normalizer is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.normalizer is not None:
            self.normalizer.load_state_dict(state)


class VLMReward(gym.Wrapper):  # type: ignore[misc]
    """Reward each step by how well the rendered frame matches a goal prompt.

    Args:
        env: an environment made with ``render_mode="rgb_array"``.
        reward: the goal reward (encoder, goal and baseline prompts, α, batch size).
        weight: multiplier of the VLM reward.
        env_weight: multiplier of the environment's own reward (0: replaced).
        normalize: pass the VLM reward through a running z-score.
    """

    def __init__(
        self,
        env: gym.Env,
        reward: GoalReward,
        *,
        weight: float = 1.0,
        env_weight: float = 0.0,
        normalize: bool = False,
    ) -> None:
        super().__init__(env)
        _check_render_mode(env)
        self.scaled = _Scaled(reward, weight, env_weight, normalize)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        value = float(self.scaled.score([self.env.render()])[0])
        components = info.setdefault("reward_components", {"env": float(env_reward)})
        components["vlm"] = value
        total = self.scaled.env_weight * float(env_reward) + self.scaled.weight * value
        return obs, total, terminated, truncated, info

    def state_dict(self) -> dict[str, Any]:
        """The running normalisation's statistics (empty without ``normalize``)."""
        return self.scaled.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore statistics saved by `state_dict`."""
        self.scaled.load_state_dict(state)


class VLMRewardVector(gym.vector.VectorWrapper):  # type: ignore[misc]
    """`VLMReward` for a vector environment: all sub-environments' frames in one batch.

    Args:
        env: a vector environment made with ``render_mode="rgb_array"`` whose ``render()``
            returns one frame per sub-environment (``SyncVectorEnv`` and ``AsyncVectorEnv`` do).
        reward, weight, env_weight, normalize: as for `VLMReward`.
    """

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        reward: GoalReward,
        *,
        weight: float = 1.0,
        env_weight: float = 0.0,
        normalize: bool = False,
    ) -> None:
        super().__init__(env)
        _check_render_mode(env)
        mode = env.metadata.get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP)
        if mode != gym.vector.AutoresetMode.NEXT_STEP:
            raise ValueError(f"only next-step autoreset is supported, not {mode}")
        self.scaled = _Scaled(reward, weight, env_weight, normalize)
        self._resetting = np.zeros(env.num_envs, dtype=bool)

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self._resetting = np.zeros(self.num_envs, dtype=bool)
        return self.env.reset(**kwargs)

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        obs, env_rewards, terminated, truncated, info = self.env.step(actions)
        rendered = self.env.render()
        if rendered is None:
            raise RuntimeError(
                "the vector environment rendered nothing: is render_mode 'rgb_array'?"
            )
        frames = list(rendered)
        live = [i for i in range(self.num_envs) if not self._resetting[i]]
        values = np.zeros(self.num_envs)
        if live:
            values[live] = self.scaled.score([frames[i] for i in live])
        self._resetting = np.logical_or(terminated, truncated)
        info = dict(info)
        info["vlm_reward"] = values
        rewards = self.scaled.env_weight * np.asarray(env_rewards, dtype=np.float64)
        return obs, rewards + self.scaled.weight * values, terminated, truncated, info

    def state_dict(self) -> dict[str, Any]:
        """The running normalisation's statistics (empty without ``normalize``)."""
        return self.scaled.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore statistics saved by `state_dict`."""
        self.scaled.load_state_dict(state)

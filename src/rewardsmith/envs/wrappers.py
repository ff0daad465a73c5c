"""Gymnasium reward wrappers: combine reward terms, transform, and potential-shape rewards.

Each wrapper adds what it did to ``info["reward_components"]`` (a dict it creates or extends),
so a training loop can log every part of the reward it trained on:

- `CombineReward`: named reward terms computed from the transition, plus the environment's own
  reward as ``env``, joined by a weighted sum or a `Formula`.
- `ApplyRewardTransform`: one of `rewardsmith.shaping.transforms` (or its spec table), per step;
  stateful transforms (running z-score, min-max) save and restore with ``state_dict``.
- `ShapeReward`: potential-based shaping ``gamma * Phi(s') - Phi(s)``, which leaves the optimal
  policy unchanged (Ng et al. 1999); ``Phi`` of a terminal state counts as 0.

Needs the ``[gym]`` extra (``pip install 'rewardsmith[gym]'``).

Example:
    >>> import gymnasium as gym
    >>> env = ShapeReward(gym.make("FrozenLake-v1", is_slippery=False), potential=lambda s: float(s), gamma=0.9)
    >>> _ = env.reset(seed=0)
    >>> _, reward, *_, info = env.step(2)  # right: state 0 -> 1
    >>> reward, info["reward_components"]
    (0.9, {'env': 0.0, 'shaping': 0.9})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, SupportsFloat

from rewardsmith.core.formula import Formula
from rewardsmith.core.shaping_spec import TransformSpec
from rewardsmith.shaping.potential import PotentialShaping
from rewardsmith.shaping.transforms import LogSigmoidCentered, Transform, build_transform

try:
    import gymnasium as gym
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "rewardsmith.envs.wrappers needs gymnasium: pip install 'rewardsmith[gym]'",
        name=exc.name,
    ) from exc

__all__ = ["ApplyRewardTransform", "CombineReward", "ShapeReward", "TermFn"]

TermFn = Callable[[Any, Any, Any, float, dict[str, Any]], float]
"""A reward term: ``fn(obs, action, next_obs, env_reward, info) -> float``."""


def _components(info: dict[str, Any], reward: float) -> dict[str, float]:
    found = info.get("reward_components")
    if not isinstance(found, dict):
        found = {"env": reward}
        info["reward_components"] = found
    return found


class CombineReward(gym.Wrapper):  # type: ignore[misc]
    """Replace the reward with a combination of named terms and the environment's reward.

    Args:
        env: the environment.
        terms: name -> ``fn(obs, action, next_obs, env_reward, info)``.
        weights: weight per name for the weighted sum (default 1.0 each, ``env`` included).
        formula: instead of the weighted sum, an expression over the names and ``env``.
    """

    def __init__(
        self,
        env: gym.Env,
        terms: Mapping[str, TermFn],
        *,
        weights: Mapping[str, float] | None = None,
        formula: str | None = None,
    ) -> None:
        super().__init__(env)
        if "env" in terms:
            raise ValueError("'env' names the environment's own reward; pick another term name")
        self.terms = dict(terms)
        self.weights = {"env": 1.0, **{name: 1.0 for name in self.terms}, **(weights or {})}
        unknown = set(self.weights) - set(self.terms) - {"env"}
        if unknown:
            raise ValueError(f"weights for unknown terms: {sorted(unknown)}")
        self.formula = Formula(formula, names=[*self.terms, "env"]) if formula else None
        self._obs: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        values = {"env": float(reward)}
        for name, fn in self.terms.items():
            values[name] = float(fn(self._obs, action, obs, float(reward), info))
        if self.formula is not None:
            total = self.formula(values)
        else:
            total = sum(self.weights[name] * value for name, value in values.items())
        _components(info, float(reward)).update(values)
        self._obs = obs
        return obs, total, terminated, truncated, info


class ApplyRewardTransform(gym.Wrapper):  # type: ignore[misc]
    """Map each step's reward through a transform (a `Transform` or its spec table).

    Stateful transforms update on every step's reward before mapping it. Transforms that read
    row fields (lsc with ``ref_field``, par, length_penalty, ppo_c) have no row here and are
    refused.
    """

    def __init__(self, env: gym.Env, transform: Transform | TransformSpec | dict[str, Any]) -> None:
        super().__init__(env)
        made = transform if isinstance(transform, Transform) else build_transform(transform)
        if made.needs_rows and not (
            isinstance(made, LogSigmoidCentered) and made.ref_field is None
        ):
            raise ValueError(
                f"{type(made).__name__} reads row fields, which a Gymnasium step does not have"
            )
        self.transform = made

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.transform.observe([float(reward)])
        shaped = self.transform.apply(float(reward))
        _components(info, float(reward))[f"transform.{type(self.transform).__name__}"] = shaped
        return obs, shaped, terminated, truncated, info

    def state_dict(self) -> dict[str, Any]:
        """The transform's statistics."""
        return self.transform.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore statistics saved by `state_dict`."""
        self.transform.load_state_dict(state)


class ShapeReward(gym.Wrapper):  # type: ignore[misc]
    """Add ``gamma * Phi(s') - Phi(s)`` to every reward (``Phi(s') = 0`` when terminated).

    Args:
        env: the environment.
        potential: ``Phi(observation) -> float``.
        gamma: the agent's discount; the optimal policy is preserved only for that discount.
    """

    def __init__(self, env: gym.Env, potential: Callable[[Any], float], gamma: float) -> None:
        super().__init__(env)
        self.shaping = PotentialShaping(potential, gamma)
        self._obs: Any = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._obs = obs
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        if self._obs is None:
            raise RuntimeError("call reset() before step()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        bonus = self.shaping.term(self._obs, obs, terminated=terminated)
        _components(info, float(reward))["shaping"] = bonus
        self._obs = obs
        return obs, float(reward) + bonus, terminated, truncated, info

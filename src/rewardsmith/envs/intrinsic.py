"""Exploration bonuses as Gymnasium wrappers: visit counts and random network distillation.

Each wrapper adds ``coef(t) * bonus`` to the environment's reward and records the bonus it
paid (already multiplied by the coefficient) in ``info["reward_components"]`` under its name,
next to ``env``, so the audit tools and a training log see every part of the reward.

- `CountBonus`: ``1 / sqrt(N(s'))`` (MBIE-EB style). Discrete or hashable observations are
  counted as they are; arrays are first hashed with SimHash (Tang et al. 2017, "#Exploration"):
  the signs of ``k`` random projections, so nearby observations share a count.
- `RNDBonus`: random network distillation (Burda et al. 2018): a fixed random network and a
  predictor trained online to match it; the prediction error is high on observations seen
  rarely. Errors are divided by their running RMS so the bonus has a stable scale.

Coefficients may be a number or a `Decay` over environment steps: exploration should fade
so the agent finally optimises the task reward alone.

Known failure modes: counts on raw continuous observations never repeat (every bonus is the
maximum); pass ``hash_bits``. RND's bonus is a function of the whole history, so the reward is
not stationary: an agent that stops exploring sees the bonus change under it.

Example:
    >>> from rewardsmith.envs.gridworld import GridWorld
    >>> env = CountBonus(GridWorld(["S.."]), coef=1.0)
    >>> _ = env.reset(seed=0)
    >>> [round(env.step(1)[1], 3) for _ in range(3)]  # cell 1, cell 2, cell 2 again
    [1.0, 1.0, 0.707]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal, SupportsFloat

import numpy as np

try:
    import gymnasium as gym
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "rewardsmith.envs needs gymnasium: pip install 'rewardsmith[gym]'", name=exc.name
    ) from exc

__all__ = ["CountBonus", "Decay", "RNDBonus"]


@dataclass(frozen=True)
class Decay:
    """A coefficient that decays with the step count ``t``.

    Example:
        >>> Decay(1.0, end=0.0, steps=10)(5), Decay(1.0, steps=10, kind="exponential")(10)
        (0.5, 0.5)
    """

    start: float
    """Value at step 0."""
    end: float = 0.0
    """Value approached (linear: reached at ``steps``)."""
    steps: int = 10_000
    """Linear: steps to reach ``end``; exponential: half-life in steps."""
    kind: Literal["linear", "exponential"] = "linear"
    """Shape of the decay."""

    def __post_init__(self) -> None:
        if self.steps <= 0:
            raise ValueError(f"Decay.steps must be positive, got {self.steps}")
        if self.kind not in ("linear", "exponential"):
            raise ValueError(f"Decay.kind must be 'linear' or 'exponential', got {self.kind!r}")

    def __call__(self, t: int) -> float:
        if self.kind == "linear":
            return self.start + (self.end - self.start) * min(t / self.steps, 1.0)
        return self.end + (self.start - self.end) * 0.5 ** (t / self.steps)


Coef = float | Decay | Callable[[int], float]


def _schedule(coef: Coef) -> Callable[[int], float]:
    if isinstance(coef, (int, float)):
        if not math.isfinite(coef):
            raise ValueError(f"coefficient must be finite, got {coef}")
        value = float(coef)
        return lambda t: value
    if callable(coef):
        return coef
    raise TypeError(f"coefficient must be a number, a Decay or a callable, got {coef!r}")


def _components(info: dict[str, Any], reward: float) -> dict[str, float]:
    found = info.get("reward_components")
    if not isinstance(found, dict):
        found = info["reward_components"] = {"env": reward}
    return found


class _Bonus(gym.Wrapper):  # type: ignore[misc]
    name = "bonus"

    def __init__(self, env: gym.Env, coef: Coef) -> None:
        super().__init__(env)
        self.coef = _schedule(coef)
        self.t = 0

    def bonus(self, obs: Any) -> float:
        raise NotImplementedError

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        paid = self.coef(self.t) * self.bonus(obs)
        self.t += 1
        _components(info, float(reward))[self.name] = paid
        return obs, float(reward) + paid, terminated, truncated, info


class CountBonus(_Bonus):
    """Pay ``coef(t) / sqrt(N(s'))`` for the observation reached (counted before paying).

    Args:
        env: the environment.
        coef: bonus coefficient, constant or decaying.
        hash_bits: SimHash bits for array observations (default 16 for float arrays; ``None``
            keeps exact keys for discrete observations).
        seed: seeds the SimHash projections.
    """

    name = "count"

    def __init__(
        self, env: gym.Env, coef: Coef = 0.1, *, hash_bits: int | None = None, seed: int = 0
    ) -> None:
        super().__init__(env, coef)
        if hash_bits is not None and not 1 <= hash_bits <= 62:
            raise ValueError(f"hash_bits must be in 1..62, got {hash_bits}")
        space = env.observation_space
        if hash_bits is None and isinstance(space, gym.spaces.Box) and space.dtype.kind == "f":
            hash_bits = 16
        self.hash_bits = hash_bits
        self._projection: np.ndarray | None = None
        if hash_bits is not None:
            if not isinstance(space, gym.spaces.Box):
                raise ValueError(f"hash_bits needs a Box observation space, got {space}")
            dims = int(np.prod(space.shape))
            self._projection = np.random.default_rng(seed).normal(size=(hash_bits, dims))
            self._weights = 1 << np.arange(hash_bits, dtype=np.int64)
        self.counts: dict[Hashable, int] = {}

    def key(self, obs: Any) -> Hashable:
        """The count key of an observation: itself, or its SimHash code."""
        if self._projection is not None:
            bits = (self._projection @ np.asarray(obs, dtype=float).ravel()) > 0
            return int(bits @ self._weights)
        if isinstance(obs, np.ndarray):
            return (obs.shape, obs.tobytes())
        if isinstance(obs, np.generic):
            return obs.item()  # type: ignore[no-any-return]
        try:
            hash(obs)
        except TypeError:
            raise TypeError(
                f"cannot count unhashable observations of type {type(obs).__name__}; "
                "wrap the env to make them hashable or use hash_bits with a Box space"
            ) from None
        return obs  # type: ignore[no-any-return]

    def bonus(self, obs: Any) -> float:
        key = self.key(obs)
        self.counts[key] = count = self.counts.get(key, 0) + 1
        return 1.0 / math.sqrt(count)

    def state_dict(self) -> dict[str, Any]:
        """Counts and the step counter (the coefficient schedule depends on it)."""
        return {"t": self.t, "counts": dict(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.t, self.counts = int(state["t"]), dict(state["counts"])


class RNDBonus(_Bonus):
    """Random network distillation: pay the predictor's normalised error on ``s'``.

    Observations become vectors by ``features`` (default: one-hot for ``Discrete``, flattened
    for ``Box``, normalised by running mean and variance as in the paper). Target and
    predictor are two-layer tanh networks; the predictor takes one SGD step per observation.

    Args:
        env: the environment.
        coef: bonus coefficient, constant or decaying.
        hidden: hidden units of both networks.
        out: output size of both networks.
        lr: predictor learning rate.
        features: ``obs -> 1-d float array`` (needed for other observation spaces).
        seed: seeds both networks.
    """

    name = "rnd"

    def __init__(
        self,
        env: gym.Env,
        coef: Coef = 0.1,
        *,
        hidden: int = 32,
        out: int = 16,
        lr: float = 0.05,
        features: Callable[[Any], np.ndarray] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__(env, coef)
        space = env.observation_space
        if features is None:
            if isinstance(space, gym.spaces.Discrete):
                size = int(space.n)

                def features(obs: Any) -> np.ndarray:
                    vec = np.zeros(size)
                    vec[int(obs) - int(space.start)] = 1.0
                    return vec

            elif isinstance(space, gym.spaces.Box):

                def features(obs: Any) -> np.ndarray:
                    return np.asarray(obs, dtype=float).ravel()

            else:
                raise ValueError(f"RNDBonus needs features= for observation space {space}")
        self.features = features
        dims = len(features(space.sample()))
        rng = np.random.default_rng(seed)
        self.target = [
            rng.normal(size=(dims, hidden)) / math.sqrt(dims),
            rng.normal(size=(hidden, out)),
        ]
        self.predictor = [
            rng.normal(size=(dims, hidden)) / math.sqrt(dims),
            np.zeros((hidden, out)),
        ]
        self.lr = lr
        self._normalize = isinstance(space, gym.spaces.Box)
        self._mean, self._var, self._n = np.zeros(dims), np.ones(dims), 0
        self._err_sq, self._err_n = 0.0, 0

    def _input(self, obs: Any) -> np.ndarray:
        x = self.features(obs)
        if not self._normalize:
            return x
        self._n += 1
        delta = x - self._mean
        self._mean += delta / self._n
        self._var += (delta * (x - self._mean) - self._var) / self._n
        return np.clip((x - self._mean) / np.sqrt(self._var + 1e-8), -5.0, 5.0)

    def bonus(self, obs: Any) -> float:
        x = self._input(obs)
        target = np.tanh(x @ self.target[0]) @ self.target[1]
        w1, w2 = self.predictor
        h = np.tanh(x @ w1)
        diff = h @ w2 - target
        error = float(diff @ diff)
        # One SGD step on 0.5 * |diff|^2 (gradients by hand: two layers).
        grad_w2 = np.outer(h, diff)
        grad_h = (w2 @ diff) * (1.0 - h * h)
        w2 -= self.lr * grad_w2
        w1 -= self.lr * np.outer(x, grad_h)
        self._err_n += 1
        self._err_sq += (error * error - self._err_sq) / self._err_n
        return error / math.sqrt(self._err_sq) if self._err_sq > 0 else 0.0

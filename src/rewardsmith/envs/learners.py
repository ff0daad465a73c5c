"""Two small learners: tabular Q-learning and a linear softmax policy gradient (REINFORCE).

Each fits in one screen and trains in well under a second on the bundled gridworlds. The
Q-learner learns on any environment with hashable observations (a cell index, or the
``(obs, machine state)`` pairs of `RewardMachineEnv`), optionally from the counterfactual
experience a reward machine wrapper hands out, and optionally with the reward replaced by a
function of the transition (what the design loop trains each candidate reward with).
Success is read from ``info["success"]``, the task's own metric, never from the reward.

`reinforce` is a numpy REINFORCE with a running-mean baseline over a softmax of linear
features (one-hot for ``Discrete`` observations, the raw vector plus a bias for ``Box``), for
environments whose observations are not a table's keys (CartPole).

Example:
    >>> from rewardsmith.envs.gridworld import GridWorld
    >>> env = GridWorld(["S...G"], goal="G", rewards={"G": 1.0})
    >>> result = q_learning(env, QLearningConfig(episodes=50, seed=0))
    >>> evaluate(env, result.q, episodes=1).success_rate
    1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Evaluation",
    "PGConfig",
    "PGResult",
    "QLearningConfig",
    "QResult",
    "QTable",
    "SoftmaxPolicy",
    "evaluate",
    "q_learning",
    "reinforce",
]

RewardFn = Callable[[Any, Any, Any, float, dict[str, Any]], float]
"""``fn(obs, action, next_obs, env_reward, info) -> reward`` to train on instead."""


@dataclass(frozen=True)
class QLearningConfig:
    """Settings of `q_learning`."""

    episodes: int = 300
    """Training episodes."""
    alpha: float = 0.5
    """Learning rate."""
    gamma: float = 0.95
    """Discount."""
    epsilon: float = 0.3
    """Exploration rate at the start; decays linearly to ``epsilon_end``."""
    epsilon_end: float = 0.05
    """Exploration rate at the last episode."""
    counterfactual: bool = False
    """Also learn from ``info["counterfactual"]`` (reward machines' CRM)."""
    seed: int = 0
    """Seeds the environment resets and the exploration."""

    def __post_init__(self) -> None:
        if self.episodes <= 0:
            raise ValueError(f"episodes must be positive, got {self.episodes}")
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")
        if not 0 <= self.gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        for name in ("epsilon", "epsilon_end"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


class QTable:
    """Action values per observation, zero until visited; greedy ties broken at random."""

    def __init__(self, n_actions: int) -> None:
        self.n_actions = n_actions
        self.values: dict[Hashable, np.ndarray] = {}

    def __getitem__(self, obs: Hashable) -> np.ndarray:
        row = self.values.get(obs)
        if row is None:
            row = self.values[obs] = np.zeros(self.n_actions)
        return row

    def greedy(self, obs: Hashable, rng: np.random.Generator) -> int:
        row = self[obs]
        best = np.flatnonzero(row == row.max())
        return int(best[0] if len(best) == 1 else rng.choice(best))

    def act(self, obs: Any, rng: np.random.Generator) -> int:
        """The greedy action for a raw observation (what `evaluate` calls)."""
        return self.greedy(_key(obs), rng)


@dataclass
class QResult:
    """A trained table and per-episode training statistics."""

    q: QTable
    returns: list[float] = field(default_factory=list)
    successes: list[bool] = field(default_factory=list)
    steps: int = 0


def _key(obs: Any) -> Hashable:
    if isinstance(obs, np.ndarray):
        return obs.tobytes()
    if isinstance(obs, (np.integer, np.floating)):
        return obs.item()  # type: ignore[no-any-return]
    return obs  # type: ignore[no-any-return]


def q_learning(env: Any, config: QLearningConfig, reward_fn: RewardFn | None = None) -> QResult:
    """Train a Q-table on ``env`` (discrete actions, hashable observations)."""
    n_actions = getattr(env.action_space, "n", None)
    if n_actions is None:
        raise ValueError(f"q_learning needs a Discrete action space, got {env.action_space}")
    rng = np.random.default_rng(config.seed)
    q = QTable(int(n_actions))
    result = QResult(q)

    def update(obs: Hashable, action: int, reward: float, nxt: Hashable, done: bool) -> None:
        target = reward if done else reward + config.gamma * float(q[nxt].max())
        q[obs][action] += config.alpha * (target - q[obs][action])

    for episode in range(config.episodes):
        frac = episode / max(config.episodes - 1, 1)
        epsilon = config.epsilon + (config.epsilon_end - config.epsilon) * frac
        obs, _ = env.reset(seed=config.seed * 100_003 + episode)
        total, success, done = 0.0, False, False
        while not done:
            key = _key(obs)
            action = int(rng.integers(n_actions)) if rng.random() < epsilon else q.greedy(key, rng)
            nxt, env_reward, terminated, truncated, info = env.step(action)
            reward = float(env_reward)
            if reward_fn is not None:
                reward = float(reward_fn(obs, action, nxt, reward, info))
            if config.counterfactual and "counterfactual" in info:
                # The real step is among them (from the current machine state).
                for c_obs, c_action, c_reward, c_next, c_done in info["counterfactual"]:
                    update(_key(c_obs), c_action, float(c_reward), _key(c_next), c_done)
            else:
                update(key, action, reward, _key(nxt), bool(terminated))
            total += reward
            success = success or bool(info.get("success", False))
            done = bool(terminated or truncated)
            obs = nxt
            result.steps += 1
        result.returns.append(total)
        result.successes.append(success)
    return result


@dataclass(frozen=True)
class Evaluation:
    """Greedy-policy results: the task's success rate and the mean environment return."""

    success_rate: float
    mean_return: float
    mean_length: float


def evaluate(
    env: Any, q: QTable | SoftmaxPolicy, *, episodes: int = 5, seed: int = 10_000
) -> Evaluation:
    """Run the greedy policy; success is ``info["success"]`` at any step of an episode."""
    rng = np.random.default_rng(seed)
    wins, returns, lengths = 0, [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        total, length, success, done = 0.0, 0, False, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(q.act(obs, rng))
            total += float(reward)
            length += 1
            success = success or bool(info.get("success", False))
            done = bool(terminated or truncated)
        wins += success
        returns.append(total)
        lengths.append(length)
    return Evaluation(wins / episodes, float(np.mean(returns)), float(np.mean(lengths)))


@dataclass(frozen=True)
class PGConfig:
    """Settings of `reinforce`."""

    episodes: int = 500
    """Training episodes."""
    lr: float = 0.01
    """Step size of the policy parameters (advantages are scaled to unit RMS first)."""
    gamma: float = 0.99
    """Discount of the returns."""
    baseline_decay: float = 0.95
    """Running-mean baseline: ``b <- decay * b + (1 - decay) * G``."""
    seed: int = 0
    """Seeds the resets and the action sampling."""

    def __post_init__(self) -> None:
        if self.episodes <= 0:
            raise ValueError(f"episodes must be positive, got {self.episodes}")
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.gamma <= 1 or not 0 <= self.baseline_decay < 1:
            raise ValueError("gamma must be in [0, 1] and baseline_decay in [0, 1)")


class SoftmaxPolicy:
    """``pi(a | s) = softmax(phi(s) @ W)[a]`` for linear features ``phi``."""

    def __init__(self, features: Callable[[Any], np.ndarray], dims: int, n_actions: int) -> None:
        self.features = features
        self.weights = np.zeros((dims, n_actions))

    def probabilities(self, obs: Any) -> tuple[np.ndarray, np.ndarray]:
        x = self.features(obs)
        logits = x @ self.weights
        p = np.exp(logits - logits.max())
        return x, p / p.sum()

    def act(self, obs: Any, rng: np.random.Generator) -> int:
        """The most probable action (ties at random)."""
        _, p = self.probabilities(obs)
        best = np.flatnonzero(p == p.max())
        return int(best[0] if len(best) == 1 else rng.choice(best))


@dataclass
class PGResult:
    """A trained policy and per-episode training statistics."""

    policy: SoftmaxPolicy
    returns: list[float] = field(default_factory=list)
    successes: list[bool] = field(default_factory=list)
    steps: int = 0


def _features(space: Any) -> tuple[Callable[[Any], np.ndarray], int]:
    kind = type(space).__name__
    if kind == "Discrete":
        size, start = int(space.n), int(space.start)

        def one_hot(obs: Any) -> np.ndarray:
            x = np.zeros(size)
            x[int(obs) - start] = 1.0
            return x

        return one_hot, size
    if kind == "Box":
        dims = int(np.prod(space.shape))
        return (lambda obs: np.append(np.asarray(obs, dtype=float).ravel(), 1.0)), dims + 1
    raise ValueError(f"reinforce needs features= for observation space {space}")


EpisodeRewardFn = Callable[[list[tuple[Any, Any, Any, float, dict[str, Any]]]], Sequence[float]]
"""``fn([(obs, action, next_obs, env_reward, info), ...]) -> one reward per step``."""


def reinforce(
    env: Any,
    config: PGConfig,
    reward_fn: RewardFn | None = None,
    *,
    episode_reward_fn: EpisodeRewardFn | None = None,
    features: Callable[[Any], np.ndarray] | None = None,
) -> PGResult:
    """Train a linear softmax policy with REINFORCE (Williams 1992) and a running baseline.

    REINFORCE needs rewards only when an episode ends, so ``episode_reward_fn`` may compute a
    whole episode's rewards at once (one sandbox round trip per episode in the design loop).
    """
    if reward_fn is not None and episode_reward_fn is not None:
        raise ValueError("give reward_fn or episode_reward_fn, not both")
    n_actions = getattr(env.action_space, "n", None)
    if n_actions is None:
        raise ValueError(f"reinforce needs a Discrete action space, got {env.action_space}")
    if features is None:
        phi, dims = _features(env.observation_space)
    else:
        phi, dims = features, len(features(env.observation_space.sample()))
    policy = SoftmaxPolicy(phi, dims, int(n_actions))
    rng = np.random.default_rng(config.seed)
    result, baseline, spread = PGResult(policy), 0.0, 0.0
    for episode in range(config.episodes):
        obs, _ = env.reset(seed=config.seed * 100_003 + episode)
        trajectory: list[tuple[np.ndarray, np.ndarray, int, float]] = []
        transitions: list[tuple[Any, Any, Any, float, dict[str, Any]]] = []
        success, done = False, False
        while not done:
            x, p = policy.probabilities(obs)
            action = int(rng.choice(len(p), p=p))
            nxt, env_reward, terminated, truncated, info = env.step(action)
            reward = float(env_reward)
            if reward_fn is not None:
                reward = float(reward_fn(obs, action, nxt, reward, info))
            elif episode_reward_fn is not None:
                transitions.append((obs, action, nxt, reward, info))
            trajectory.append((x, p, action, reward))
            success = success or bool(info.get("success", False))
            done = bool(terminated or truncated)
            obs = nxt
        if episode_reward_fn is not None:
            rewards = [float(r) for r in episode_reward_fn(transitions)]
            if len(rewards) != len(trajectory):
                raise ValueError(
                    f"episode_reward_fn gave {len(rewards)} rewards for {len(trajectory)} steps"
                )
            trajectory = [(x, p, a, r) for (x, p, a, _), r in zip(trajectory, rewards, strict=True)]
        returns = np.zeros(len(trajectory))
        ret = 0.0
        for t in range(len(trajectory) - 1, -1, -1):
            ret = returns[t] = trajectory[t][3] + config.gamma * ret
        # Advantage: the return minus a running mean of returns, scaled by a running RMS so the
        # step size does not depend on the reward's scale (CartPole's returns reach hundreds).
        advantages = returns - baseline
        scale = math.sqrt(spread) if spread > 0 else 1.0
        for (x, p, action, _), advantage in zip(trajectory, advantages, strict=True):
            grad_logits = -p
            grad_logits[action] += 1.0  # d log pi(a|s) / d logits
            policy.weights += config.lr * (advantage / scale) * np.outer(x, grad_logits)
        decay = config.baseline_decay
        baseline = decay * baseline + (1 - decay) * float(returns.mean())
        spread = decay * spread + (1 - decay) * float((advantages**2).mean())
        result.returns.append(sum(step[3] for step in trajectory))
        result.successes.append(success)
        result.steps += len(trajectory)
    return result

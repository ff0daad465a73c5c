"""Design on environments without a table (CartPole): rewards per episode from a sandbox session.

A continuous observation space cannot be enumerated, so the candidate is not tabulated:
`evaluate_episodic` keeps the candidate loaded in one sandbox session and, after each training
episode, sends the episode's transitions (observations as named plain-data dicts) in one call;
REINFORCE only needs rewards once an episode is over. Each call has its own time limit, the
whole session a CPU budget. The success metric comes from an `EpisodicTask`, which knows what
success means for that environment (CartPole: the pole stays up for 475 steps).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rewardsmith.envs.design.evaluate import (
    _HARNESS,
    CandidateResult,
    _read_batch,
    _screened,
    _stats,
)
from rewardsmith.envs.learners import PGConfig, evaluate, reinforce
from rewardsmith.sandbox import Sandbox, SandboxLimits

try:
    import gymnasium as gym
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "rewardsmith.envs needs gymnasium: pip install 'rewardsmith[gym]'", name=exc.name
    ) from exc

__all__ = ["EPISODIC_TASKS", "EpisodicTask", "SuccessInfo", "evaluate_episodic"]


@dataclass(frozen=True)
class EpisodicTask:
    """How the design loop sees an environment it cannot tabulate."""

    description: str
    """What the language model is told about the environment and its observation."""
    observe: Callable[[Any], dict[str, Any]]
    """Observation -> the plain-data dict that reward code receives."""
    success: Callable[[int, bool, dict[str, Any]], bool]
    """``(steps so far, terminated, info) -> the task is achieved at this step``."""


class SuccessInfo(gym.Wrapper):  # type: ignore[misc]
    """Put ``info["success"]`` from an `EpisodicTask` into every step."""

    def __init__(self, env: gym.Env, task: EpisodicTask) -> None:
        super().__init__(env)
        self.task = task
        self.steps = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.steps = 0
        return self.env.reset(**kwargs)  # type: ignore[no-any-return]

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        info["success"] = bool(self.task.success(self.steps, bool(terminated), info))
        return obs, reward, terminated, truncated, info


_CARTPOLE_FIELDS = ("cart_position", "cart_velocity", "pole_angle", "pole_angular_velocity")

CARTPOLE = EpisodicTask(
    description="\n".join(
        [
            "CartPole: a pole is hinged on a cart that moves left or right on a track.",
            "Actions: 0 = push the cart left, 1 = push it right.",
            "The episode ends when |pole_angle| > 0.2095 rad (12 degrees) or "
            "|cart_position| > 2.4, or after 500 steps.",
            'Observation: a dict {"cart_position": float (m), "cart_velocity": float, '
            '"pole_angle": float (rad, 0 = upright), "pole_angular_velocity": float}.',
        ]
    ),
    observe=lambda obs: {k: float(v) for k, v in zip(_CARTPOLE_FIELDS, obs, strict=True)},
    success=lambda steps, terminated, info: steps >= 475 and not terminated,
)

EPISODIC_TASKS: dict[str, EpisodicTask] = {"CartPole-v1": CARTPOLE}
"""Gymnasium ids the design loop knows how to describe and score without a table."""


class _Abort(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def evaluate_episodic(
    source: str | None,
    env: Any,
    task: EpisodicTask,
    *,
    sandbox: Sandbox,
    limits: SandboxLimits,
    learner: PGConfig,
    seeds: int = 1,
    eval_episodes: int = 5,
    screen: bool = True,
) -> CandidateResult:
    """Train REINFORCE on the candidate's reward, computed in a sandbox session per episode."""
    started = time.perf_counter()
    checked = _screened(source, screen)
    if isinstance(checked, CandidateResult):
        return checked
    refusal = sandbox.refusal()  # fail closed: the machine lacks a protection the level needs
    if refusal is not None:
        return CandidateResult("refused", refusal, seconds=time.perf_counter() - started)
    wrapped = SuccessInfo(env, task)
    # The session lives for the whole training; each call gets the candidate's time limit.
    session_limits = SandboxLimits(
        time_limit_s=max(60.0, 50 * limits.time_limit_s),
        wall_s=3600.0,
        memory_mb=limits.memory_mb,
    )
    per_episode: list[dict[str, np.ndarray]] = []
    marks: list[tuple[int, int]] = []
    successes, train_successes, lengths = [], [], []
    try:
        with sandbox.session(checked + _HARNESS, session_limits) as session:

            def rewards(
                transitions: list[tuple[Any, Any, Any, float, dict[str, Any]]],
            ) -> list[float]:
                items = [
                    [task.observe(o), int(a), task.observe(n)] for o, a, n, _, _ in transitions
                ]
                answer = session.call(
                    "_rewardsmith_batch", [items], {}, timeout_s=limits.wall_limit_s
                )
                if answer.outcome == "time_limit":
                    raise _Abort(
                        "timeout",
                        f"reward code ran past its limit ({limits.wall_limit_s:g} s wall per episode)",
                    )
                if answer.outcome == "sandbox_error":
                    raise RuntimeError(f"the sandbox failed: {answer.error}")
                if answer.outcome != "ok":
                    raise _Abort("error", f"reward code failed: {answer.error}")
                read = _read_batch(
                    answer.value, len(items), lambda i: f"obs={items[i][0]}, action={items[i][1]}"
                )
                if isinstance(read, str):
                    raise _Abort("error", read)
                totals, parts = read
                per_episode.append({"total": totals, **parts})
                return [float(total) for total in totals]

            for seed in range(seeds):
                config = PGConfig(**{**learner.__dict__, "seed": learner.seed + seed})
                first = len(per_episode)
                trained = reinforce(wrapped, config, episode_reward_fn=rewards)
                marks.append((first, len(per_episode)))
                result = evaluate(
                    wrapped, trained.policy, episodes=eval_episodes, seed=10_000 + 97 * seed
                )
                successes.append(result.success_rate)
                lengths.append(result.mean_length)
                train_successes.append(float(np.mean(trained.successes)))
    except _Abort as abort:
        return CandidateResult(abort.status, abort.reason, seconds=time.perf_counter() - started)
    names = dict.fromkeys(name for episode in per_episode for name in episode)
    tenth = [max((b - a) // 10, 1) for a, b in marks]
    early_episodes = [e for (a, _), k in zip(marks, tenth, strict=True) for e in range(a, a + k)]
    late_episodes = [e for (_, b), k in zip(marks, tenth, strict=True) for e in range(b - k, b)]
    stats = {
        name: _stats(
            _gather(per_episode, name, range(len(per_episode))),
            _gather(per_episode, name, early_episodes),
            _gather(per_episode, name, late_episodes),
        )
        for name in names
    }
    return CandidateResult(
        "ok",
        success_rate=float(np.mean(successes)),
        train_success=float(np.mean(train_successes)),
        mean_length=float(np.mean(lengths)),
        stats=stats,
        seconds=time.perf_counter() - started,
    )


def _gather(per_episode: list[dict[str, np.ndarray]], name: str, episodes: Any) -> np.ndarray:
    found = [per_episode[e][name] for e in episodes if name in per_episode[e]]
    return np.concatenate(found) if found else np.zeros(0)

"""Evaluate one candidate reward: tabulate it in the sandbox, train on it, measure the task.

1. **Tabulate.** The candidate's ``compute_reward(obs, action, next_obs)`` is called once for
   every transition ``(s, a, s')`` of the tabular environment, in one sandboxed run, with the
   observations as plain dicts. It returns a number or ``(total, {component: value})``. The
   trusted side checks every answer (finite numbers, string keys) and builds ``R[s, a, s']``
   and one array per component. Tabulating once makes training fast and gives the reward
   distances (EPIC, STARC) the full table they need.
2. **Train.** `q_learning` on the real environment, the step reward looked up in ``R``.
3. **Measure.** The greedy policy's success rate on the task's own metric
   (``info["success"]``), which the candidate never sees or computes.
4. **Feedback.** Per component: mean, std, min and max over the training steps, and the mean
   in the first and last tenth of training (Eureka's reward reflection).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rewardsmith.envs.design.code import ENTRY_POINT, screen_code
from rewardsmith.envs.gridworld import TabularModel
from rewardsmith.envs.learners import QLearningConfig, evaluate, q_learning
from rewardsmith.sandbox import Sandbox, SandboxLimits

__all__ = ["CandidateResult", "RewardTable", "evaluate_candidate", "tabulate_reward"]

_HARNESS = f"""

def _rewardsmith_batch(items):
    return [{ENTRY_POINT}(o, a, n) for o, a, n in items]
"""


@dataclass
class RewardTable:
    """A candidate's reward on every transition, and its components."""

    total: np.ndarray
    components: dict[str, np.ndarray]


@dataclass
class CandidateResult:
    """What one candidate reward did. ``status`` uses the `Score` statuses:
    ``ok``, ``parse_error`` (no code), ``refused`` (screen), ``timeout`` and ``error``."""

    status: str
    reason: str = ""
    success_rate: float | None = None
    train_success: float | None = None
    mean_length: float | None = None
    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    table: RewardTable | None = None
    seconds: float = 0.0
    sandbox: dict[str, Any] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _read_answer(answer: Any) -> tuple[float, dict[str, float]] | str:
    if isinstance(answer, (tuple, list)) and len(answer) == 2 and isinstance(answer[1], dict):
        total = _number(answer[0])
        if total is None:
            return f"total reward is not a finite number: {str(answer[0])[:60]}"
        components: dict[str, float] = {}
        for key, value in answer[1].items():
            number = _number(value)
            if not isinstance(key, str) or number is None or len(key) > 64:
                return f"component {str(key)[:40]!r} is not a short name with a finite value"
            components[key] = number
        return total, components
    total = _number(answer)
    if total is None:
        return f"reward is not a finite number or (total, components): {str(answer)[:60]}"
    return total, {}


def _read_batch(
    values: Any, n: int, where: Callable[[int], str]
) -> tuple[np.ndarray, dict[str, np.ndarray]] | str:
    """Totals and component arrays from a batch of ``n`` answers, or why the batch is wrong.

    ``where(i)`` names item ``i`` in the reason when its answer cannot be read.
    """
    if not isinstance(values, list) or len(values) != n:
        return "reward code's batch answer has the wrong shape"
    total = np.zeros(n)
    components: dict[str, np.ndarray] = {}
    for i, raw in enumerate(values):
        read = _read_answer(raw)
        if isinstance(read, str):
            return f"{read} (at {where(i)})"
        total[i], parts = read
        for key, value in parts.items():
            if key not in components:
                if len(components) >= 32:
                    return "more than 32 reward components"
                components[key] = np.zeros(n)
            components[key][i] = value
    return total, components


def _screened(source: str | None, screen: bool) -> str | CandidateResult:
    """The code to run, or the result of a candidate that never runs (no code, or refused)."""
    if source is None:
        return CandidateResult("parse_error", f"no ```python block defining {ENTRY_POINT}")
    if screen:
        reasons = screen_code(source)
        if reasons:
            return CandidateResult("refused", "; ".join(reasons))
    return source


def tabulate_reward(
    source: str, model: TabularModel, sandbox: Sandbox, limits: SandboxLimits
) -> RewardTable | tuple[str, str]:
    """``R[s, a, s']`` and components from one sandboxed run, or ``(status, reason)``."""
    S, A = model.n_states, model.n_actions
    items = [
        [model.observations[s], a, model.observations[t]]
        for s in range(S)
        for a in range(A)
        for t in range(S)
    ]
    run, answers = sandbox.call(source + _HARNESS, [("_rewardsmith_batch", [items], {})], limits)
    answer = answers[0]
    if answer.outcome == "time_limit" or run.outcome == "time_limit":
        return "timeout", (
            f"reward code ran past its limit ({limits.time_limit_s:g} s CPU, "
            f"{limits.wall_limit_s:g} s wall; used {run.cpu_s:.2f} s CPU)"
        )
    if answer.outcome == "sandbox_error" or run.outcome == "sandbox_error":
        raise RuntimeError(f"the sandbox failed: {run.detail or answer.error}")
    if run.outcome == "memory_limit":
        return "error", f"reward code ran out of memory ({limits.memory_mb} MiB)"
    if answer.outcome != "ok":
        return "error", f"reward code failed: {answer.error or run.outcome}"
    read = _read_batch(
        answer.value,
        len(items),
        lambda i: "obs={}, action={}, next_obs={}".format(*items[i]),
    )
    if isinstance(read, str):
        return "error", read
    total, components = read
    shape = (S, A, S)
    return RewardTable(total.reshape(shape), {k: v.reshape(shape) for k, v in components.items()})


def _stats(values: np.ndarray, early: np.ndarray, late: np.ndarray) -> dict[str, float]:
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
        "early_mean": float(early.mean()) if early.size else 0.0,
        "late_mean": float(late.mean()) if late.size else 0.0,
    }


def evaluate_candidate(
    source: str | None,
    env: Any,
    model: TabularModel,
    *,
    sandbox: Sandbox,
    limits: SandboxLimits,
    learner: QLearningConfig,
    seeds: int = 1,
    eval_episodes: int = 5,
    screen: bool = True,
) -> CandidateResult:
    """Run steps 1-4 for one candidate (``source=None``: the reply had no code)."""
    started = time.perf_counter()
    checked = _screened(source, screen)
    if isinstance(checked, CandidateResult):
        return checked
    refusal = sandbox.refusal()  # fail closed: the machine lacks a protection the level needs
    if refusal is not None:
        return CandidateResult("refused", refusal, seconds=time.perf_counter() - started)
    table = tabulate_reward(checked, model, sandbox, limits)
    if isinstance(table, tuple):
        status, reason = table
        return CandidateResult(status, reason, seconds=time.perf_counter() - started)
    named = {"total": table.total, **table.components}
    visited: list[tuple[int, int, int]] = []

    def reward_fn(obs: Any, action: Any, nxt: Any, env_reward: float, info: Any) -> float:
        visited.append((int(obs), int(action), int(nxt)))
        return float(table.total[int(obs), int(action), int(nxt)])

    successes, train_successes, lengths, marks = [], [], [], []
    for seed in range(seeds):
        config = QLearningConfig(**{**learner.__dict__, "seed": learner.seed + seed})
        start = len(visited)
        trained = q_learning(env, config, reward_fn)
        marks.append((start, len(visited)))
        result = evaluate(env, trained.q, episodes=eval_episodes, seed=10_000 + 97 * seed)
        successes.append(result.success_rate)
        lengths.append(result.mean_length)
        train_successes.append(float(np.mean(trained.successes)))
    index = np.array(visited, dtype=np.int64).T
    tenth = [
        (np.arange(a, a + max((b - a) // 10, 1)), np.arange(b - max((b - a) // 10, 1), b))
        for a, b in marks
    ]
    early = np.concatenate([e for e, _ in tenth])
    late = np.concatenate([lt for _, lt in tenth])
    stats = {}
    for name, array in named.items():
        values = array[index[0], index[1], index[2]]
        stats[name] = _stats(values, values[early], values[late])
    return CandidateResult(
        "ok",
        success_rate=float(np.mean(successes)),
        train_success=float(np.mean(train_successes)),
        mean_length=float(np.mean(lengths)),
        stats=stats,
        table=table,
        seconds=time.perf_counter() - started,
    )

"""Dispatch: each answer from the model to the evaluator that fits the environment, and each
evaluated candidate to a run-log row.

`design_target` decides how candidates are trained: a tabular environment (one with
``tabular()`` and ``description()``) by tabulating the reward and Q-learning on it
(`evaluate_candidate`); any other by REINFORCE with rewards from a sandbox session per episode
(`evaluate_episodic`), which needs an `EpisodicTask`. `make_evaluator` binds that choice to the
run's settings and sandbox; `to_candidate` runs it on one answer. A `NoReply` is never
evaluated: it becomes an ``error`` candidate whose reason says why no reply came.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rewardsmith.envs.design.code import extract_code
from rewardsmith.envs.design.config import DesignConfig
from rewardsmith.envs.design.conversation import Answer, Reply
from rewardsmith.envs.design.evaluate import CandidateResult, evaluate_candidate
from rewardsmith.envs.design.results import Candidate
from rewardsmith.envs.gridworld import TabularModel
from rewardsmith.envs.learners import PGConfig, QLearningConfig
from rewardsmith.sandbox import Sandbox, SandboxLimits

if TYPE_CHECKING:
    from rewardsmith.core.score import Score
    from rewardsmith.envs.design.episodic import EpisodicTask

__all__ = [
    "DesignTarget",
    "Evaluator",
    "design_target",
    "is_tabular",
    "make_evaluator",
    "run_log_score",
    "to_candidate",
]

Evaluator = Callable[[str | None], CandidateResult]
"""Evaluates one candidate's code (``None``: the reply had none)."""


@dataclass(frozen=True)
class DesignTarget:
    """What candidates are trained on: exactly one of ``model`` and ``episodic`` is set."""

    description: str
    """The environment in words, for the model."""
    model: TabularModel | None = None
    episodic: EpisodicTask | None = None


def is_tabular(env: Any) -> bool:
    """Whether ``env`` offers the transition model the tabular path needs."""
    base = env.unwrapped
    return callable(getattr(base, "tabular", None)) and callable(getattr(base, "description", None))


def design_target(env: Any, episodic: EpisodicTask | None = None) -> DesignTarget:
    """The tabular model of ``env``, else ``episodic`` (or the `EPISODIC_TASKS` entry of the
    environment's id); `ValueError` when it has neither."""
    from rewardsmith.envs.design.episodic import EPISODIC_TASKS

    if is_tabular(env):
        model = env.unwrapped.tabular()
        return DesignTarget(env.unwrapped.description(), model=model)
    env_id = getattr(env.spec, "id", None)
    episodic = episodic or EPISODIC_TASKS.get(env_id or "")
    if episodic is None:
        raise ValueError(f"{env_id or env!r}: neither tabular nor a known episodic task")
    return DesignTarget(episodic.description, episodic=episodic)


def make_evaluator(
    env: Any,
    target: DesignTarget,
    config: DesignConfig,
    *,
    sandbox: Sandbox,
    limits: SandboxLimits,
) -> Evaluator:
    """The evaluator for ``target``, trained as ``config`` says, code run in ``sandbox``."""
    from rewardsmith.envs.design.episodic import evaluate_episodic

    model, episodic = target.model, target.episodic

    def evaluate_code(code: str | None) -> CandidateResult:
        if model is not None:
            learner = QLearningConfig(
                episodes=config.episodes, gamma=config.gamma, seed=config.seed
            )
            return evaluate_candidate(
                code, env, model, sandbox=sandbox, limits=limits, learner=learner,
                seeds=config.seeds, eval_episodes=config.eval_episodes,
            )  # fmt: skip
        assert episodic is not None
        return evaluate_episodic(
            code, env, episodic, sandbox=sandbox, limits=limits,
            learner=PGConfig(episodes=config.episodes, seed=config.seed),
            seeds=config.seeds, eval_episodes=config.eval_episodes,
        )  # fmt: skip

    return evaluate_code


def to_candidate(iteration: int, index: int, answer: Answer, evaluate: Evaluator) -> Candidate:
    """Candidate ``index`` of round ``iteration``: the answer's code, evaluated."""
    if isinstance(answer, Reply):
        code = extract_code(answer.text)
        return Candidate(iteration, index, answer.text, code, evaluate(code))
    return Candidate(iteration, index, answer.text, None, CandidateResult("error", answer.reason))


def run_log_score(candidate: Candidate) -> Score:
    """The run-log row of a candidate: its task success as the value, the rest as info."""
    from rewardsmith.core.score import Score

    r = candidate.result
    components: dict[str, float] = {}
    if r.status == "ok":
        components = {
            "success_rate": float(r.success_rate or 0.0),
            "train_success": float(r.train_success or 0.0),
            "mean_length": float(r.mean_length or 0.0),
            **{f"{name}.mean": s["mean"] for name, s in r.stats.items()},
        }
    return Score(
        value=r.success_rate if r.status == "ok" else None,
        status=r.status,  # type: ignore[arg-type]
        reason=r.reason,
        components=components,
        info={
            "iteration": candidate.iteration,
            "candidate": candidate.index,
            "code": candidate.code,
            "response": candidate.response[:20_000],
            "stats": r.stats,
        },
        latency_s=r.seconds,
    )

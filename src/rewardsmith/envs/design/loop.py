"""The reward-design loop: ask, screen, sandbox, train, measure, reflect, repeat, select.

Each round sends ``candidates`` chat requests to an OpenAI-compatible endpoint (concurrently,
at ``temperature``), evaluates every reply with `evaluate_candidate`, logs it to the run log
(code, reply, status, reason, success rate, component statistics), and builds the next round's
feedback from the best candidate so far. At the end the best candidate (highest task success,
then highest success during training, then earliest) is selected, and the EPIC and STARC
distances between all trained candidates say which of them are really different rewards
rather than rescaled or reshaped copies of each other.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rewardsmith.envs.design.code import extract_code
from rewardsmith.envs.design.evaluate import CandidateResult, evaluate_candidate

if TYPE_CHECKING:
    from rewardsmith.envs.design.episodic import EpisodicTask
from rewardsmith.envs.design.prompt import SYSTEM_PROMPT, feedback_message, first_message
from rewardsmith.envs.gridworld import TASKS, TabularModel, make_task
from rewardsmith.envs.learners import PGConfig, QLearningConfig
from rewardsmith.sandbox import Sandbox, SandboxLimits

__all__ = [
    "Candidate",
    "DesignConfig",
    "DesignResult",
    "candidate_distances",
    "resolve_env",
    "run_design",
]


@dataclass(frozen=True)
class DesignConfig:
    """Settings of one design run."""

    task: str
    """What the agent must achieve, in words, for the language model."""
    endpoint: str
    """OpenAI-compatible base URL, ending before ``/chat/completions``."""
    model: str = "default"
    """Model name sent with each request."""
    iterations: int = 3
    """Rounds of (ask, evaluate, reflect)."""
    candidates: int = 4
    """Chat requests per round."""
    temperature: float = 1.0
    """Sampling temperature (candidates in a round should differ)."""
    max_tokens: int = 1024
    """Completion length limit per request."""
    api_key_env: str | None = "OPENAI_API_KEY"
    """Environment variable holding the API key, if any."""
    http_timeout_s: float = 120.0
    """Per-request timeout."""
    episodes: int = 300
    """Q-learning episodes per training run."""
    seeds: int = 2
    """Training runs per candidate (success is averaged)."""
    eval_episodes: int = 5
    """Greedy evaluation episodes per training run."""
    gamma: float = 0.95
    """Discount of the learner and of the reward distances."""
    time_limit_s: float = 2.0
    """CPU seconds for one candidate's reward code (all transitions at once)."""
    memory_mb: int = 256
    """Memory of one candidate's reward code."""
    stop_at: float | None = None
    """Stop after a round whose best success rate reaches this."""
    seed: int = 0
    """First training seed."""

    def __post_init__(self) -> None:
        if not self.task.strip():
            raise ValueError("task must describe what the agent should achieve")
        if not self.endpoint.startswith(("http://", "https://")):
            raise ValueError(f"endpoint must be an http(s) URL, got {self.endpoint!r}")
        for name in ("iterations", "candidates", "episodes", "seeds", "eval_episodes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")


@dataclass
class Candidate:
    """One reply and what its reward did."""

    iteration: int
    index: int
    response: str
    code: str | None
    result: CandidateResult

    @property
    def id(self) -> str:
        return f"iter{self.iteration}/cand{self.index}"


@dataclass
class DesignResult:
    """Every candidate, the selected one, the distances between trained ones, the run id."""

    candidates: list[Candidate]
    best: Candidate | None
    run_id: str | None = None
    distances: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary (what the CLI prints with ``--json``)."""
        return {
            "run_id": self.run_id,
            "best": self.best.id if self.best else None,
            "best_success_rate": self.best.result.success_rate if self.best else None,
            "candidates": [
                {
                    "id": c.id,
                    "status": c.result.status,
                    "reason": c.result.reason,
                    "success_rate": c.result.success_rate,
                    "train_success": c.result.train_success,
                    "seconds": round(c.result.seconds, 3),
                }
                for c in self.candidates
            ],
            "distances": self.distances,
        }


def resolve_env(name: str) -> Any:
    """An environment the loop can work on, by bundled task name (``goal``, ``abc``) or id.

    Tabular environments need ``env.unwrapped.tabular()`` (the transition model, observations
    as plain dicts), ``description()``, and observations that are state indices; they are
    trained with Q-learning and compared with EPIC/STARC. Other ids need an `EpisodicTask`
    in `EPISODIC_TASKS` (``CartPole-v1``); they are trained with REINFORCE.
    """
    if name in TASKS:
        return make_task(name)
    import gymnasium as gym

    import rewardsmith.envs.registration  # noqa: F401  (registers the rewardsmith/ ids)
    from rewardsmith.envs.design.episodic import EPISODIC_TASKS

    try:
        env = gym.make(name)
    except gym.error.Error as exc:
        raise ValueError(
            f"unknown environment {name!r} ({exc}); bundled tasks: {sorted(TASKS)}"
        ) from None
    if _is_tabular(env) or name in EPISODIC_TASKS:
        return env
    env.close()
    raise ValueError(
        f"{name!r} has no tabular model and no episodic task: the design loop needs an "
        "environment with tabular() and description() (see rewardsmith.envs.gridworld) or one "
        f"of {sorted(EPISODIC_TASKS)} (or pass task= to run_design)"
    )


def _is_tabular(env: Any) -> bool:
    base = env.unwrapped
    return callable(getattr(base, "tabular", None)) and callable(getattr(base, "description", None))


def _select(candidates: list[Candidate]) -> Candidate | None:
    trained = [c for c in candidates if c.result.status == "ok"]
    if not trained:
        return None
    return max(
        trained,
        key=lambda c: (c.result.success_rate, c.result.train_success, -c.iteration, -c.index),
    )


def candidate_distances(
    candidates: list[Candidate], T: np.ndarray, gamma: float, *, same_below: float = 0.05
) -> dict[str, Any]:
    """EPIC and STARC distance matrices between trained candidates, and groups of candidates
    all within EPIC ``same_below`` of each other (the same reward up to shaping and scale).

    Uses `rewardsmith.audit.distance` on the full tables ``R[s, a, s']``; STARC takes the
    environment's transitions ``T`` and the uniform policy."""
    from rewardsmith.audit.distance import epic_distance, starc_distance

    trained = [c for c in candidates if c.result.status == "ok" and c.result.table is not None]
    ids = [c.id for c in trained]
    n = len(trained)
    epic = np.zeros((n, n))
    starc = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a, b = trained[i].result.table, trained[j].result.table
            assert a is not None and b is not None
            epic[i, j] = epic[j, i] = epic_distance(a.total, b.total, gamma)
            starc[i, j] = starc[j, i] = starc_distance(a.total, b.total, T, gamma)
    groups: list[list[str]] = []
    for i in range(n):
        for group in groups:
            if all(epic[i, ids.index(other)] < same_below for other in group):
                group.append(ids[i])
                break
        else:
            groups.append([ids[i]])
    return {
        "ids": ids,
        "epic": np.round(epic, 4).tolist(),
        "starc": np.round(starc, 4).tolist(),
        "groups": groups,
    }


async def _ask(config: DesignConfig, messages: list[dict[str, str]]) -> list[str]:
    import httpx

    from rewardsmith.models.judge.client import JudgeResponseError, chat

    async def one() -> str:
        try:
            reply = await chat(
                config.endpoint,
                config.model,
                messages,
                api_key_env=config.api_key_env,
                temperature=config.temperature,
                max_tokens=config.max_tokens,
                http_timeout_s=config.http_timeout_s,
            )
        except (httpx.HTTPError, JudgeResponseError, OSError) as exc:
            # A failed request is one lost candidate, logged with its reason.
            return f"<request failed: {type(exc).__name__}: {str(exc)[:200]}>"
        return reply.text if reply.refusal is None else f"<refused: {reply.refusal}>"

    return list(await asyncio.gather(*(one() for _ in range(config.candidates))))


def _score(candidate: Candidate) -> Any:
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


def run_design(
    env: Any,
    config: DesignConfig,
    *,
    env_name: str = "env",
    log_dir: str | Path | None = None,
    sandbox: Sandbox | None = None,
    argv: list[str] | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
    episodic: EpisodicTask | None = None,
) -> DesignResult:
    """Run the loop; every candidate goes to the run log.

    A tabular environment is trained with Q-learning on the tabulated reward; any other
    needs ``episodic`` (found in `EPISODIC_TASKS` by the environment's id when not given)
    and is trained with REINFORCE, rewards computed per episode in a sandbox session.

    Example (needs an endpoint, so not run here)::

        env = resolve_env("goal")
        result = run_design(env, DesignConfig(task="reach G, avoid L", endpoint=URL))
        print(result.best.code)
    """
    from rewardsmith.core.spec import Spec, TermSpec
    from rewardsmith.envs.design.episodic import EPISODIC_TASKS, evaluate_episodic
    from rewardsmith.io.runlog import RunLog

    limits = SandboxLimits(time_limit_s=config.time_limit_s, memory_mb=config.memory_mb)
    model: TabularModel | None = None
    if _is_tabular(env):
        model = env.unwrapped.tabular()
        description = env.unwrapped.description()
    else:
        env_id = getattr(env.spec, "id", None)
        episodic = episodic or EPISODIC_TASKS.get(env_id or "")
        if episodic is None:
            raise ValueError(f"{env_id or env!r}: neither tabular nor a known episodic task")
        description = episodic.description

    def evaluate_code(code: str | None) -> CandidateResult:
        if model is not None:
            learner = QLearningConfig(
                episodes=config.episodes, gamma=config.gamma, seed=config.seed
            )
            return evaluate_candidate(
                code, env, model, sandbox=box, limits=limits, learner=learner,
                seeds=config.seeds, eval_episodes=config.eval_episodes,
            )  # fmt: skip
        assert episodic is not None
        return evaluate_episodic(
            code, env, episodic, sandbox=box, limits=limits,
            learner=PGConfig(episodes=config.episodes, seed=config.seed),
            seeds=config.seeds, eval_episodes=config.eval_episodes,
        )  # fmt: skip

    # The run log is keyed by a spec; a design run's "spec" is its one pseudo-term.
    spec = Spec(
        name=f"design:{env_name}",
        description=config.task,
        terms=[TermSpec(name="candidate", use="design.candidate")],
    )
    run = RunLog(log_dir).create(spec, [], argv=argv if argv is not None else sys.argv)
    run.manifest["design"] = {
        "env": env_name,
        "task": config.task,
        "model": config.model,
        "endpoint": config.endpoint,
        "description": description,
        "config": {k: v for k, v in config.__dict__.items() if k not in ("task", "endpoint")},
    }
    own_sandbox = sandbox is None
    box = sandbox or Sandbox(limits)
    candidates: list[Candidate] = []
    status = "failed"
    try:
        conversation = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": first_message(description, config.task)},
        ]
        for iteration in range(config.iterations):
            replies = asyncio.run(_ask(config, conversation))
            round_: list[Candidate] = []
            for index, reply in enumerate(replies):
                code = extract_code(reply)
                result = evaluate_code(code)
                if reply.startswith("<request failed") or reply.startswith("<refused"):
                    result.status, result.reason = "error", reply.strip("<>")
                candidate = Candidate(iteration, index, reply, code, result)
                round_.append(candidate)
                row = len(candidates) + len(round_) - 1
                run.append([row], [candidate.id], [_score(candidate)])
                if on_candidate is not None:
                    on_candidate(candidate)
            candidates.extend(round_)
            best = _select(candidates)
            if (
                config.stop_at is not None
                and best
                and (best.result.success_rate or 0) >= config.stop_at
            ):
                break
            feedback = feedback_message(
                None
                if best is None
                else {
                    "code": best.code,
                    "success_rate": best.result.success_rate,
                    "train_success": best.result.train_success,
                    "mean_length": best.result.mean_length,
                    "stats": best.result.stats,
                },
                [
                    {"status": c.result.status, "reason": c.result.reason}
                    for c in round_
                    if c.result.status != "ok"
                ],
            )
            # Eureka-style: a fresh context each round (the first message, then the feedback).
            conversation = [*conversation[:2], {"role": "user", "content": feedback}]
        best = _select(candidates)
        distances = (
            candidate_distances(candidates, model.transitions, config.gamma)
            if model is not None
            else {}
        )
        run.manifest["design"].update(
            best=best.id if best else None,
            best_code=best.code if best else None,
            best_success_rate=best.result.success_rate if best else None,
            distances=distances,
            finished=time.time(),
        )
        status = "completed"
        return DesignResult(candidates, best, run.id, distances)
    finally:
        run.close(status)
        if own_sandbox:
            box.close()

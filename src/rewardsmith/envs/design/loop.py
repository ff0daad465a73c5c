"""The reward-design loop: ask, screen, sandbox, train, measure, reflect, repeat, select.

Each round sends ``candidates`` chat requests to an OpenAI-compatible endpoint (concurrently,
at ``temperature``), evaluates every reply with `evaluate_candidate`, logs it to the run log
(code, reply, status, reason, success rate, component statistics), and builds the next round's
feedback from the best candidate so far. At the end the best candidate (highest task success,
then highest success during training, then earliest) is selected, and the EPIC and STARC
distances between all trained candidates say which of them are really different rewards
rather than rescaled or reshaped copies of each other.

This module is the driver; the parts it drives each have their own module:

- `conversation`: what each round sends, and the model's answers as `Reply` / `NoReply`;
- `dispatch`: which evaluator fits the environment, an answer into a `Candidate`, and a
  candidate into a run-log row;
- `results`: `Candidate`, `DesignResult`, selection and the distances between candidates;
- `config`: `DesignConfig`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardsmith.envs.design.config import DesignConfig
from rewardsmith.envs.design.conversation import after_round, ask_round, opening
from rewardsmith.envs.design.dispatch import (
    design_target,
    is_tabular,
    make_evaluator,
    run_log_score,
    to_candidate,
)
from rewardsmith.envs.design.results import (
    Candidate,
    DesignResult,
    candidate_distances,
    select_best,
)
from rewardsmith.envs.gridworld import TASKS, make_task
from rewardsmith.sandbox import Sandbox, SandboxLimits

if TYPE_CHECKING:
    from rewardsmith.envs.design.episodic import EpisodicTask
    from rewardsmith.io.runlog import Run

__all__ = [
    "Candidate",
    "DesignConfig",
    "DesignResult",
    "candidate_distances",
    "resolve_env",
    "run_design",
]


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
    if is_tabular(env) or name in EPISODIC_TASKS:
        return env
    env.close()
    raise ValueError(
        f"{name!r} has no tabular model and no episodic task: the design loop needs an "
        "environment with tabular() and description() (see rewardsmith.envs.gridworld) or one "
        f"of {sorted(EPISODIC_TASKS)} (or pass task= to run_design)"
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
    limits = SandboxLimits(time_limit_s=config.time_limit_s, memory_mb=config.memory_mb)
    target = design_target(env, episodic)
    run = _open_run(config, env_name, target.description, log_dir, argv)
    own_sandbox = sandbox is None
    box = sandbox or Sandbox(limits)
    evaluate = make_evaluator(env, target, config, sandbox=box, limits=limits)
    candidates: list[Candidate] = []
    status = "failed"
    try:
        messages = opening(target.description, config.task)
        for iteration in range(config.iterations):
            round_: list[Candidate] = []
            for index, answer in enumerate(ask_round(config, messages)):
                candidate = to_candidate(iteration, index, answer, evaluate)
                round_.append(candidate)
                run.append([len(candidates) + index], [candidate.id], [run_log_score(candidate)])
                if on_candidate is not None:
                    on_candidate(candidate)
            candidates.extend(round_)
            best = select_best(candidates)
            if (
                config.stop_at is not None
                and best
                and (best.result.success_rate or 0) >= config.stop_at
            ):
                break
            messages = after_round(messages, best, round_)
        best = select_best(candidates)
        distances = (
            candidate_distances(candidates, target.model.transitions, config.gamma)
            if target.model is not None
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


def _open_run(
    config: DesignConfig,
    env_name: str,
    description: str,
    log_dir: str | Path | None,
    argv: list[str] | None,
) -> Run:
    """A new run in the run log, its manifest saying what was designed and how."""
    from rewardsmith.core.spec import Spec, TermSpec
    from rewardsmith.io.runlog import RunLog

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
    return run

"""``rewardsmith design ENV --task "…" --endpoint URL``: the reward-design loop from the shell.

The loop is `rewardsmith.envs.design`; it reports each candidate through a callback, printed
here on stderr. gymnasium, numpy and the sandbox load when the command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rewardsmith.cli.common import console, errors, fail

__all__ = ["design"]


def design(
    env: Annotated[
        str,
        typer.Argument(
            help="Bundled gridworld (goal, abc), a Gymnasium id with a tabular model "
            "(rewardsmith/GridGoal-v0), or CartPole-v1."
        ),
    ],
    task: Annotated[str, typer.Option("--task", help="What the agent must achieve, in words.")],
    endpoint: Annotated[
        str,
        typer.Option(
            "--endpoint", help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1."
        ),
    ],
    model: Annotated[
        str, typer.Option("--model", help="Model name sent to the endpoint.")
    ] = "default",
    iterations: Annotated[int, typer.Option("--iterations", min=1, help="Rounds.")] = 3,
    candidates: Annotated[
        int, typer.Option("--candidates", min=1, help="Candidates per round.")
    ] = 4,
    episodes: Annotated[
        int,
        typer.Option(
            "--episodes", min=1, help="Training episodes per run (Q-learning or REINFORCE)."
        ),
    ] = 300,
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Training runs per candidate.")] = 2,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0)] = 1.0,
    stop_at: Annotated[
        float | None,
        typer.Option("--stop-at", help="Stop after a round whose best success rate reaches this."),
    ] = None,
    api_key_env: Annotated[
        str, typer.Option("--api-key-env", help="Environment variable holding the API key.")
    ] = "OPENAI_API_KEY",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the selected reward code to this file.")
    ] = None,
    log_dir: Annotated[
        Path | None, typer.Option("--log-dir", help="Run log root (default ./.rewardsmith/runs).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Ask a language model for reward code, train an agent on each candidate, keep the best."""
    from rewardsmith.envs.design import Candidate, DesignConfig, resolve_env, run_design

    try:
        config = DesignConfig(
            task=task,
            endpoint=endpoint,
            model=model,
            iterations=iterations,
            candidates=candidates,
            episodes=episodes,
            seeds=seeds,
            temperature=temperature,
            stop_at=stop_at,
            api_key_env=api_key_env or None,
        )
        environment = resolve_env(env)
    except ValueError as exc:
        fail(str(exc))

    def progress(candidate: Candidate) -> None:
        if as_json:
            return
        r = candidate.result
        rate = "-" if r.success_rate is None else f"{r.success_rate:.2f}"
        errors.print(
            f"{candidate.id}: {r.status} success={rate} {r.reason[:120]}",
            highlight=False,
            markup=False,
        )

    result = run_design(environment, config, env_name=env, log_dir=log_dir, on_candidate=progress)
    if out is not None and result.best is not None and result.best.code:
        out.write_text(result.best.code)
    if as_json:
        typer.echo(json.dumps(result.summary(), indent=2))
        return
    table = Table(title=f"design run {result.run_id}")
    for column in ("candidate", "status", "success", "train success", "reason"):
        table.add_column(column)
    for c in result.candidates:
        r = c.result
        table.add_row(
            c.id + (" *" if result.best is c else ""),
            r.status,
            "-" if r.success_rate is None else f"{r.success_rate:.2f}",
            "-" if r.train_success is None else f"{r.train_success:.2f}",
            r.reason[:80],
        )
    console.print(table)
    groups = result.distances.get("groups", [])
    if groups:
        console.print(f"distinct rewards (EPIC < 0.05 grouped): {groups}", highlight=False)
    best = result.best
    if best is None:
        fail("no candidate could be trained; see the reasons above")
        return
    console.print(f"selected {best.id}:", highlight=False)
    console.print(best.code or "", highlight=False, markup=False)

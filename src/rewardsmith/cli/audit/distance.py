"""``rewardsmith audit distance``: EPIC and STARC distances between two rewards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rewardsmith.cli.audit.options import (
    JsonOpt,
    WorkersOpt,
    console,
    fail,
    read_rows_or_fail,
    write_json,
)
from rewardsmith.core.errors import InputError

__all__ = ["distance_command"]


def distance_command(
    a: Annotated[
        str,
        typer.Argument(help="Reward name or spec file; or an .npy R[s,a,s'] with --transitions."),
    ],
    b: Annotated[str, typer.Argument(help="Reward name or spec file; or an .npy R[s,a,s'].")],
    data: Annotated[
        Path | None,
        typer.Option("--data", "-d", help="One-step case: rows, several responses per prompt."),
    ] = None,
    group_field: Annotated[
        str, typer.Option(help="Field that ties a prompt's responses together.")
    ] = "group",
    transitions: Annotated[
        Path | None, typer.Option(help="Tabular case: .npy T[s,a,s'] for STARC.")
    ] = None,
    gamma: Annotated[
        float,
        typer.Option(help="Tabular case: discount, 0..1 (STARC needs < 1; EPIC allows 1)."),
    ] = 0.9,
    coverage: Annotated[
        Path | None,
        typer.Option(help="Tabular case: .npy weights of (s,a,s') for EPIC's Pearson distance."),
    ] = None,
    state_dist: Annotated[
        Path | None,
        typer.Option("--state-dist", help="Tabular case: .npy D_S, probabilities of states."),
    ] = None,
    action_dist: Annotated[
        Path | None,
        typer.Option("--action-dist", help="Tabular case: .npy D_A, probabilities of actions."),
    ] = None,
    workers: WorkersOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """EPIC and STARC distances between two rewards (one-step over sampled responses, or tabular)."""
    from rewardsmith.audit import distance as dist
    from rewardsmith.audit.distance import one_step_tables

    try:
        if a.endswith(".npy") and b.endswith(".npy"):
            import numpy as np

            r1, r2 = np.load(a), np.load(b)
            T = (
                np.load(transitions)
                if transitions is not None
                else dist.uniform_transitions(r1.shape[0], r1.shape[1])
            )
            result = {
                "epic": dist.epic_distance(
                    r1,
                    r2,
                    gamma,
                    state_dist=None if state_dist is None else np.load(state_dist),
                    action_dist=None if action_dist is None else np.load(action_dist),
                    coverage=None if coverage is None else np.load(coverage),
                ),
                "case": "tabular",
                "gamma": gamma,
            }
            if gamma < 1:
                result["starc"] = dist.starc_distance(r1, r2, T, gamma)
            else:
                # STARC levels by policy values, which diverge undiscounted; EPIC stands alone.
                result["starc"] = None
                result["starc_note"] = "STARC needs gamma < 1 (its values diverge at gamma = 1)"
        else:
            if data is None:
                fail("the one-step case needs --data ROWS (prompts with several responses each)")
            assert data is not None
            t1, t2, groups = one_step_tables(read_rows_or_fail(data), a, b, group_field, workers)
            result = {
                "epic": dist.one_step_epic(t1, t2),
                "starc": dist.one_step_starc(t1, t2),
                "case": "one-step",
                "prompts": groups,
                "responses_per_prompt": len(t1[0]),
            }
    except (InputError, ValueError, OSError) as exc:
        fail(str(exc))
    starc = result["starc"]
    console.print(
        f"EPIC {result['epic']:.4f} (0 = same up to shaping and scale, 1 = opposite); "
        + (
            f"STARC {starc:.4f} (0 .. 2)"
            if starc is not None
            else f"STARC -: {result['starc_note']}"
        ),
        highlight=False,
    )
    write_json(json_out, result)

"""The run and reward-geometry commands: ``audit monitor``, ``audit distance``,
``audit overopt`` and ``rewardsmith report`` (registered by `rewardsmith.audit.cli`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rewardsmith.audit._cli import (
    JsonOpt,
    LogDirOpt,
    WorkersOpt,
    console,
    fail,
    jsonable,
    num,
    open_run,
    read_rows_or_fail,
    write_json,
)
from rewardsmith.core.errors import InputError

__all__ = ["distance_command", "monitor_command", "overopt_command", "report"]

# -- monitor ------------------------------------------------------------------------------------


def monitor_command(
    run: Annotated[str, typer.Argument(help="Run id (or prefix); 'last' for the newest.")],
    config: Annotated[Path | None, typer.Option(help="JSON of MonitorConfig thresholds.")] = None,
    input_path: Annotated[
        Path | None,
        typer.Option("--input", help="The run's input rows (default: from its manifest)."),
    ] = None,
    log_dir: LogDirOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """Hacking monitors over a logged run; exits 1 when a threshold is crossed."""
    from rewardsmith.audit.monitor import MonitorConfig, config_from_json, monitor_run

    log, found = open_run(run, log_dir)
    try:
        settings = config_from_json(config.read_text()) if config is not None else MonitorConfig()
        report = monitor_run(log, found, settings, input_path)
    except (InputError, TypeError, ValueError) as exc:
        fail(str(exc))
    table = Table("measure", "value")
    for name, value in report.metrics.items():
        table.add_row(name, json.dumps(jsonable(value)) if isinstance(value, dict) else num(value))
    console.print(table)
    for warning in report.warnings:
        console.print(f"[bold red]warning[/] {warning.check}: {warning.message}", highlight=False)
        for row in warning.rows[:3]:
            console.print(f"    {row}", highlight=False, markup=False)
    write_json(json_out, report.to_dict())
    if report.warnings:
        raise typer.Exit(1)
    console.print("[green]no monitor crossed its threshold[/]")


# -- distance -----------------------------------------------------------------------------------


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
            t1, t2, groups = _one_step_tables(read_rows_or_fail(data), a, b, group_field, workers)
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


def _one_step_tables(
    rows: list[dict[str, Any]], a: str, b: str, field: str, workers: int | None
) -> tuple[Any, Any, int]:
    from rewardsmith.audit.scoring import score_rows
    from rewardsmith.core.spec import load_spec

    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        key = row.get(field, row.get("prompt"))
        if key is None:
            raise InputError(f"row {index}: needs field {field!r} (or 'prompt') to group responses")
        groups.setdefault(json.dumps(key, sort_keys=True), []).append(index)
    sizes = {len(members) for members in groups.values()}
    if len(sizes) != 1 or min(sizes) < 2:
        raise InputError(
            f"every prompt needs the same number (>= 2) of responses; found group sizes {sorted(sizes)}"
        )
    tables = []
    for name in (a, b):
        scores = score_rows(rows, load_spec(name), workers=workers)
        table = []
        for members in groups.values():
            values = []
            for index in members:
                if scores[index].value is None:
                    raise InputError(
                        f"row {index}: {name} gave status {scores[index].status} ({scores[index].reason}); distances need every response scored"
                    )
                values.append(scores[index].value)
            table.append(values)
        tables.append(table)
    return tables[0], tables[1], len(groups)


# -- overopt ------------------------------------------------------------------------------------


def overopt_command(
    points: Annotated[Path, typer.Argument(help="JSONL of {n or kl, proxy, gold} points.")],
    method: Annotated[
        str | None, typer.Option(help="bon or rl (default: from the points).")
    ] = None,
    tolerance: Annotated[
        float, typer.Option(help="Relative-slope gap that counts as divergence.")
    ] = 0.5,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the intervals.")] = 1000,
    json_out: JsonOpt = None,
) -> None:
    """Fit Gao et al.'s over-optimization curves; report the gold peak and the divergence point."""
    from rewardsmith.audit.overopt import Method, fit_overoptimization

    if method is not None and method not in ("bon", "rl"):
        fail(f"--method must be bon or rl, not {method!r}")
    chosen: Method | None = method  # type: ignore[assignment]  # checked just above
    try:
        fit = fit_overoptimization(
            read_rows_or_fail(points), method=chosen, tolerance=tolerance, bootstrap=bootstrap
        )
    except (InputError, ValueError) as exc:
        fail(str(exc))
    table = Table("", "alpha", "beta", "c", "R²")
    for name, curve in (("proxy", fit.proxy), ("gold", fit.gold)):
        table.add_row(name, num(curve.alpha), num(curve.beta), num(curve.c), num(curve.r2))
    console.print(table)
    interval = fit.intervals.get("gold_peak_kl")
    console.print(
        f"gold peaks at KL {num(fit.gold_peak_kl)}"
        + (f" (95% CI {interval[0]:.4g} .. {interval[1]:.4g})" if interval else "")
        + f", gold there {num(fit.gold_peak_value)}; proxy and gold diverge at KL {num(fit.divergence_kl)}",
        highlight=False,
    )
    write_json(json_out, asdict(fit))


# -- report -------------------------------------------------------------------------------------


def report(
    run: Annotated[str, typer.Argument(help="Run id (or prefix); 'last' for the newest.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="HTML file (default: report-<run>.html).")
    ] = None,
    rm: Annotated[
        Path | None,
        typer.Option(help="JSON from `audit rm --json` to add its calibration and length bias."),
    ] = None,
    overopt: Annotated[
        Path | None, typer.Option(help="Over-optimization points (JSONL) to fit and plot.")
    ] = None,
    input_path: Annotated[
        Path | None,
        typer.Option("--input", help="The run's input rows (default: from its manifest)."),
    ] = None,
    config: Annotated[Path | None, typer.Option(help="JSON of monitor thresholds.")] = None,
    log_dir: LogDirOpt = None,
) -> None:
    """Write a self-contained HTML report of a run (plots, monitors; RM and over-optimization)."""
    from rewardsmith.audit.monitor import MonitorConfig, config_from_json
    from rewardsmith.audit.overopt import fit_overoptimization
    from rewardsmith.audit.report import write_report

    log, found = open_run(run, log_dir)
    try:
        settings = config_from_json(config.read_text()) if config is not None else MonitorConfig()
        rm_data = json.loads(rm.read_text()) if rm is not None else None
        fit = (
            fit_overoptimization(read_rows_or_fail(overopt), bootstrap=300)
            if overopt is not None
            else None
        )
        path = write_report(
            log,
            found,
            output or Path(f"report-{found.id}.html"),
            config=settings,
            rm=rm_data,
            overopt=fit,
            input_path=input_path,
        )
    except (InputError, ValueError, OSError) as exc:
        fail(str(exc))
    console.print(f"wrote {path}", highlight=False)

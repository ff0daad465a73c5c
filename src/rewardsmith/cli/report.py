"""``rewardsmith report``: a self-contained HTML report of a logged run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rewardsmith.cli.audit.options import LogDirOpt, console, fail, open_run, read_rows_or_fail
from rewardsmith.core.errors import InputError

__all__ = ["report"]


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

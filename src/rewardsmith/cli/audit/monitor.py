"""``rewardsmith audit monitor``: hacking monitors over a logged run; exits 1 past a threshold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rewardsmith.cli.audit.options import (
    JsonOpt,
    LogDirOpt,
    console,
    fail,
    jsonable,
    num,
    open_run,
    write_json,
)
from rewardsmith.core.errors import InputError

__all__ = ["monitor_command"]


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

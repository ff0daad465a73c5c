"""``rewardsmith check``: lint rows against a spec before training and list the problems."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rewardsmith.cli.common import RewardOpt, SpecOpt, WorkersOpt, console, fail, load_one_spec
from rewardsmith.core.errors import InputError, SpecError

__all__ = ["check"]


def check(
    input: Annotated[Path, typer.Argument(help="Rows to check: .jsonl or .parquet.")],
    spec: SpecOpt = None,
    reward: RewardOpt = None,
    limit: Annotated[
        int, typer.Option(help="Score at most this many rows for the reward-range check.")
    ] = 2000,
    workers: WorkersOpt = None,
    show: Annotated[int, typer.Option(help="Offending rows shown per problem.")] = 5,
) -> None:
    """Lint data against a spec before training; exits 1 when problems are found."""
    from rewardsmith.audit.check import check_file

    loaded = load_one_spec(spec, reward)
    try:
        report = check_file(input, loaded, limit=limit, workers=workers)
    except (InputError, SpecError) as exc:
        fail(str(exc))
    counts = ", ".join(f"{count} {name}" for name, count in report.counts.items())
    console.print(
        f"checked {report.rows} rows of {input} against spec {loaded.name!r}: {counts}",
        highlight=False,
    )
    if report.problems:
        table = Table("problem", "rows")
        for name, examples in report.problems.items():
            table.add_row(f"[red]{name}[/]", str(len(examples)))
        console.print(table)
    for name, examples in report.problems.items():
        console.print(f"[bold red]{name}[/] (first {min(show, len(examples))}):", highlight=False)
        for row_id, message in examples[:show]:
            console.print(f"  {row_id}: {message}", highlight=False, markup=False)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    if report.problems:
        raise typer.Exit(1)
    console.print("[green]no problems found[/]")

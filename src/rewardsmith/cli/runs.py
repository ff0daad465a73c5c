"""``rewardsmith runs``, ``show`` and ``query``: read the run log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from rewardsmith.cli.common import LogDir, console, fail
from rewardsmith.cli.summary import print_summary, run_usage
from rewardsmith.core.errors import InputError

__all__ = ["query", "runs", "show"]


def runs(log_dir: LogDir = None) -> None:
    """List the runs in the run log (tab-separated when stdout is not a terminal)."""
    from rewardsmith.io.runlog import RunLog

    log = RunLog(log_dir)
    header = ("run", "created", "status", "spec", "rows", "input")
    rows = [
        (
            run.id,
            str(run.manifest.get("created_at", ""))[:19],
            str(run.manifest.get("status")),
            str(run.manifest.get("spec_name")),
            str(run.row_count()),
            str(run.manifest.get("input") or ""),
        )
        for run in log.runs()
    ]
    if not rows:
        console.print(f"no runs under {log.root}", highlight=False)
        return
    _print_rows(header, rows)


def _print_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A table on a terminal; tab-separated lines otherwise, so a pipe (`| grep`, `| cut`)
    gets every value whole instead of a table cut to 80 columns."""
    if console.is_terminal:
        table = Table(*header)
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    for line in (header, *rows):
        print("\t".join(value.replace("\t", " ").replace("\n", " ") for value in line))


def show(
    run: Annotated[str, typer.Argument(help="Run id (or a unique prefix); 'last' for the newest.")],
    log_dir: LogDir = None,
) -> None:
    """Summarise one run: provenance, reward statistics, status counts, component means."""
    from rewardsmith.io.runlog import RunLog, run_summary

    log = RunLog(log_dir)
    try:
        found = _open_run(log, run)
    except InputError as exc:
        fail(str(exc))
    summary = run_summary(log, found)
    manifest = found.manifest
    console.print(
        f"run {found.id}  ({manifest.get('status')}, created {manifest.get('created_at')})",
        highlight=False,
    )
    console.print(
        f"spec {manifest.get('spec_name')!r} hash {manifest.get('spec_hash')}  "
        f"rewardsmith {manifest.get('rewardsmith_version')}  python {manifest.get('python')}",
        highlight=False,
    )
    for term, info in manifest.get("rewards", {}).items():
        console.print(f"  term {term}: {info.get('name')}@{info.get('version')}", highlight=False)
    console.print(
        f"input {manifest.get('input')}\noutput {manifest.get('output')}", highlight=False
    )
    print_summary(summary, run_usage(log_dir, found.id))


def query(
    sql: Annotated[str, typer.Argument(help="SQL over the views `scores` and `runs`.")],
    run: Annotated[
        str | None,
        typer.Option(help="Restrict `scores` to one run (id, unique prefix, or 'last')."),
    ] = None,
    log_dir: LogDir = None,
) -> None:
    """Run any SQL over the run log with DuckDB (`scores` rows, `runs` manifests)."""
    import duckdb

    from rewardsmith.io.runlog import RunLog

    log = RunLog(log_dir)
    try:
        connection = log.connect(_open_run(log, run) if run else None)
        result = connection.execute(sql)
    except InputError as exc:
        fail(str(exc))
    except duckdb.Error as exc:
        fail(f"query failed: {exc}")
    header = tuple(str(column[0]) for column in result.description)
    _print_rows(header, [tuple(_cell(value) for value in row) for row in result.fetchall()])


def _open_run(log: Any, run: str) -> Any:
    """A run by id or unique prefix; ``last`` is the newest (as `show` and `audit` take it)."""
    return log.latest() if run == "last" else log.open(run)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)

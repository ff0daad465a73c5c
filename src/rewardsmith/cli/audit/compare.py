"""``rewardsmith audit compare``: two rewards (or logged runs) on the same rows, and where they
differ."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rewardsmith.cli.audit.options import (
    JsonOpt,
    LogDirOpt,
    WorkersOpt,
    console,
    fail,
    num,
    read_rows_or_fail,
    write_json,
)
from rewardsmith.core.errors import InputError, RewardsmithError

__all__ = ["compare_command"]


def compare_command(
    a: Annotated[
        str, typer.Argument(help="Reward name, spec file, or run:<id> to replay a logged run.")
    ],
    b: Annotated[str, typer.Argument(help="Reward name, spec file, or run:<id>.")],
    data: Annotated[
        Path | None, typer.Option("--data", "-d", help="Rows to score (not needed for two runs).")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Values at or above it count as accept.")] = 1.0,
    show: Annotated[int, typer.Option(help="Differing rows shown.")] = 10,
    workers: WorkersOpt = None,
    log_dir: LogDirOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """Score the same rows with two rewards (or replay runs) and show where they differ."""
    from rewardsmith.audit.compare import compare_scores

    rows = read_rows_or_fail(data) if data is not None else None
    ids_a, scores_a = _side(a, rows, workers, log_dir)
    ids_b, scores_b = _side(b, rows, workers, log_dir)
    if len(scores_a) != len(scores_b):
        fail(
            f"{a} has {len(scores_a)} rows but {b} has {len(scores_b)}; compare runs over the same input"
        )
    for position, (x, y) in enumerate(zip(ids_a, ids_b, strict=True)):
        if x != y:
            fail(
                f"row {position}: id {x!r} in {a} but {y!r} in {b}; the two sides are not the same rows"
            )
    result = compare_scores(ids_a, scores_a, scores_b, threshold=threshold, show=max(show, 50))
    console.print(
        f"{result.rows} rows: verdicts agree on {result.agreement:.2%}; both ok on {result.both_ok} "
        f"({result.equal_values} equal values); Pearson {num(result.pearson)}, Spearman {num(result.spearman)}, "
        f"mean |A-B| {num(result.mean_abs_diff)}",
        highlight=False,
    )
    verdicts = sorted(
        {k for k in result.confusion} | {k for row in result.confusion.values() for k in row}
    )
    table = Table(f"A \\ B (threshold {threshold:g})", *verdicts)
    for va in verdicts:
        table.add_row(va, *[str(result.confusion.get(va, {}).get(vb, 0)) for vb in verdicts])
    console.print(table)
    for row in result.differences[:show]:
        console.print(
            f"  {row['id']}: A {num(row['a'])} ({row['a_status']}) vs B {num(row['b'])} ({row['b_status']})",
            highlight=False,
            markup=False,
        )
    write_json(json_out, result.to_dict())


def _side(
    name: str, rows: list[dict[str, Any]] | None, workers: int | None, log_dir: Path | None
) -> tuple[list[str], list[Any]]:
    from rewardsmith.audit.compare import logged_scores
    from rewardsmith.audit.scoring import score_rows
    from rewardsmith.core.spec import load_spec
    from rewardsmith.io.runlog import RunLog

    if name.startswith("run:"):
        log = RunLog(log_dir)
        try:
            return logged_scores(log.open(name[4:]), len(rows) if rows is not None else None)
        except InputError as exc:
            fail(str(exc))
    if rows is None:
        fail(f"{name!r} is a reward, so --data ROWS is needed to score")
    try:
        spec = load_spec(name)
    except RewardsmithError as exc:
        fail(str(exc))
    assert rows is not None
    return [str(r.get("id", f"row-{i}")) for i, r in enumerate(rows)], score_rows(
        rows, spec, workers=workers
    )

"""``rewardsmith audit qa``: a verifier's accuracy and false-accept/false-reject rates on
labelled cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rewardsmith.cli.audit.options import (
    JsonOpt,
    RewardOpt,
    SpecOpt,
    WorkersOpt,
    console,
    fail,
    num,
    read_rows_or_fail,
    spec_option,
    write_json,
)
from rewardsmith.core.errors import InputError

__all__ = ["qa_command"]


def qa_command(
    cases: Annotated[Path, typer.Option("--cases", "-c", help="Labelled cases (.jsonl/.parquet).")],
    reward: RewardOpt = None,
    spec: SpecOpt = None,
    threshold: Annotated[
        float, typer.Option(help="Values at or above it count as accepted.")
    ] = 1.0,
    completion_field: Annotated[
        str, typer.Option(help="Field with the answer (e.g. pred).")
    ] = "completion",
    reference_field: Annotated[
        str, typer.Option(help="Field with the gold answer (e.g. gold).")
    ] = "reference",
    label_field: Annotated[
        str | None, typer.Option(help="expected (bool) or label (right/wrong/hack).")
    ] = None,
    category_field: Annotated[str, typer.Option(help="Field to group rates by.")] = "category",
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="Drop cases whose FIELD equals VALUE, as FIELD=VALUE (repeatable)."),
    ] = None,
    show: Annotated[int, typer.Option(help="Disagreeing rows shown.")] = 10,
    workers: WorkersOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """Accuracy, false-accept and false-reject rates of a verifier on labelled cases."""
    from rewardsmith.audit.qa import verifier_qa

    loaded = spec_option(spec, reward)
    rows = read_rows_or_fail(cases)
    for rule in exclude or []:
        field, sep, value = rule.partition("=")
        if not sep:
            fail(f"--exclude {rule!r}: write FIELD=VALUE")
        rows = [row for row in rows if str(row.get(field)) != value]
    try:
        report = verifier_qa(
            rows,
            loaded,
            threshold=threshold,
            completion_field=completion_field,
            reference_field=reference_field,
            label_field=label_field,
            category_field=category_field,
            workers=workers,
            source=str(cases),
        )
    except InputError as exc:
        fail(str(exc))
    table = Table("category", "cases", "accuracy", "false accept (95% CI)", "false reject (95% CI)")
    for name, rates in [*report.by_category.items(), ("[bold]all[/]", report.overall)]:
        intervals = rates.intervals()
        table.add_row(
            name,
            str(rates.cases),
            num(rates.accuracy),
            _rate(
                rates.false_accept_rate,
                intervals["false_accept_rate"],
                rates.false_accepts,
                rates.wrong,
            ),
            _rate(
                rates.false_reject_rate,
                intervals["false_reject_rate"],
                rates.false_rejects,
                rates.right,
            ),
        )
    console.print(table)
    console.print(
        f"statuses: {report.statuses}; skipped (no usable label): {report.skipped}", highlight=False
    )
    for row in report.disagreements[:show]:
        kind = "false accept" if not row["expected"] else "false reject"
        console.print(
            f"  {kind} {row['id']} [{row['category']}]: value {num(row['value'])} ({row['status']}) "
            f"{row['reason'][:120]}",
            highlight=False,
            markup=False,
        )
    write_json(json_out, report.to_dict())


def _rate(rate: float | None, interval: tuple[float, float] | None, hits: int, total: int) -> str:
    if rate is None or interval is None:
        return "-"
    return f"{rate:.4f} ({hits}/{total}) [{interval[0]:.4f}, {interval[1]:.4f}]"

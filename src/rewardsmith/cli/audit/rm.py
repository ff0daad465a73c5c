"""``rewardsmith audit rm``: RewardBench-style results of a reward, as tables."""

from __future__ import annotations

import json
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

__all__ = ["rm_command"]


def rm_command(
    data: Annotated[
        Path,
        typer.Option("--data", "-d", help="RewardBench v1/v2 or contrast rows (.jsonl/.parquet)."),
    ],
    reward: RewardOpt = None,
    spec: SpecOpt = None,
    sections: Annotated[
        Path | None,
        typer.Option(
            help="JSON {section: [subsets]} for v1 section scores (default RewardBench's)."
        ),
    ] = None,
    bins: Annotated[int, typer.Option(help="Calibration bins.")] = 10,
    workers: WorkersOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """RewardBench-style results of a reward (or of scores already in the rows)."""
    from rewardsmith.audit.rm import evaluate_rm

    loaded = spec_option(spec, reward, required=False)
    mapping = None
    if sections is not None:
        try:
            mapping = json.loads(sections.read_text())
        except (OSError, ValueError) as exc:
            fail(f"--sections {sections}: {exc}")
        if not isinstance(mapping, dict) or not all(isinstance(v, list) for v in mapping.values()):
            fail(f"--sections {sections}: expected a JSON object {{section: [subsets]}}")
    try:
        report = evaluate_rm(
            read_rows_or_fail(data),
            loaded,
            sections=mapping,
            bins=bins,
            workers=workers,
            source=str(data),
        )
    except (InputError, ValueError) as exc:
        fail(str(exc))
    source = "scores in the rows" if loaded is None else f"spec {loaded.name!r}"
    console.print(f"{report.rows} {report.format} rows from {data}, {source}", highlight=False)
    result = report.v1 or report.v2
    if result is not None:
        table = Table("subset", "items", "score")
        for name, value in result.subsets.items():
            table.add_row(name, str(result.counts[name]), num(value))
        if report.v1 is not None:
            for name, value in report.v1.sections.items():
                table.add_row(f"[bold]section {name}[/]", "", num(value))
            table.add_row(
                "[bold]all pairs (accuracy)[/]", str(report.v1.pairs), num(report.v1.accuracy)
            )
            table.add_row("ties (counted wrong)", str(report.v1.ties), "")
        if report.v2 is not None and report.v2.ties is not None:
            ties = report.v2.ties
            table.add_row(
                "  Ties: tied / ref accuracy",
                "",
                f"{ties.tied_accuracy:.4f} / {ties.ref_accuracy:.4f}",
            )
        table.add_row("[bold]leaderboard score[/]", "", num(result.score))
        console.print(table)
    extra = Table("metric", "value")
    if report.one_vs_many is not None:
        extra.add_row("one-vs-many accuracy", num(report.one_vs_many.accuracy))
        extra.add_row("mean reciprocal rank", num(report.one_vs_many.mrr))
    if report.consistency is not None:
        extra.add_row("response consistency", num(report.consistency.response))
        extra.add_row("instruction consistency", num(report.consistency.instruction))
    if report.calibration is not None:
        extra.add_row("calibration ECE (T=1)", num(report.calibration.ece))
        extra.add_row("Brier score (T=1)", num(report.calibration.brier))
        if report.calibration.no_skill:
            extra.add_row(
                "[red]fitted temperature[/]",
                "none: no skill (the reward prefers the rejected answer on average, "
                f"mean margin {report.calibration.mean_margin:.4g})",
            )
        else:
            extra.add_row("fitted temperature", num(report.calibration.temperature))
            extra.add_row("ECE at fitted T", num(report.calibration.ece_at_temperature))
    if report.length_bias is not None:
        bias = report.length_bias
        extra.add_row("longer answer scored higher", num(bias.longer_wins))
        extra.add_row("chosen answer is longer (labels)", num(bias.chosen_longer))
        extra.add_row("Pearson(reward, length)", num(bias.pearson))
        extra.add_row("Spearman(reward, length)", num(bias.spearman))
    for status, count in report.failed_scores.items():
        extra.add_row(f"[red]answers with status {status}[/]", str(count))
    console.print(extra)
    write_json(json_out, report.to_dict())

"""``rewardsmith audit probes``: adversarial probes of a reward; exits 1 when one is paid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
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

__all__ = ["probes_command"]


def probes_command(
    data: Annotated[
        Path, typer.Option("--data", "-d", help="Rows whose prompt and reference the probes reuse.")
    ],
    reward: RewardOpt = None,
    spec: SpecOpt = None,
    family: Annotated[
        list[str] | None,
        typer.Option(
            help="master_key, answer_hack, format, judge_key or custom_key (repeatable); "
            "judge_key runs by default for specs with judge terms."
        ),
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option(help="A text file of your own content-free phrases, one per line."),
    ] = None,
    above: Annotated[
        float, typer.Option(help="A probe is paid when its value is above this.")
    ] = 0.0,
    limit: Annotated[int, typer.Option(help="Data rows used per probe.")] = 200,
    key_rows: Annotated[
        int, typer.Option(help="Data rows used per judge_key/custom_key probe (fixed texts).")
    ] = 5,
    workers: WorkersOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """Adversarial probes (master keys, answer hacks, empty formats, generated judge keys);
    judge terms are probed with guards off and on. Exits 1 if any probe is paid as configured."""
    from rewardsmith.audit.probes import run_probes

    loaded = spec_option(spec, reward)
    phrases = None
    if keys is not None:
        try:
            phrases = [line.strip() for line in keys.read_text().splitlines() if line.strip()]
        except OSError as exc:
            fail(f"--keys {keys}: {exc}")
    try:
        report = run_probes(
            read_rows_or_fail(data),
            loaded,
            families=family,
            above=above,
            limit=limit,
            workers=workers,
            keys=phrases,
            key_rows=key_rows,
        )
    except (InputError, ValueError) as exc:
        fail(str(exc))
    guard_columns = ["paid, guards off", "caught by guards"] if report.guards_compared else []
    table = Table(
        "probe", "family", "rows", *guard_columns, "paid", "false-positive rate", "mean value",
        "statuses",
    )  # fmt: skip
    for result in report.results:
        style = "red" if result.false_positives else "green"
        extra = [str(result.paid_unguarded), str(result.caught)] if report.guards_compared else []
        table.add_row(
            escape(result.name),
            result.family,
            str(result.rows),
            *extra,
            str(result.false_positives),
            f"[{style}]{result.rate:.2%}[/]",
            num(result.mean_value),
            ", ".join(f"{k} {v}" for k, v in result.statuses.items()),
        )
    console.print(table)
    if report.guards_compared:
        paid = report.judge_paid()
        caught = sum(1 for r in report.results if r.caught)
        console.print(
            f"the judge itself (guards off) paid {len(paid)} of {len(report.results)} probes; "
            f"the guards caught {caught}",
            highlight=False,
        )
        learned = report.learned_phrases()
        if learned:
            console.print(
                "still paid with guards on; add to the judge term: guard_phrases = "
                + json.dumps(learned, ensure_ascii=False),
                highlight=False,
                markup=False,
            )
    for result in report.results:
        for example in result.examples[:1]:
            console.print(
                f"  paid: {result.name} on {example['id']} -> {example['value']:g}: {example['completion'][:80]!r}",
                highlight=False,
                markup=False,
            )
    write_json(json_out, report.to_dict())
    if not report.ok:
        raise typer.Exit(1)
    console.print("[green]no probe was paid[/]")

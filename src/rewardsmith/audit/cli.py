"""``rewardsmith audit ...`` and ``rewardsmith report``: the audit commands.

Registered on the main app by `rewardsmith.cli` (``app.add_typer(audit_app, name="audit")``,
``app.command("report")(report)``). Every command prints a summary table and, with
``--json PATH``, writes every number it computed. The benchmark commands (rm, qa, compare,
probes) live here; the run and reward-geometry commands in `rewardsmith.audit.cli_runs`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from rewardsmith.audit._cli import (
    JsonOpt,
    LogDirOpt,
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
from rewardsmith.audit.cli_runs import distance_command, monitor_command, overopt_command, report
from rewardsmith.core.errors import InputError, RewardsmithError

__all__ = ["audit_app", "report"]

audit_app = typer.Typer(
    help="Measure rewards: reward-model benchmarks, verifier QA, probes, monitors, distances.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# -- rm -----------------------------------------------------------------------------------------


@audit_app.command("rm")
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


# -- qa -----------------------------------------------------------------------------------------


@audit_app.command("qa")
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


# -- compare ------------------------------------------------------------------------------------


@audit_app.command("compare")
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


# -- probes -------------------------------------------------------------------------------------


@audit_app.command("probes")
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


audit_app.command("monitor")(monitor_command)
audit_app.command("distance")(distance_command)
audit_app.command("overopt")(overopt_command)

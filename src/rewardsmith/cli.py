"""The ``rewardsmith`` command: score files, lint data against a spec, list rewards, read runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rewardsmith.audit.cli import audit_app, report
from rewardsmith.cli_common import LogDir, errors, fail
from rewardsmith.core.errors import InputError, RewardFailedError, RewardsmithError, SpecError
from rewardsmith.core.registry import default_registry
from rewardsmith.core.spec import Spec, load_spec
from rewardsmith.envs.cli import design
from rewardsmith.models.cli import rm_app

app = typer.Typer(
    help="rewardsmith: define, verify, compose, serve and audit reward signals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        raise SystemExit(130) from None


def _load(spec: str | None, reward: str | None) -> Spec:
    if (spec is None) == (reward is None):
        fail("give exactly one of --spec SPEC.toml or --reward NAME")
    try:
        return load_spec(spec if spec is not None else reward)
    except SpecError as exc:
        fail(str(exc))


@app.command()
def score(
    input: Annotated[Path, typer.Argument(help="Rows to score: .jsonl or .parquet.")],
    reward: Annotated[
        str | None, typer.Option("--reward", "-r", help="A registered reward name.")
    ] = None,
    spec: Annotated[str | None, typer.Option("--spec", "-s", help="A TOML spec file.")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write scored rows (.jsonl or .parquet)."),
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes for cpu rewards.")] = None,
    memory_mb: Annotated[
        int | None,
        typer.Option(
            "--memory-mb",
            help="Resident memory (MiB) a worker may hold while it scores a row; past it the row "
            "is 'error' (memory limit) [default: the spec's limits.worker_memory_mb, else 4096; "
            "0: no limit].",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue the last run of this spec on this input.")
    ] = False,
    chunk_size: Annotated[
        int | None,
        typer.Option(help="Rows scored per engine call [default: 512; 16384 with --backend ray]."),
    ] = None,
    log_dir: LogDir = None,
    backend: Annotated[
        str,
        typer.Option(
            help="'local' (worker processes) or 'ray' (Ray Data over engine actors; --workers = actors)."
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="Ray cluster for --backend ray (default: local)."),
    ] = None,
    progress_every: Annotated[
        float,
        typer.Option(
            help="Seconds between progress lines on stderr when it is not a terminal (a log "
            "file); a terminal gets a live bar instead."
        ),
    ] = 5.0,
) -> None:
    """Score a JSONL or Parquet file and write the scored rows.

    Exits 0 when rows were scored, 1 when no row could be scored (every row failed: the
    summary names each failure status's first reason), 2 on a bad command, spec or file.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from rewardsmith.engine.files import FileProgress, score_file

    for name, value, low in (
        ("--workers", workers, 1),
        ("--chunk-size", chunk_size, 1),
        ("--memory-mb", memory_mb, 0),
    ):
        if value is not None and value < low:
            fail(f"{name} must be at least {low}, got {value}")
    if progress_every <= 0:
        fail(f"--progress-every must be a positive number of seconds, got {progress_every:g}")
    loaded = _load(spec, reward)
    engine = None
    if backend == "ray":
        from rewardsmith.integrations.ray import RayEngine

        # Offline scoring goes through Ray Data (map_batches over engines), as ARCHITECTURE.md
        # decides; a Ray Data run costs ~1.5 s to start, so chunks are large.
        engine = RayEngine(workers, address=ray_address, data=True)
        chunk_size = chunk_size or 16384
    elif backend != "local":
        fail(f"--backend must be 'local' or 'ray', not {backend!r}")
    # A bar with rows/s and ETA on a terminal; nothing otherwise (the summary comes at the end).
    bar = Progress(
        TextColumn("scoring"),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s"),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
        disable=not errors.is_terminal,
    )
    task = bar.add_task("scoring", total=1.0, rows=0, rate=0.0)
    last_line = [0.0]

    def show(done: FileProgress) -> None:
        if errors.is_terminal:
            bar.update(task, completed=done.fraction or 0.0, rows=done.rows, rate=done.rows_per_s)
        elif done.elapsed_s - last_line[0] >= progress_every:
            # A log file wants a line now and then, not a bar redrawn in place.
            last_line[0] = done.elapsed_s
            errors.print(_progress_line(done), highlight=False, soft_wrap=True)

    try:
        with bar:
            summary = score_file(
                input,
                loaded,
                output=output,
                workers=workers,
                resume=resume,
                chunk_size=chunk_size or 512,
                log_dir=log_dir,
                engine=engine,
                progress=show,
                memory_mb=memory_mb,
            )
    except KeyboardInterrupt:
        errors.print("interrupted: every row scored so far is in the run log; rerun with --resume")
        raise typer.Exit(130) from None
    except RewardFailedError as exc:
        fail(str(exc), code=1)
    except (RewardsmithError, ImportError) as exc:
        fail(str(exc))
    except OSError as exc:  # e.g. the input vanished or the disk filled up mid-run
        fail(f"{exc}; rows scored so far are in the run log: rerun with --resume")
    finally:
        if engine is not None:
            engine.close()
    _print_summary(summary, _run_usage(log_dir, summary.get("run_id")))
    if summary["rows"] and not summary["status_counts"].get("ok"):
        reasons = "; ".join(
            f"{count} {status} (first: {summary.get('first_reasons', {}).get(status, '?')})"
            for status, count in summary["status_counts"].items()
            if count
        )
        fail(f"no row could be scored: {reasons}", code=1)
    if not summary["rows"]:
        errors.print(f"warning: {input} has no rows", highlight=False)


def _print_sandbox(sandbox: dict[str, Any] | None) -> None:
    """Say when programs ran with less than full isolation, and why rows were refused (once:
    the reason names the fix)."""
    if not sandbox:
        return
    weak = sandbox.get("levels", {}).get("trusted-code-only")
    if weak:
        unmet = ", ".join(sandbox.get("unmet") or []) or "none on this machine"
        errors.print(
            f"[bold yellow]warning:[/] {weak} rows ran programs at sandbox level "
            f"'trusted-code-only' (for code you trust, never a policy's output); unmet "
            f"requirements: {escape(unmet)}",
            highlight=False,
            soft_wrap=True,
        )
    if sandbox.get("refused"):
        errors.print(
            f"[bold yellow]sandbox refused rows:[/] {escape(str(sandbox['refused']))}",
            highlight=False,
            soft_wrap=True,
        )


def _progress_line(done: Any) -> str:
    """One progress line for a log file: rows, share of the input, rate and time left."""
    share = f" ({done.fraction:.0%})" if done.fraction is not None else ""
    eta = f", about {done.eta_s:.0f}s left" if done.eta_s is not None else ""
    return (
        f"scoring: {done.rows:,} rows{share} in {done.elapsed_s:.0f}s, "
        f"{done.rows_per_s:,.0f} rows/s{eta}"
    )


@app.command()
def serve(
    spec: Annotated[str | None, typer.Option("--spec", "-s", help="A TOML spec file.")] = None,
    reward: Annotated[
        str | None, typer.Option("--reward", "-r", help="A registered reward name.")
    ] = None,
    host: Annotated[
        str, typer.Option(help="Interface to bind (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one.")] = 8000,
    workers: Annotated[int | None, typer.Option(help="Worker processes for cpu rewards.")] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="REWARDSMITH_TOKEN", help="Require 'Authorization: Bearer TOKEN'."),
    ] = None,
    max_batch_rows: Annotated[int, typer.Option(help="Most rows per request (413 above).")] = 4096,
    max_queue_rows: Annotated[int, typer.Option(help="Queued rows before 429.")] = 65536,
    max_body_mb: Annotated[float, typer.Option(help="Largest request body (413 above).")] = 64.0,
    masked_reward: Annotated[
        str,
        typer.Option(
            help="/get_reward reward of a masked row, flagged by rewardsmith/masked (OpenRLHF "
            "cannot skip a row or take null); 'null' sends null."
        ),
    ] = "0.0",
    eos_marker: Annotated[
        list[str] | None,
        typer.Option(
            "--eos-marker",
            help="An end-of-sequence marker to strip from /get_reward completions, added to the "
            "defaults (Qwen, Llama 3, DeepSeek, Mistral, Gemma, Phi); repeatable.",
        ),
    ] = None,
    default_task: Annotated[
        str | None,
        typer.Option(help="Task of rows sent without one (routes terms with `when`)."),
    ] = None,
    header_timeout_s: Annotated[
        float, typer.Option(help="Seconds a request's headers may take (408 after).")
    ] = 10.0,
    body_timeout_s: Annotated[
        float, typer.Option(help="Seconds a request's body may take (408 after).")
    ] = 30.0,
    max_pending_body_mb: Annotated[
        float,
        typer.Option(help="Request bodies held at once while being received (503 above)."),
    ] = 256.0,
    coalesce: Annotated[
        bool,
        typer.Option(
            "--coalesce",
            help="Score concurrent requests of a cpu/io spec in one engine call: more rows/s for "
            "per-sample callers, but a hanging row then delays the requests scored with it.",
        ),
    ] = False,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not write the run log.")] = False,
    log_dir: LogDir = None,
) -> None:
    """Serve a spec over HTTP: /v1/score, OpenRLHF's /get_reward, /healthz, /metrics."""
    from rewardsmith.serve import ServeConfig, run_server
    from rewardsmith.serve.config import DEFAULT_END_TOKENS

    loaded = _load(spec, reward)
    try:
        config = ServeConfig(
            host=host,
            port=port,
            workers=workers,
            token=token or None,
            max_batch_rows=max_batch_rows,
            max_queue_rows=max_queue_rows,
            max_body_bytes=int(max_body_mb * 1024 * 1024),
            max_pending_body_bytes=int(max_pending_body_mb * 1024 * 1024),
            masked_reward=_masked_value(masked_reward),
            end_tokens=DEFAULT_END_TOKENS + tuple(m for m in eos_marker or [] if m),
            default_task=default_task,
            header_timeout_s=header_timeout_s,
            body_timeout_s=body_timeout_s,
            coalesce=True if coalesce else None,
            log=not no_log,
            log_dir=log_dir,
        )
    except ValueError as exc:
        fail(str(exc))
    try:
        run_server(loaded, config)
    except (ImportError, OSError, SpecError) as exc:
        fail(str(exc))


def _masked_value(text: str) -> float | None:
    if text.strip().lower() in ("null", "none"):
        return None
    try:
        return float(text)
    except ValueError:
        fail(f"--masked-reward takes a number or 'null', not {text!r}")
    return None  # unreachable: fail() exits


@app.command()
def check(
    input: Annotated[Path, typer.Argument(help="Rows to check: .jsonl or .parquet.")],
    spec: Annotated[str | None, typer.Option("--spec", "-s", help="A TOML spec file.")] = None,
    reward: Annotated[
        str | None, typer.Option("--reward", "-r", help="A registered reward name.")
    ] = None,
    limit: Annotated[
        int, typer.Option(help="Score at most this many rows for the reward-range check.")
    ] = 2000,
    workers: Annotated[int | None, typer.Option(help="Worker processes for cpu rewards.")] = None,
    show: Annotated[int, typer.Option(help="Offending rows shown per problem.")] = 5,
) -> None:
    """Lint data against a spec before training; exits 1 when problems are found."""
    from rewardsmith.audit.check import check_file

    loaded = _load(spec, reward)
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


@app.command("list")
def list_command() -> None:
    """List every registered reward with its kind, version and one-line description."""
    table = Table("reward", "kind", "version", "description")
    for name in default_registry.names():
        try:
            reward = default_registry.get(name)
        except RewardsmithError as exc:
            table.add_row(name, "-", "-", f"[red]unavailable: {exc}[/]")
            continue
        kind = reward.kind + (" (inline)" if reward.inline else "")
        table.add_row(name, kind, reward.version, reward.summary)
    console.print(table)


@app.command()
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


@app.command()
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
    _print_summary(summary, _run_usage(log_dir, found.id))


@app.command()
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


def _run_usage(log_dir: Path | None, run_id: str | None) -> dict[str, Any] | None:
    """Judge calls, tokens and cost logged in a run (each real request once), or None."""
    if run_id is None:
        return None
    from rewardsmith.audit.logged import run_usage
    from rewardsmith.io.runlog import RunLog

    log = RunLog(log_dir)
    return run_usage(log, log.open(run_id))


def _print_summary(summary: dict[str, Any], usage: dict[str, Any] | None = None) -> None:
    mean = summary.get("mean_reward")
    table = Table(title=f"{summary['rows']} rows, {summary['scored']} with a reward")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("mean reward", "-" if mean is None else f"{mean:.4f}")
    for name, value in sorted(summary["component_means"].items()):
        table.add_row(f"  mean {name}", f"{value:.4f}")
    for status, count in summary["status_counts"].items():
        if count or status == "ok":
            table.add_row(f"status {status}", str(count))
    if usage is not None:
        table.add_row("judge calls (failed)", f"{usage['calls']} ({usage['failed_calls']})")
        table.add_row("judge cache hits", str(usage["cached_calls"]))
        table.add_row(
            "judge tokens in / out", f"{usage['prompt_tokens']} / {usage['completion_tokens']}"
        )
        table.add_row("judge cost (USD)", f"{usage['cost_usd']:.6f}")
    console.print(table)
    _print_sandbox(summary.get("sandbox"))
    for key in ("output", "run_id", "resumed_rows", "rescored_changed_rows"):
        if summary.get(key) is not None:
            console.print(f"{key.replace('_', ' ')}: {summary[key]}", highlight=False)


@app.command()
def doctor() -> None:
    """Show which sandbox protections are active here, checked by running real programs."""
    from rewardsmith.sandbox.__main__ import main as sandbox_report

    raise typer.Exit(sandbox_report())


# Commands that live with their subsystems, registered after the core ones so `--help` lists
# scoring first.
app.add_typer(rm_app, name="rm")
app.add_typer(audit_app, name="audit")
app.command("report")(report)
app.command("design")(design)


if __name__ == "__main__":
    main()

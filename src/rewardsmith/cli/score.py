"""``rewardsmith score``: score a rows file through the engine, with a progress bar on a
terminal (a line every few seconds in a log file) and the run's summary at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rewardsmith.cli.common import (
    LogDir,
    MemoryOpt,
    RewardOpt,
    SpecOpt,
    WorkersOpt,
    errors,
    fail,
    load_one_spec,
)
from rewardsmith.cli.summary import print_ray_recovery, print_summary, run_usage
from rewardsmith.core.errors import RewardFailedError, RewardsmithError
from rewardsmith.core.spec import Spec, resolve_terms

__all__ = ["score"]


def score(
    input: Annotated[Path, typer.Argument(help="Rows to score: .jsonl or .parquet.")],
    reward: RewardOpt = None,
    spec: SpecOpt = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write scored rows (.jsonl or .parquet)."),
    ] = None,
    workers: WorkersOpt = None,
    memory_mb: MemoryOpt = None,
    resume: Annotated[
        bool, typer.Option(help="Continue the last run of this spec on this input.")
    ] = False,
    chunk_size: Annotated[
        int | None,
        typer.Option(
            help="Rows scored per engine call \\[default: 512; 16384 with --backend ray]."
        ),
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
    loaded = load_one_spec(spec, reward)
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
    usage = run_usage(log_dir, summary.get("run_id")) if _may_log_usage(loaded) else None
    print_summary(summary, usage)
    print_ray_recovery(getattr(engine, "recovery", None))
    if summary["rows"] and not summary["status_counts"].get("ok"):
        reasons = "; ".join(
            f"{count} {status} (first: {summary.get('first_reasons', {}).get(status, '?')})"
            for status, count in summary["status_counts"].items()
            if count
        )
        fail(f"no row could be scored: {reasons}", code=1)
    if not summary["rows"]:
        errors.print(f"warning: {input} has no rows", highlight=False)


def _progress_line(done: Any) -> str:
    """One progress line for a log file: rows, share of the input, rate and time left."""
    share = f" ({done.fraction:.0%})" if done.fraction is not None else ""
    eta = f", about {done.eta_s:.0f}s left" if done.eta_s is not None else ""
    return (
        f"scoring: {done.rows:,} rows{share} in {done.elapsed_s:.0f}s, "
        f"{done.rows_per_s:,.0f} rows/s{eta}"
    )


def _may_log_usage(spec: Spec) -> bool:
    """Whether a term may call a model and log its usage: an ``io`` reward, or one run in a
    worker (the math reward's ``llm`` add-on). Inline rewards call none, and finding usage
    scans the info of every logged row (DuckDB's import alone is ~0.15 s)."""
    return any(not term.reward.inline or term.reward.kind == "io" for term in resolve_terms(spec))

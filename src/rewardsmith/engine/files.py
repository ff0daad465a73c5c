"""Score a whole file: read in chunks, score, log every row, resume, write the output."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.spec import ResolvedTerm, Spec, resolve_terms
from rewardsmith.engine.batch import summarize
from rewardsmith.engine.engine import Engine, Row, prepare_rows
from rewardsmith.io.readers import count_rows, file_format, iter_row_chunks
from rewardsmith.io.runlog import RunLog
from rewardsmith.io.writers import output_row, write_rows

__all__ = ["default_output_path", "score_file"]


def default_output_path(input_path: Path) -> Path:
    """``data.jsonl`` -> ``data.scored.jsonl`` (same folder, same format)."""
    name = input_path.name
    for suffix in (".jsonl.gz", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"):
        if name.lower().endswith(suffix):
            stem = name[: -len(suffix)]
            out_suffix = ".parquet" if suffix in (".parquet", ".pq") else ".jsonl"
            return input_path.with_name(f"{stem}.scored{out_suffix}")
    return input_path.with_name(name + ".scored.jsonl")


def score_file(
    input_path: str | Path,
    spec: Spec,
    *,
    output: str | Path | None = None,
    workers: int | None = None,
    resume: bool = False,
    chunk_size: int = 512,
    log_dir: str | Path | None = None,
    engine: Engine | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Score every row of a file, log each to the run log, and write the scored rows.

    With ``resume``, rows already in the newest run of this spec over this input are taken from
    the log instead of being scored again, and the run continues under the same id.

    Returns the summary (mean reward, component means, status counts) plus ``output``,
    ``run_id`` and ``resumed_rows``.
    """
    input_path = Path(input_path)
    output_path = Path(output) if output is not None else default_output_path(input_path)
    file_format(output_path)  # reject an unknown output type before any work
    terms = resolve_terms(spec)
    log = RunLog(log_dir)
    run = log.latest_matching(str(input_path), spec.content_hash()) if resume else None
    logged = run.logged_rows() if run is not None else {}
    if run is None:
        run = log.create(
            spec, terms, input_path=str(input_path), output_path=str(output_path), argv=sys.argv
        )
    group_sensitive = _needs_whole_groups(spec, terms)
    own_engine = engine is None
    engine = engine or Engine(workers)
    total = count_rows(input_path)
    scores: list[Score] = []
    out_rows: list[dict[str, Any]] = []
    resumed = 0
    status = "interrupted"
    try:
        with _progress(console) as progress:
            task = progress.add_task("scoring", total=total)
            offset = 0
            closed_groups: set[str] = set()
            for chunk in _whole_groups(iter_row_chunks(input_path, chunk_size)):
                prepared, ids = prepare_rows(chunk, start=offset)
                if group_sensitive:
                    _refuse_split_groups(prepared, offset, closed_groups)
                chunk_scores: list[Score | None] = [None] * len(prepared)
                todo = []
                for position, row_id in enumerate(ids):
                    done = logged.get(offset + position)
                    if done is not None and done.id == row_id:
                        chunk_scores[position] = done.score
                        resumed += 1
                    else:
                        todo.append(position)
                if todo:
                    fresh = engine.score_prepared(
                        [prepared[p] for p in todo], [ids[p] for p in todo], spec, terms
                    )
                    for position, score in zip(todo, fresh, strict=True):
                        chunk_scores[position] = score
                    run.append([offset + p for p in todo], [ids[p] for p in todo], fresh)
                for row, row_id, maybe in zip(chunk, ids, chunk_scores, strict=True):
                    assert maybe is not None  # every position was resumed or scored above
                    scores.append(maybe)
                    out_rows.append(output_row(row_id, maybe, row))
                offset += len(chunk)
                progress.advance(task, len(chunk))
        write_rows(output_path, out_rows)
        status = "completed"
    except Exception:
        status = "failed"
        raise
    finally:
        run.close(status)
        if own_engine:
            engine.close()
    summary = summarize(scores)
    summary.update(output=str(output_path), run_id=run.id, resumed_rows=resumed if resume else None)
    return summary


def _group_of(row: Any) -> Any:
    return row.get("group") if isinstance(row, dict) else None


def _whole_groups(chunks: Iterator[list[Any]]) -> Iterator[list[Any]]:
    """Re-chunk so that consecutive rows of one ``group`` are never split across two chunks:
    group rewards and group normalization must see a whole group in one engine call."""
    carry: list[Any] = []
    for chunk in chunks:
        rows = carry + chunk
        last = _group_of(rows[-1])
        cut = len(rows)
        if last is not None:
            while cut > 0 and _group_of(rows[cut - 1]) == last:
                cut -= 1
        if cut == 0:  # the whole chunk is one group so far: keep reading
            carry = rows
            continue
        yield rows[:cut]
        carry = rows[cut:]
    if carry:
        yield carry


def _needs_whole_groups(spec: Spec, terms: list[ResolvedTerm]) -> bool:
    return (
        any(term.reward.kind == "group" for term in terms)
        or spec.normalize is not None
        or spec.combine == "lexicographic"
        or spec.unlikeliness is not None
    )


def _refuse_split_groups(prepared: list[Row], offset: int, closed: set[str]) -> None:
    """Rows of a group whose earlier rows were already scored become errors: scoring them
    apart would silently change group rewards and advantages."""
    seen: set[str] = set()
    for position, row in enumerate(prepared):
        if not isinstance(row, Sample) or row.group is None:
            continue
        if row.group in closed:
            prepared[position] = Score.fail(
                "error",
                f"row {offset + position}: group {row.group!r} reappears after its earlier rows "
                "were scored; keep the rows of each group together in the file",
                field="group",
            )
            continue
        seen.add(row.group)
    closed.update(seen)


def _progress(console: Console | None) -> Progress:
    console = console or Console(stderr=True)
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )

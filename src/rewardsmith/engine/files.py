"""Score a whole file as a stream: read once in chunks, score, log, write as it goes.

Memory holds one chunk (plus, with ``--resume``, the index of rows already logged), whatever
the file's size. Each chunk is scored, appended to the run log (its writer thread turns rows
into Parquet parts every ``flush_rows`` rows or second) and written to the output's temp file,
which is renamed into place when the whole file is done. A killed run resumes from the log.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import InputError
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.spec import ResolvedTerm, Spec, resolve_terms
from rewardsmith.engine.batch import RunningSummary
from rewardsmith.engine.engine import Engine, Row, prepare_rows
from rewardsmith.engine.split import MIN_BYTES, score_split
from rewardsmith.io.readers import ChunkReader, file_format
from rewardsmith.io.runlog import Run, RunLog
from rewardsmith.io.writers import RowWriter, output_row
from rewardsmith.shaping.combine import Shaper

__all__ = ["FileProgress", "check_writable", "default_output_path", "score_file"]


@dataclass(frozen=True)
class FileProgress:
    """Where a file run stands, passed to the ``progress`` callback after every chunk."""

    rows: int
    """Rows done so far (scored or resumed)."""
    elapsed_s: float
    """Seconds since scoring started."""
    fraction: float | None
    """Share of the input read (bytes of JSONL, rows of Parquet); None for gzip input."""

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the pace so far, or None when the input size is unknown."""
        if not self.fraction:
            return None
        return self.elapsed_s * (1.0 - self.fraction) / self.fraction


def default_output_path(input_path: Path) -> Path:
    """``data.jsonl`` -> ``data.scored.jsonl`` (same folder, same format)."""
    name = input_path.name
    for suffix in (".jsonl.gz", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"):
        if name.lower().endswith(suffix):
            stem = name[: -len(suffix)]
            out_suffix = ".parquet" if suffix in (".parquet", ".pq") else ".jsonl"
            return input_path.with_name(f"{stem}.scored{out_suffix}")
    return input_path.with_name(name + ".scored.jsonl")


def check_writable(output_path: Path) -> None:
    """Raise `InputError` unless a file can be created beside ``output_path`` (where the writer
    puts its temp file) and ``output_path`` is not a directory; checked by creating one."""
    parent = output_path.parent
    if output_path.is_dir():
        raise InputError(
            f"{output_path}: the output is a directory; name a .jsonl or .parquet file"
        )
    if not parent.is_dir():
        raise InputError(
            f"{output_path}: the output directory {str(parent)!r} does not exist; create it first"
        )
    try:
        # A real file, not os.access: root passes os.access on a read-only mount or a sysfs dir.
        with tempfile.NamedTemporaryFile(
            dir=parent, prefix=f".{output_path.name}.", suffix=".probe"
        ):
            pass
    except OSError as exc:
        raise InputError(
            f"{output_path}: cannot write in the output directory {str(parent)!r}: "
            f"{exc.strerror or exc}"
        ) from None


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
    progress: Callable[[FileProgress], None] | None = None,
    memory_mb: int | None = None,
) -> dict[str, Any]:
    """Score every row of a file, log each to the run log, and write the scored rows.

    With ``resume``, rows already in the newest run of this spec over this input are taken from
    the log instead of being scored again, and the run continues under the same id.
    ``progress`` is called after every chunk with a `FileProgress` (rows/s, ETA).
    ``memory_mb`` limits each worker's resident memory (default: the spec's
    ``limits.worker_memory_mb``, else 4096; 0: no limit); it applies to the engine built here,
    not to one passed in.

    Returns the summary (mean reward, component means, status counts) plus ``output``,
    ``run_id`` and ``resumed_rows``.
    """
    input_path = Path(input_path)
    output_path = Path(output) if output is not None else default_output_path(input_path)
    if chunk_size < 1:
        raise InputError(f"chunk_size must be at least 1, got {chunk_size}")
    # Everything that can fail before scoring fails here, before any row is scored (or logged).
    file_format(output_path)
    check_writable(output_path)
    reader = ChunkReader(input_path, chunk_size)
    terms = resolve_terms(spec)
    log = RunLog(log_dir)
    # Takes over the run's writer lock: a second writer is refused here, before any work.
    run = log.resume(str(input_path), spec, terms) if resume else None
    logged = run.logged_rows() if run is not None else {}
    if run is None:
        run = log.create(
            spec, terms, input_path=str(input_path), output_path=str(output_path), argv=sys.argv
        )
    group_sensitive = _needs_whole_groups(spec, terms)
    helpers = _split_helpers(input_path, output_path, spec, terms, workers, resume, engine)
    if helpers:
        return _score_split(
            input_path, output_path, spec, terms, run, helpers, chunk_size, progress
        )
    own_engine = engine is None
    if memory_mb is None:
        memory_mb = spec.limits.worker_memory_mb
    engine = engine or Engine(workers, memory_mb=memory_mb)
    # Chunks in flight at once: a chunk waiting on a hung row leaves the other workers to the
    # next chunks, so hung rows spread over the workers instead of each chunk waiting in turn.
    depth = engine.workers + 1 if own_engine and not _stateful_shaping(spec) else 1
    tally = _Tally()
    resumed = 0
    status = "interrupted"
    started = time.monotonic()
    scorer = ThreadPoolExecutor(depth, thread_name_prefix="rewardsmith-file") if depth > 1 else None
    in_flight: deque[_InFlight] = deque()
    try:
        if own_engine:
            engine.warm(spec)  # the workers start while the first chunk is read
        with RowWriter(output_path) as writer:

            def finish(item: _InFlight) -> None:
                nonlocal resumed
                scores, from_log = item.result()
                fresh = [p for p in range(len(item.chunk)) if p not in from_log]
                if fresh:
                    run.append(
                        [item.offset + p for p in fresh],
                        [item.ids[p] for p in fresh],
                        [scores[p] for p in fresh],
                        [item.chunk[p] for p in fresh],
                    )
                resumed += len(from_log)
                writer.write(
                    [
                        output_row(row_id, score, row)
                        for row, row_id, score in zip(item.chunk, item.ids, scores, strict=True)
                    ]
                )
                tally.add(scores)
                if progress is not None:
                    done = item.offset + len(item.chunk)
                    progress(FileProgress(done, time.monotonic() - started, item.fraction))

            offset = 0
            closed_groups: set[str] = set()
            for chunk in _whole_groups(iter(reader)):
                prepared, ids = prepare_rows(chunk, start=offset)
                if group_sensitive:
                    _refuse_split_groups(prepared, offset, closed_groups)
                # Logged scores only for unchanged rows scored by the same reward versions.
                reuse = run.reusable(logged, chunk, ids, offset, whole=group_sensitive)
                job = (engine, spec, terms, prepared, ids, reuse)
                if scorer is None:
                    in_flight.append(
                        _InFlight(offset, chunk, ids, _score_chunk(*job), reader.fraction)
                    )
                else:
                    in_flight.append(
                        _InFlight(
                            offset, chunk, ids, scorer.submit(_score_chunk, *job), reader.fraction
                        )
                    )
                offset += len(chunk)
                # Written in file order, as soon as the oldest chunk is done.
                while in_flight and (len(in_flight) >= depth or in_flight[0].ready()):
                    finish(in_flight.popleft())
            while in_flight:
                finish(in_flight.popleft())
        status = "completed"
    except OSError as exc:  # the output could not be written (disk full, removed directory)
        status = "failed"
        raise _output_failed(output_path, run.id, exc) from None
    except Exception:  # not KeyboardInterrupt: that leaves the run "interrupted"
        status = "failed"
        raise
    finally:
        tally.close_run(run, status)
        if own_engine:
            engine.close()  # fails what is still queued, so the scoring threads end now
        if scorer is not None:
            scorer.shutdown(wait=True, cancel_futures=True)
    result = tally.result(output_path, run, resumed if resume else None)
    if resume:
        result["rescored_changed_rows"] = run.changed_inputs + run.changed_rewards
    return result


def _split_helpers(
    input_path: Path,
    output_path: Path,
    spec: Spec,
    terms: list[ResolvedTerm],
    workers: int | None,
    resume: bool,
    engine: Engine | None,
) -> int:
    """How many helper processes score this file by byte ranges (`engine.split`), or 0 to
    score it in this process: only specs whose terms all run inline, on uncompressed JSONL
    of at least `split.MIN_BYTES` written to JSONL, with two or more workers and no resume."""
    helpers = workers or os.cpu_count() or 1
    if resume or engine is not None or helpers < 2 or not hasattr(os, "fork"):
        return 0
    if _other_threads():
        return 0
    name = input_path.name.lower()
    if file_format(input_path) != "jsonl" or name.endswith(".gz"):
        return 0
    if file_format(output_path) != "jsonl" or not hasattr(os, "copy_file_range"):
        return 0
    if any(term.reward.kind not in ("cpu",) or not term.reward.inline for term in terms):
        return 0
    if _needs_whole_groups(spec, terms) or _stateful_shaping(spec) or spec.ensembles:
        return 0
    size = input_path.stat().st_size
    if size < MIN_BYTES:
        return 0
    # At least half of MIN_BYTES per helper.
    return min(helpers, max(2, size // max(1, MIN_BYTES // 2)))


def _other_threads() -> bool:
    """Whether threads besides the caller's run in this process (a notebook kernel's, a
    trainer's): a helper forked while one of them holds a lock would wait on it forever, so
    such a process scores in itself. The CLI has none."""
    return threading.active_count() > 1


def _score_split(
    input_path: Path,
    output_path: Path,
    spec: Spec,
    terms: list[ResolvedTerm],
    run: Run,
    helpers: int,
    chunk_size: int,
    progress: Callable[[FileProgress], None] | None,
) -> dict[str, Any]:
    """`score_file` by `engine.split`: the same output rows, run log and summary."""
    started = time.monotonic()
    status = "interrupted"
    temp = output_path.with_name(f".{output_path.name}.{os.getpid()}.tmp")

    def report(rows: int, fraction: float) -> None:
        if progress is not None:
            progress(FileProgress(rows, time.monotonic() - started, fraction))

    tally = _Tally()
    try:
        tallies = score_split(
            input_path,
            spec,
            terms,
            run,
            temp,
            helpers=helpers,
            chunk_size=chunk_size,
            new_tally=_Tally,
            progress=report,
        )
        os.replace(temp, output_path)
        for part in tallies:
            tally.merge(part)
        status = "completed"
    except OSError as exc:
        status = "failed"
        raise _output_failed(output_path, run.id, exc) from None
    except Exception:
        status = "failed"
        raise
    finally:
        temp.unlink(missing_ok=True)
        tally.close_run(run, status)
    return tally.result(output_path, run, None)


class _InFlight:
    """One chunk being scored: its place in the file and its scores (now or in the future)."""

    __slots__ = ("chunk", "fraction", "ids", "offset", "outcome")

    def __init__(
        self, offset: int, chunk: list[Any], ids: list[str], outcome: Any, fraction: float | None
    ) -> None:
        self.offset = offset
        self.chunk = chunk
        self.ids = ids
        self.outcome = outcome
        self.fraction = fraction
        """The share of the input read when this chunk was (the reader runs ahead)."""

    def ready(self) -> bool:
        return not isinstance(self.outcome, Future) or self.outcome.done()

    def result(self) -> tuple[list[Score], set[int]]:
        if isinstance(self.outcome, Future):
            return self.outcome.result()  # type: ignore[no-any-return]
        return self.outcome  # type: ignore[no-any-return]


class _Tally:
    """The summary of a file run, plus what the command shows beside it: the first reason of
    each failure status, and the sandbox levels the rows were scored at."""

    def __init__(self) -> None:
        self.summary = RunningSummary()
        self.first_reasons: dict[str, str] = {}
        self.sandbox: dict[str, Any] = {"levels": {}, "unmet": [], "refused": None}

    def add(self, scores: list[Score]) -> None:
        self.summary.add(scores)
        first = self.first_reasons
        for score in scores:
            if score.status != "ok" and score.status not in first:
                first[score.status] = score.reason
            info = score.info
            if not info:
                continue
            terms = info.get("terms")
            if type(terms) is dict:
                for detail in terms.values():
                    # Only a term whose info holds a sandbox record (programs it ran) counts.
                    if type(detail) is dict:
                        term_info = detail.get("info")
                        if type(term_info) is dict and isinstance(term_info.get("sandbox"), dict):
                            self._sandbox(detail, term_info["sandbox"])

    def merge(self, other: _Tally) -> None:
        """Add the tally of the rows after this one's (a split run's next range)."""
        self.summary.merge(other.summary)
        for status, reason in other.first_reasons.items():
            self.first_reasons.setdefault(status, reason)
        for level, count in other.sandbox["levels"].items():
            self._count_level(level, count)
        self._add_unmet(other.sandbox["unmet"])
        if self.sandbox["refused"] is None:
            self.sandbox["refused"] = other.sandbox["refused"]

    def close_run(self, run: Run, status: str) -> None:
        """Record the sandbox provenance in the run's manifest (when programs ran), then close
        the run with ``status``."""
        if self.sandbox["levels"]:
            # Provenance: the sandbox level the rows' programs ran at, and what it lacked.
            run.manifest["sandbox"] = {
                "levels": dict(self.sandbox["levels"]),
                "unmet": list(self.sandbox["unmet"]),
            }
        run.close(status)

    def result(self, output_path: Path, run: Run, resumed_rows: int | None) -> dict[str, Any]:
        """What `score_file` returns: the summary, where the output and the run went, and
        what the command shows beside them."""
        result = self.summary.result()
        result.update(output=str(output_path), run_id=run.id, resumed_rows=resumed_rows)
        result["first_reasons"] = self.first_reasons
        result["sandbox"] = self.sandbox
        return result

    def _sandbox(self, detail: dict[str, Any], box: dict[str, Any]) -> None:
        self._count_level(str(box.get("level")), 1)
        self._add_unmet(box.get("unmet") or ())
        if detail.get("status") == "refused" and self.sandbox["refused"] is None:
            self.sandbox["refused"] = str(detail.get("reason", ""))

    def _count_level(self, level: str, count: int) -> None:
        levels = self.sandbox["levels"]
        levels[level] = levels.get(level, 0) + count

    def _add_unmet(self, requirements: Any) -> None:
        for requirement in requirements:
            if requirement not in self.sandbox["unmet"]:
                self.sandbox["unmet"].append(requirement)


def _stateful_shaping(spec: Spec) -> bool:
    """Whether combining keeps state across batches (running statistics, multipliers): then
    chunks must be combined one at a time in file order, so they are scored one at a time."""
    state = Shaper(spec).state_dict()
    chains = [*state["terms"].values(), *state["ensembles"].values()]
    return "constrained" in state or any(item for chain in chains for item in chain)


def _score_chunk(
    engine: Engine,
    spec: Spec,
    terms: list[ResolvedTerm],
    prepared: list[Row],
    ids: list[str],
    from_log: dict[int, Score],
) -> tuple[list[Score], set[int]]:
    """Every row's score: from the log when resuming and the row is there, else scored now."""
    if not from_log:
        return list(engine.score_prepared(prepared, ids, spec, terms)), set()
    todo = [p for p in range(len(prepared)) if p not in from_log]
    scores: list[Score | None] = [from_log.get(p) for p in range(len(prepared))]
    if todo:
        fresh = engine.score_prepared(
            [prepared[p] for p in todo], [ids[p] for p in todo], spec, terms
        )
        for position, score in zip(todo, fresh, strict=True):
            scores[position] = score
    return [score for score in scores if score is not None], set(from_log)


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


def _output_failed(output_path: Path | str, run_id: str, exc: OSError) -> InputError:
    """The error for an output that could not be written: the scores are safe in the run log."""
    return InputError(
        f"{output_path}: writing the output failed: {exc.strerror or exc}. Every row scored "
        f"so far is in the run log (run {run_id}): fix the problem and rerun with --resume "
        "(and -o ANOTHER_PATH if needed) to write the output without scoring those rows again"
    )

"""`rewardsmith check`: find what would spoil training before any GPU time is spent.

Checks, each reported with counts and the first offending rows:

- the input has rows at all (an empty file trains nothing, and is usually a wrong path or a
  failed export);
- every row is readable and has the fields a sample needs;
- no two rows share an ``id`` (the run log, ``--resume`` and every join on results key rows by
  it; generated ``row-<n>`` ids count too);
- every row routes to at least one term (its ``task`` matches some term's ``when``);
- every reference parses for the terms that will read it (rewards declare ``check_reference``);
- no completion is over the spec's size limit;
- scoring a sample of rows gives no ``error``/``timeout``/``invalid_reference`` statuses, and
  the rewards are not all equal (a spec that pays every row the same teaches nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.spec import ResolvedTerm, Spec, resolve_terms
from rewardsmith.engine.engine import Engine, prepare_rows
from rewardsmith.io.readers import read_rows

__all__ = ["CheckReport", "check_file", "check_rows"]

_SCORING_FAILURES = ("error", "timeout", "invalid_reference")


@dataclass
class CheckReport:
    """What `check_rows` found: rows examined per check, and offending rows per problem."""

    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    problems: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, problem: str, row_id: str, message: str) -> None:
        self.problems.setdefault(problem, []).append((row_id, message))

    @property
    def ok(self) -> bool:
        return not self.problems


def check_file(
    path: str | Path, spec: Spec, *, limit: int = 2000, workers: int | None = None
) -> CheckReport:
    """`check_rows` over a JSONL or Parquet file."""
    try:
        rows = read_rows(path)
    except RecursionError:
        # A line nested ~1,000 deep exhausts the JSON decoder's recursion; report it as data,
        # not as a traceback.
        report = CheckReport()
        report.add(
            "unreadable input",
            str(path),
            "a row nests arrays or objects too deeply to decode (about 1,000 levels)",
        )
        return report
    return check_rows(rows, spec, limit=limit, workers=workers)


def check_rows(
    rows: list[Any], spec: Spec, *, limit: int = 2000, workers: int | None = None
) -> CheckReport:
    """Lint rows against a spec; see the module docstring for the checks."""
    terms = resolve_terms(spec)
    prepared, ids = prepare_rows(rows)
    report = CheckReport(rows=len(prepared))
    if not prepared:
        report.add("empty input", "(no rows)", "there are no rows to check or to train on")
        return report
    _check_duplicate_ids(ids, report)
    samples: list[tuple[Sample, str]] = []
    for row, row_id in zip(prepared, ids, strict=True):
        if isinstance(row, Score):
            report.add("unreadable rows", row_id, row.reason)
            continue
        samples.append((row, row_id))
    report.counts["readable"] = len(samples)
    _check_routing_and_references(samples, terms, spec, report)
    _check_scores(samples[:limit], ids, spec, terms, report, workers)
    return report


def _check_duplicate_ids(ids: list[str], report: CheckReport) -> None:
    positions: dict[str, list[int]] = {}
    for index, row_id in enumerate(ids):
        positions.setdefault(row_id, []).append(index)
    for row_id, where in positions.items():
        if len(where) > 1:
            shown = ", ".join(str(index) for index in where[:10])
            more = f" and {len(where) - 10} more" if len(where) > 10 else ""
            report.add(
                "duplicate ids",
                row_id,
                f"id {row_id!r} is used by {len(where)} rows (0-based rows {shown}{more})",
            )
    report.counts["distinct ids"] = len(positions)


def _check_routing_and_references(
    samples: list[tuple[Sample, str]], terms: list[ResolvedTerm], spec: Spec, report: CheckReport
) -> None:
    routed = references = 0
    limit = spec.limits.max_completion_chars
    routed_tasks = sorted({task for term in terms for task in _when(term)})
    for sample, row_id in samples:
        applicable = [term for term in terms if term.spec.applies_to(sample.task)]
        if not applicable:
            report.add(
                "unrouted rows",
                row_id,
                f"task {sample.task!r} matches no term's `when` {routed_tasks}",
            )
        elif routed_tasks and sample.task not in routed_tasks:
            # Only the terms without `when` apply: usually a typo in the task name.
            names = ", ".join(term.name for term in applicable)
            report.add(
                "unknown tasks",
                row_id,
                f"task {sample.task!r} is none of the routed tasks {routed_tasks}; only {names} apply",
            )
        else:
            routed += 1
        for term in applicable:
            if term.reward.check_reference is None:
                continue
            references += 1
            try:
                problem = term.reward.check_reference(sample.reference)
            except Exception as exc:
                problem = f"reference check raised {type(exc).__name__}: {exc}"
            if problem:
                report.add(
                    "bad references", row_id, f"term {term.name!r} ({term.reward.name}): {problem}"
                )
        size = len(sample.completion_text)
        if size > limit:
            report.add(
                "oversized completions",
                row_id,
                f"{size:,} characters > limits.max_completion_chars {limit:,}",
            )
    report.counts["routed"] = routed
    report.counts["references checked"] = references


def _when(term: ResolvedTerm) -> list[str]:
    when = term.spec.when
    return [] if when is None else [when] if isinstance(when, str) else list(when)


def _check_scores(
    samples: list[tuple[Sample, str]],
    ids: list[str],
    spec: Spec,
    terms: list[ResolvedTerm],
    report: CheckReport,
    workers: int | None,
) -> None:
    if not samples:
        return
    with Engine(workers) as engine:
        batch = engine.score_prepared([s for s, _ in samples], [i for _, i in samples], spec, terms)
    report.counts["scored"] = len(batch)
    for (_, row_id), score in zip(samples, batch, strict=True):
        for name, detail in score.info.get("terms", {}).items():
            if detail["status"] in _SCORING_FAILURES:
                report.add(
                    f"{detail['status']} while scoring",
                    row_id,
                    f"term {name!r}: {detail.get('reason', '')}",
                )
    values = [score.value for score in batch if score.value is not None]
    if len(values) >= 2 and max(values) == min(values):
        report.add(
            "constant reward",
            f"all {len(values)} scored rows",
            f"every row got reward {values[0]:g}: on this data the spec cannot tell good completions from bad",
        )
    if values:
        report.notes.append(
            f"reward over {len(values)} scored rows: min {min(values):g}, mean {sum(values) / len(values):.4g}, max {max(values):g}"
        )

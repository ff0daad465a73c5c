"""`evaluate_rm`: RewardBench-style results for any reward, on data in RewardBench's formats.

Three row formats, told apart by their fields:

- **v1 pairs**: ``chosen`` and ``rejected`` are one answer each (text, or a chat transcript as
  a list of messages); optional ``prompt``, ``subset``, ``id``, ``reference``.
- **v2 best-of-n**: ``chosen`` and ``rejected`` are lists of answers, ``num_correct`` says how
  many of ``chosen`` are correct (1 outside Ties); the Ties subset uses ids ``ref:<n>`` and
  ``tied:<n>``.
- **contrast pairs**: ``prompt``, ``response``, ``contrast_prompt``, ``contrast_response``
  (``response`` answers ``prompt``; ``contrast_response`` answers ``contrast_prompt``).

Scores come from a spec (every answer is scored as a completion of the row's prompt) or are
already in the rows: ``score_chosen``/``score_rejected`` (v1; RewardBench's ``scores_chosen``/
``scores_rejected`` too), ``scores`` (v2: the chosen answers' scores first), or
``scores: {"aa", "ab", "ba", "bb"}`` (contrast: prompt a or b, response A or B).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rewardsmith.audit.rm.metrics import (
    Calibration,
    Consistency,
    LengthBias,
    OneVsMany,
    calibration,
    consistency,
    length_bias,
    one_vs_many,
)
from rewardsmith.audit.rm.rewardbench import V1Result, V2Result, score_v1, score_v2
from rewardsmith.audit.scoring import load_audit_rows, score_rows
from rewardsmith.core.errors import InputError
from rewardsmith.core.sample import Sample, SampleError
from rewardsmith.core.spec import Spec

__all__ = ["RMReport", "detect_format", "evaluate_rm", "evaluate_rm_file"]

Format = Literal["v1", "v2", "contrast"]


@dataclass
class RMReport:
    """Everything `evaluate_rm` measured; sections that do not apply to the format are None."""

    format: Format
    rows: int
    v1: V1Result | None = None
    v2: V2Result | None = None
    one_vs_many: OneVsMany | None = None
    consistency: Consistency | None = None
    calibration: Calibration | None = None
    length_bias: LengthBias | None = None
    failed_scores: dict[str, int] = field(default_factory=dict)
    """Answers the reward could not score, by status (they count as wrong)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def detect_format(row: dict[str, Any], where: str) -> Format:
    """The format of one row, or an `InputError` naming the row and the missing field."""
    if "contrast_prompt" in row or "contrast_response" in row:
        return "contrast"
    if "chosen" not in row:
        raise InputError(
            f"{where}: field 'chosen' is missing (expected RewardBench v1/v2 or contrast rows)"
        )
    chosen = row["chosen"]
    if isinstance(chosen, list) and chosen and all(isinstance(c, str) for c in chosen):
        return "v2"
    return "v1"


def evaluate_rm_file(
    path: str | Path,
    spec: Spec | str | dict[str, Any] | None = None,
    **options: Any,
) -> RMReport:
    """`evaluate_rm` over a JSONL or Parquet file."""
    return evaluate_rm(load_audit_rows(path), spec, source=str(path), **options)


def evaluate_rm(
    rows: list[dict[str, Any]],
    spec: Spec | str | dict[str, Any] | None = None,
    *,
    sections: dict[str, list[str]] | None = None,
    weights: dict[str, int] | None = None,
    bins: int = 10,
    workers: int | None = None,
    source: str = "input",
) -> RMReport:
    """Score the rows' answers with ``spec`` (or read precomputed scores when it is None) and
    compute every metric that applies to their format.

    Args:
        rows: RewardBench v1, v2 or contrast rows (see the module docstring).
        spec: any spec or registered reward name; None reads scores from the rows.
        sections: v1 section -> subsets (default RewardBench's).
        weights: v1 subset weights for sections (default RewardBench's EXAMPLE_COUNTS).
        bins: calibration bins.
        workers: engine worker processes.
        source: a name for error messages.
    """
    if not rows:
        raise InputError(f"{source}: no rows")
    formats = {detect_format(row, _where(source, i, row)) for i, row in enumerate(rows)}
    if len(formats) > 1:
        raise InputError(f"{source}: rows mix formats {sorted(formats)}; give one format per file")
    fmt: Format = formats.pop()
    answers = _Answers(rows, fmt, source)
    answers.score(spec, workers)
    report = RMReport(format=fmt, rows=len(rows), failed_scores=answers.failed)
    if fmt == "contrast":
        report.consistency = consistency([answers.of(i) for i in range(len(rows))])  # type: ignore[misc]
        return report
    margins: list[float | None] = []
    pairs: list[tuple[float | None, float | None, int, int]] = []
    if fmt == "v1":
        chosen = [answers.of(i)[0] for i in range(len(rows))]
        rejected = [answers.of(i)[1] for i in range(len(rows))]
        subsets = [str(row.get("subset", "all")) for row in rows]
        report.v1 = score_v1(subsets, chosen, rejected, sections=sections, weights=weights)
        for i, (c, r) in enumerate(zip(chosen, rejected, strict=True)):
            margins.append(None if c is None or r is None else c - r)
            pairs.append((c, r, answers.lengths[i][0], answers.lengths[i][1]))
    else:
        items = []
        many = []
        for i, row in enumerate(rows):
            scores = answers.of(i)
            num_correct = answers.num_correct[i]
            items.append(
                {
                    "id": row.get("id", f"row-{i}"),
                    "subset": str(row.get("subset", "all")),
                    "scores": scores,
                    "num_correct": num_correct,
                }
            )
            if str(row.get("subset", "")).lower() == "ties":
                continue
            many.append((scores[0], scores[1:]))
            lengths = answers.lengths[i]
            for k in range(1, len(scores)):
                c, r = scores[0], scores[k]
                margins.append(None if c is None or r is None else c - r)
                pairs.append((c, r, lengths[0], lengths[k]))
        try:
            report.v2 = score_v2(items)
        except ValueError as exc:
            raise InputError(f"{source}: {exc}") from None
        report.one_vs_many = one_vs_many(many) if many else None
    if any(m is not None for m in margins):
        report.calibration = calibration(margins, bins)
    report.length_bias = length_bias(pairs)
    return report


def _where(source: str, index: int, row: dict[str, Any]) -> str:
    row_id = row.get("id")
    return f"{source} row {index}" + (f" (id {row_id!r})" if row_id is not None else "")


class _Answers:
    """The answers of every row, flattened for one engine call, and their scores per row."""

    def __init__(self, rows: list[dict[str, Any]], fmt: Format, source: str) -> None:
        self.rows = rows
        self.fmt = fmt
        self.source = source
        self.texts: list[list[tuple[Any, Any]]] = []  # per row: (prompt, completion)
        self.lengths: list[list[int]] = []
        self.num_correct: list[int] = []
        self.scores: list[list[float | None]] = []
        self.failed: dict[str, int] = {}
        for index, row in enumerate(rows):
            where = _where(source, index, row)
            items = self._answers(row, where)
            self.texts.append(items)
            names = _answer_names(fmt, len(items), self.num_correct[-1] if fmt == "v2" else 0)
            self.lengths.append(
                [_length(c, where, name) for (_, c), name in zip(items, names, strict=True)]
            )

    def _answers(self, row: dict[str, Any], where: str) -> list[tuple[Any, Any]]:
        if self.fmt == "contrast":
            for name in ("prompt", "response", "contrast_prompt", "contrast_response"):
                if name not in row:
                    raise InputError(f"{where}: contrast row needs field {name!r}")
            a, b = row["prompt"], row["contrast_prompt"]
            big_a, big_b = row["response"], row["contrast_response"]
            return [(a, big_a), (a, big_b), (b, big_a), (b, big_b)]
        if "rejected" not in row:
            raise InputError(f"{where}: field 'rejected' is missing")
        prompt = row.get("prompt") or ""
        if self.fmt == "v1":
            return [(prompt, row["chosen"]), (prompt, row["rejected"])]
        chosen, rejected = row["chosen"], row["rejected"]
        if (
            not isinstance(rejected, list)
            or not rejected
            or not all(isinstance(r, str) for r in rejected)
        ):
            raise InputError(
                f"{where}: field 'rejected' must be a non-empty list of answers in v2 rows"
            )
        num_correct = row.get("num_correct", 1 if len(chosen) == 1 else len(chosen))
        if (
            not isinstance(num_correct, int)
            or isinstance(num_correct, bool)
            or num_correct != len(chosen)
        ):
            raise InputError(
                f"{where}: field 'num_correct' is {num_correct!r} but 'chosen' holds {len(chosen)} answers"
            )
        self.num_correct.append(num_correct)
        return [(prompt, text) for text in [*chosen, *rejected]]

    def score(self, spec: Spec | str | dict[str, Any] | None, workers: int | None) -> None:
        if spec is None:
            self.scores = [self._precomputed(i) for i in range(len(self.rows))]
            return
        flat = []
        for index, items in enumerate(self.texts):
            row = self.rows[index]
            for position, (prompt, completion) in enumerate(items):
                flat.append(
                    {
                        "id": f"{row.get('id', index)}/{position}",
                        "prompt": prompt,
                        "completion": completion,
                        "reference": row.get("reference"),
                        "task": row.get("task"),
                    }
                )
        scored = score_rows(flat, spec, workers=workers)
        cursor = 0
        for items in self.texts:
            values: list[float | None] = []
            for _ in items:
                result = scored[cursor]
                cursor += 1
                if result.status != "ok" or result.value is None:
                    self.failed[result.status] = self.failed.get(result.status, 0) + 1
                values.append(result.value if result.status == "ok" else None)
            self.scores.append(values)

    def _precomputed(self, index: int) -> list[float | None]:
        row = self.rows[index]
        where = _where(self.source, index, row)
        if self.fmt == "v1":
            c = _first(row, ("score_chosen", "scores_chosen"), where)
            r = _first(row, ("score_rejected", "scores_rejected"), where)
            return [_number(c, where, "score_chosen"), _number(r, where, "score_rejected")]
        scores = row.get("scores")
        if self.fmt == "contrast":
            if not isinstance(scores, dict) or not {"aa", "ab", "ba", "bb"} <= set(scores):
                raise InputError(
                    f"{where}: field 'scores' must be an object with keys aa, ab, ba, bb"
                )
            return [_number(scores[k], where, f"scores.{k}") for k in ("aa", "ab", "ba", "bb")]
        expected = len(self.texts[index])
        if not isinstance(scores, list) or len(scores) != expected:
            raise InputError(
                f"{where}: field 'scores' must list {expected} numbers (chosen answers first), got {scores!r:.80}"
            )
        return [_number(s, where, f"scores[{k}]") for k, s in enumerate(scores)]

    def of(self, index: int) -> list[float | None]:
        return self.scores[index]


def _first(row: dict[str, Any], names: tuple[str, ...], where: str) -> Any:
    for name in names:
        if name in row:
            value = row[name]
            # RewardBench result files hold one-element lists for some models.
            return value[0] if isinstance(value, list) and len(value) == 1 else value
    raise InputError(
        f"{where}: field {names[0]!r} is missing (no --reward given, so scores must be in the rows)"
    )


def _number(value: Any, where: str, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where}: field {name!r} must be a number, got {type(value).__name__}")
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(f"{where}: field {name!r} is {value}, not a finite number")
    return float(value)


def _answer_names(fmt: Format, count: int, num_correct: int) -> list[str]:
    if fmt == "v1":
        return ["chosen", "rejected"]
    if fmt == "contrast":
        return ["response", "contrast_response", "response", "contrast_response"]
    return [f"chosen[{k}]" for k in range(num_correct)] + [
        f"rejected[{k}]" for k in range(count - num_correct)
    ]


def _length(completion: Any, where: str, name: str) -> int:
    try:
        sample = Sample.from_row({"completion": completion}, 0)
    except SampleError as exc:
        raise InputError(f"{where}: field {name!r}: {exc.reason}") from None
    return len(sample.completion_text)

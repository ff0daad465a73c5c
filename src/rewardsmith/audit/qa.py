"""Verifier QA: how often does a reward accept a wrong answer or reject a right one?

Each labelled case is a row the reward can score plus the verdict it should reach:
``expected`` (true: should be accepted) or a ``label`` of ``right`` / ``wrong`` / ``hack`` (the
labels of ``tests/rewards/cases``; other labels are skipped). A case is *accepted* when its
status is ``ok`` and its value is at least ``threshold``; any other status is a rejection (the
default status policy pays it 0), and is counted by status so a crashing verifier is visible.

False-accept rate = accepted wrong cases / wrong cases (the number that trains a model to
cheat); false-reject rate = rejected right cases / right cases. Both come with 95% Wilson
intervals, overall and per category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardsmith.audit.scoring import load_audit_rows, score_rows
from rewardsmith.audit.stats import wilson_interval
from rewardsmith.core.errors import InputError
from rewardsmith.core.spec import Spec

__all__ = ["QAReport", "Rates", "verifier_qa", "verifier_qa_file"]

_LABELS = {"right": True, "wrong": False, "hack": False}


@dataclass
class Rates:
    """Confusion counts and rates of one group of cases."""

    cases: int = 0
    right: int = 0
    wrong: int = 0
    false_accepts: int = 0
    false_rejects: int = 0

    @property
    def accuracy(self) -> float:
        return (
            (self.cases - self.false_accepts - self.false_rejects) / self.cases
            if self.cases
            else 0.0
        )

    @property
    def false_accept_rate(self) -> float | None:
        return self.false_accepts / self.wrong if self.wrong else None

    @property
    def false_reject_rate(self) -> float | None:
        return self.false_rejects / self.right if self.right else None

    def intervals(self) -> dict[str, tuple[float, float] | None]:
        return {
            "accuracy": wilson_interval(
                self.cases - self.false_accepts - self.false_rejects, self.cases
            ),
            "false_accept_rate": wilson_interval(self.false_accepts, self.wrong)
            if self.wrong
            else None,
            "false_reject_rate": wilson_interval(self.false_rejects, self.right)
            if self.right
            else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "right": self.right,
            "wrong": self.wrong,
            "false_accepts": self.false_accepts,
            "false_rejects": self.false_rejects,
            "accuracy": self.accuracy,
            "false_accept_rate": self.false_accept_rate,
            "false_reject_rate": self.false_reject_rate,
            "intervals": self.intervals(),
        }


@dataclass
class QAReport:
    """Overall and per-category rates, statuses, and every case the reward got wrong."""

    overall: Rates
    by_category: dict[str, Rates]
    statuses: dict[str, int]
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.to_dict(),
            "by_category": {name: rates.to_dict() for name, rates in self.by_category.items()},
            "statuses": self.statuses,
            "disagreements": self.disagreements,
            "skipped": self.skipped,
        }


def verifier_qa_file(
    path: str | Path, spec: Spec | str | dict[str, Any], **options: Any
) -> QAReport:
    """`verifier_qa` over a JSONL or Parquet file of labelled cases."""
    return verifier_qa(load_audit_rows(path), spec, source=str(path), **options)


def verifier_qa(
    cases: list[dict[str, Any]],
    spec: Spec | str | dict[str, Any],
    *,
    threshold: float = 1.0,
    completion_field: str = "completion",
    reference_field: str = "reference",
    label_field: str | None = None,
    category_field: str = "category",
    workers: int | None = None,
    source: str = "cases",
) -> QAReport:
    """Score labelled cases with ``spec`` and measure false-accept and false-reject rates.

    Args:
        cases: rows with the completion, reference, label and (optionally) category.
        spec: the verifier: any spec or registered reward name.
        threshold: values at or above it count as accepted.
        completion_field: field holding the answer to verify (``pred`` in the math sets).
        reference_field: field holding the gold answer (``gold`` in the math sets).
        label_field: ``expected`` (bool) or ``label`` (right/wrong/hack); default: whichever
            the first case has.
        category_field: field to group rates by (``label`` is used when it is absent).
        workers: engine worker processes.
        source: a name for error messages.

    Example:
        >>> cases = [{"completion": "Paris", "reference": "Paris", "expected": True},
        ...          {"completion": "paris!", "reference": "Paris", "expected": False}]
        >>> r = verifier_qa(cases, "exact_match", workers=1)
        >>> r.overall.false_accept_rate, r.overall.false_reject_rate
        (1.0, 0.0)
    """
    if not cases:
        raise InputError(f"{source}: no cases")
    label_field = label_field or ("expected" if "expected" in cases[0] else "label")
    rows, kept = [], []
    skipped = 0
    for index, case in enumerate(cases):
        where = f"{source} row {index}" + (f" (id {case['id']!r})" if "id" in case else "")
        expected = _expected(case, label_field, where)
        if expected is None:
            skipped += 1
            continue
        if completion_field not in case:
            raise InputError(f"{where}: field {completion_field!r} is missing")
        row = {k: v for k, v in case.items() if k not in ("expected", "label", "value", "status")}
        row.update(
            id=str(case.get("id", f"row-{index}")),
            completion=case[completion_field],
            reference=case.get(reference_field),
        )
        rows.append(row)
        kept.append((expected, str(case.get(category_field, case.get("label", "all")))))
    if not rows:
        raise InputError(f"{source}: no case has a usable {label_field!r} label")
    scores = score_rows(rows, spec, workers=workers)
    overall = Rates()
    by_category: dict[str, Rates] = {}
    statuses: dict[str, int] = {}
    disagreements = []
    for row, (expected, category), score in zip(rows, kept, scores, strict=True):
        statuses[score.status] = statuses.get(score.status, 0) + 1
        accepted = score.status == "ok" and score.value is not None and score.value >= threshold
        for rates in (overall, by_category.setdefault(category, Rates())):
            rates.cases += 1
            rates.right += expected
            rates.wrong += not expected
            rates.false_accepts += accepted and not expected
            rates.false_rejects += expected and not accepted
        if accepted != expected:
            disagreements.append(
                {
                    "id": row["id"],
                    "category": category,
                    "expected": expected,
                    "value": score.value,
                    "status": score.status,
                    "reason": score.reason,
                    "completion": str(row["completion"])[-300:],
                    "reference": row["reference"],
                }
            )
    return QAReport(overall, dict(sorted(by_category.items())), statuses, disagreements, skipped)


def _expected(case: dict[str, Any], label_field: str, where: str) -> bool | None:
    if label_field not in case:
        raise InputError(f"{where}: field {label_field!r} is missing (the expected verdict)")
    value = case[label_field]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and label_field == "label":
        return _LABELS.get(value)
    raise InputError(
        f"{where}: field {label_field!r} must be true/false or right/wrong/hack, got {value!r}"
    )

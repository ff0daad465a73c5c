"""Compare two rewards (or two versions of one, or two logged runs) on the same rows.

Each row's verdict on each side is ``accept`` (ok, value >= threshold), ``reject`` (ok, below)
or the failure status (``parse_error``, ``timeout``...). The report gives the agreement rate of
those verdicts, their confusion table, the correlation of the values where both are ok, and
the rows where the two sides differ, largest difference first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rewardsmith.audit.scoring import TextScore, score_rows
from rewardsmith.audit.stats import pearson, spearman
from rewardsmith.core.errors import InputError
from rewardsmith.core.spec import Spec

__all__ = ["Comparison", "compare_scores", "compare_specs", "logged_scores"]


@dataclass
class Comparison:
    """How two sets of scores over the same rows agree."""

    rows: int
    agreement: float
    """Fraction of rows whose verdicts (accept / reject / failure status) are equal."""
    confusion: dict[str, dict[str, int]]
    """confusion[verdict of A][verdict of B] = rows."""
    both_ok: int
    equal_values: int
    """Rows where both are ok with exactly the same value."""
    pearson: float | None
    spearman: float | None
    mean_abs_diff: float | None
    differences: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _verdict(score: TextScore, threshold: float) -> str:
    if score.status != "ok" or score.value is None:
        return score.status
    return "accept" if score.value >= threshold else "reject"


def compare_scores(
    ids: list[str],
    a: list[TextScore],
    b: list[TextScore],
    *,
    threshold: float = 1.0,
    show: int = 50,
) -> Comparison:
    """Compare two score lists aligned by row.

    Example:
        >>> ok = lambda v: TextScore(v, "ok")
        >>> c = compare_scores(["r1", "r2", "r3"], [ok(1.0), ok(0.0), ok(1.0)],
        ...                    [ok(1.0), ok(1.0), TextScore(None, "timeout")])
        >>> round(c.agreement, 3), c.confusion["reject"]["accept"], [d["id"] for d in c.differences]
        (0.333, 1, ['r3', 'r2'])
    """
    if not len(ids) == len(a) == len(b):
        raise ValueError(f"compare_scores: {len(ids)} ids, {len(a)} scores of A, {len(b)} of B")
    confusion: dict[str, dict[str, int]] = {}
    agree = equal = 0
    xs: list[float] = []
    ys: list[float] = []
    differences: list[tuple[float, dict[str, Any]]] = []
    for row_id, sa, sb in zip(ids, a, b, strict=True):
        va, vb = _verdict(sa, threshold), _verdict(sb, threshold)
        confusion.setdefault(va, {}).setdefault(vb, 0)
        confusion[va][vb] += 1
        agree += va == vb
        va_ok = sa.value if sa.status == "ok" else None
        vb_ok = sb.value if sb.status == "ok" else None
        if va_ok is not None and vb_ok is not None:
            xs.append(va_ok)
            ys.append(vb_ok)
            equal += va_ok == vb_ok
            gap = abs(va_ok - vb_ok)
        else:
            gap = math.inf  # a status differs: listed before any difference in value
        if va != vb or gap > 0:
            detail = {
                "id": row_id,
                "a": sa.value,
                "a_status": sa.status,
                "a_reason": sa.reason,
                "b": sb.value,
                "b_status": sb.status,
                "b_reason": sb.reason,
                "verdicts": f"{va} / {vb}",
            }
            differences.append((gap, detail))
    differences.sort(key=lambda item: -item[0])
    return Comparison(
        rows=len(ids),
        agreement=agree / len(ids) if ids else 0.0,
        confusion=confusion,
        both_ok=len(xs),
        equal_values=equal,
        pearson=pearson(xs, ys),
        spearman=spearman(xs, ys) if len(xs) >= 2 else None,
        mean_abs_diff=sum(abs(x - y) for x, y in zip(xs, ys, strict=True)) / len(xs)
        if xs
        else None,
        differences=[detail for _, detail in differences[:show]],
    )


def compare_specs(
    rows: list[dict[str, Any]],
    spec_a: Spec | str | dict[str, Any],
    spec_b: Spec | str | dict[str, Any],
    *,
    threshold: float = 1.0,
    show: int = 50,
    workers: int | None = None,
) -> Comparison:
    """Score ``rows`` with both specs and compare."""
    ids = [str(row.get("id", f"row-{i}")) for i, row in enumerate(rows)]
    a = score_rows(rows, spec_a, workers=workers)
    b = score_rows(rows, spec_b, workers=workers)
    return compare_scores(ids, a, b, threshold=threshold, show=show)


def logged_scores(run: Any, rows: int | None = None) -> tuple[list[str], list[TextScore]]:
    """Ids and scores of a logged run, in input order (replay without rescoring).

    ``rows`` is the number of input rows expected; a run missing some of them is an
    `InputError` naming the first missing position.
    """
    logged = run.logged_rows()
    total = rows if rows is not None else (max(logged) + 1 if logged else 0)
    ids, scores = [], []
    for index in range(total):
        found = logged.get(index)
        if found is None:
            raise InputError(f"run {run.id}: row {index} is not in the log (an unfinished run?)")
        ids.append(found.id)
        scores.append(TextScore(found.score.value, found.score.status, found.score.reason))
    return ids, scores

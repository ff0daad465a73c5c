"""Score texts for an audit: any spec or registered reward, run by the engine, one call.

Audits ask a reward about texts that are not rows of a training file (a chosen and a rejected
answer, a probe, a contrast pair). `score_texts` wraps them as rows, scores them in one engine
call and returns one `TextScore` per item, so every audit reads numbers the same way and a
failed row keeps its status instead of becoming a silent 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import InputError
from rewardsmith.core.spec import Spec, load_spec
from rewardsmith.engine.engine import Engine
from rewardsmith.io.readers import read_rows

__all__ = ["TextScore", "load_audit_rows", "require_numpy", "score_rows", "score_texts"]


@dataclass(frozen=True)
class TextScore:
    """The reward of one audited text: ``value`` is None when the status is not ``ok``-valued."""

    value: float | None
    status: str
    reason: str = ""
    guard: str | None = None
    """The judge guard that answered instead of the judge (``opener``, ...), if one did."""


def require_numpy() -> Any:
    """numpy, or an `ImportError` with the install hint."""
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is present wherever the tests run
        raise ImportError(
            "this audit needs numpy: pip install 'rewardsmith[audit]' (or pip install numpy)"
        ) from None
    return numpy


def load_audit_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSONL or Parquet file; an unreadable line is an `InputError` naming it.

    Audits compute one number from all rows, so a broken line cannot be skipped quietly.
    """
    rows = read_rows(path)
    for position, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(f"{path}: row {position}: {row.reason}")
    return rows  # type: ignore[return-value]


def score_rows(
    rows: list[dict[str, Any]],
    spec: Spec | str | Path | dict[str, Any],
    *,
    workers: int | None = None,
    engine: Engine | None = None,
) -> list[TextScore]:
    """Score prepared rows (``prompt``, ``completion``, ``reference``, ...) with a spec."""
    if not rows:
        return []
    loaded = load_spec(spec)
    own = engine is None
    engine = engine or Engine(workers)
    try:
        batch = engine.score(rows, loaded)
    finally:
        if own:
            engine.close()
    return [
        TextScore(score.value, score.status, score.reason, _guard(score.info)) for score in batch
    ]


def _guard(info: dict[str, Any]) -> str | None:
    terms = info.get("terms")
    if not isinstance(terms, dict):
        return None
    for detail in terms.values():
        inner = detail.get("info") if isinstance(detail, dict) else None
        if isinstance(inner, dict) and isinstance(inner.get("guard"), str):
            return str(inner["guard"])
    return None


def score_texts(
    items: list[tuple[Any, Any]],
    spec: Spec | str | Path | dict[str, Any],
    *,
    references: list[Any] | None = None,
    extras: list[dict[str, Any]] | None = None,
    workers: int | None = None,
    engine: Engine | None = None,
) -> list[TextScore]:
    """Score ``(prompt, completion)`` pairs; optional per-item references and extra fields.

    Example:
        >>> [s.value for s in score_texts([("Capital?", "Paris"), ("Capital?", "Rome")],
        ...                                "exact_match", references=["Paris", "Paris"], workers=1)]
        [1.0, 0.0]
    """
    rows = []
    for index, (prompt, completion) in enumerate(items):
        row: dict[str, Any] = dict(extras[index]) if extras is not None else {}
        row.update(id=f"audit-{index}", prompt=prompt, completion=completion)
        if references is not None:
            row["reference"] = references[index]
        rows.append(row)
    return score_rows(rows, spec, workers=workers, engine=engine)

"""Weighted sum of term scores, with gates and the status policy, into one row `Score`."""

from __future__ import annotations

from typing import Any

from rewardsmith.core.policy import apply_policy
from rewardsmith.core.score import Score
from rewardsmith.core.spec import Spec

__all__ = ["combine_terms"]


def combine_terms(spec: Spec, term_scores: dict[str, Score], *, row_id: str) -> Score:
    """One row's reward from its term scores.

    Terms that are ``not_applicable`` are left out. A failed term becomes what the status policy
    says (``mask`` makes the whole row's reward None). A gated term counts as 0 unless its gate
    term ended ok with a value of at least ``gate_min``; a gate that does not apply to the row
    does not block. The row's status is the first failed term's status, in spec order.

    Components hold each applied term's training value under its name, and a term's own
    components under ``term.component``.
    """
    components: dict[str, float] = {}
    details: dict[str, Any] = {}
    failures: list[str] = []
    status = "ok"
    total = 0.0
    masked = False
    applied = 0
    for term in spec.terms:
        score = term_scores[term.name]
        details[term.name] = _detail(score)
        if score.status == "not_applicable":
            continue
        applied += 1
        value = apply_policy(spec.on_status, score, row_id=row_id, term=term.name)
        if score.status != "ok":
            failures.append(f"{term.name}: {score.status}: {score.reason}")
            if status == "ok":
                status = score.status
        if value is None:
            masked = True
            continue
        if term.gate is not None and not _gate_passes(term_scores[term.gate], term.gate_min):
            details[term.name]["gated_by"] = term.gate
            value = 0.0
        components[term.name] = value
        for key, sub_value in score.components.items():
            components[f"{term.name}.{key}"] = sub_value
        total += term.weight * value
    if applied == 0:
        reason = "no term applies to this row" + _task_hint(term_scores)
        empty = Score(value=None, status="not_applicable", reason=reason, info={"terms": details})
        return Score(
            value=apply_policy(spec.on_status, empty, row_id=row_id, term="<row>"),
            status="not_applicable",
            reason=reason,
            info={"terms": details},
        )
    return Score(
        value=None if masked else total,
        status=status,  # type: ignore[arg-type]
        reason="; ".join(failures),
        components=components,
        info={"terms": details},
    )


def _gate_passes(gate: Score, gate_min: float) -> bool:
    if gate.status == "not_applicable":
        return True
    return gate.status == "ok" and gate.value is not None and gate.value >= gate_min


def _detail(score: Score) -> dict[str, Any]:
    detail: dict[str, Any] = {"status": score.status, "value": score.value}
    if score.reason:
        detail["reason"] = score.reason
    if score.info:
        detail["info"] = score.info
    return detail


def _task_hint(term_scores: dict[str, Score]) -> str:
    reasons = {score.reason for score in term_scores.values() if score.reason}
    return f" ({'; '.join(sorted(reasons))})" if reasons else ""

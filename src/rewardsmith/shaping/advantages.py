"""Advantages for a scored batch, from the spec's ``[normalize]`` table.

Rewards stay in ``Score.value``; the advantage of each row goes to ``Score.info["advantage"]``
(absent for rows that have none: masked rows) and, in batch order, to the returned list, which
the engine puts on ``ScoredBatch.advantages``. Groups come from each sample's ``group``; a row
without one, or an input row that failed before becoming a sample, is a group of its own.

Example:
    >>> from rewardsmith import Score
    >>> from rewardsmith.core.shaping_spec import NormalizeSpec
    >>> scores = [Score(value=1.0), Score(value=0.0), Score(value=None, status="error")]
    >>> advantages, report = compute_advantages(NormalizeSpec(method="dr_grpo", scope="batch"), scores)
    >>> advantages, report["zero_variance_groups"]
    ([0.5, -0.5, None], [])
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.core.shaping_spec import NormalizeSpec
from rewardsmith.shaping import normalize as norm
from rewardsmith.shaping.credit import hybrid_advantages

__all__ = ["compute_advantages"]


def compute_advantages(
    spec: NormalizeSpec,
    scores: Sequence[Score],
    rows: Sequence[Sample | Any] | None = None,
    *,
    weights: Mapping[str, float] | None = None,
) -> tuple[list[float | None], dict[str, Any]]:
    """Advantages in batch order and a report (method, groups, zero-variance groups, flat
    components). Sets ``info["advantage"]`` on each score that gets one, and
    ``info["zero_variance_group"] = True`` on rows of a group with no signal.

    ``weights`` are the GDPO component weights (the engine passes the term and ensemble
    weights); without them every top-level component counts, with weight 1.
    """
    rewards = [score.value for score in scores]
    samples = list(rows) if rows is not None else [None] * len(scores)
    groups: list[Hashable | None] = [
        row.group if isinstance(row, Sample) else None for row in samples
    ]
    keys = groups if spec.scope == "group" else None

    # GDPO's components: the given weights' names, or every top-level component (a term's own
    # sub-components, "term.part", are not rewards of their own).
    def wanted(name: str) -> bool:
        return name in weights if weights is not None else "." not in name

    components = [
        None if score.value is None else {k: v for k, v in score.components.items() if wanted(k)}
        for score in scores
    ]
    if spec.method == "grpo":
        advantages = norm.grpo(rewards, keys, eps=spec.eps, std=spec.std)
    elif spec.method == "dr_grpo":
        advantages = norm.dr_grpo(rewards, keys)
    elif spec.method == "rloo":
        advantages = norm.rloo(rewards, keys)
    elif spec.method == "batch":
        keys = None
        advantages = norm.batch_zscore(rewards, eps=spec.eps, std=spec.std)
    elif spec.method == "rank":
        advantages = norm.rank(rewards, keys)
    elif spec.method == "gdpo":
        advantages = norm.gdpo(
            components,
            keys,
            weights=weights,
            eps=spec.eps,
            std=spec.std,
            batch_normalize=spec.batch_normalize,
        )
    else:
        assert spec.k is not None
        advantages = norm.pass_at_k(rewards, keys, k=spec.k, threshold=spec.threshold)
    reports = norm.group_report(rewards, keys, components)
    flat_groups = [report for report in reports if report.zero_variance]
    members = norm.group_indices(len(scores), keys)
    for report, indices in zip(reports, members, strict=True):
        if report.zero_variance:
            for index in indices:
                if scores[index].value is not None:
                    scores[index].info["zero_variance_group"] = True
    for score, advantage in zip(scores, advantages, strict=True):
        if advantage is not None:
            score.info["advantage"] = advantage
    if spec.process is not None:
        _step_advantages(
            spec.process, spec.process_weight, scores, norm.group_indices(len(scores), keys)
        )
    flat_components: dict[str, int] = {}
    for report in reports:
        for name in report.flat_components:
            flat_components[name] = flat_components.get(name, 0) + 1
    summary = {
        "method": spec.method,
        "groups": len(reports),
        "zero_variance_groups": [report.key for report in flat_groups if report.used >= 2],
        "singleton_groups": sum(1 for report in reports if report.used == 1),
        "flat_components": flat_components,
    }
    return advantages, summary


def _step_advantages(
    process: str, weight: float, scores: Sequence[Score], members: list[list[int]]
) -> None:
    """PRIME-style per-step advantages for rows whose process term carried step rewards."""
    for indices in members:
        kept = []
        for index in indices:
            detail = scores[index].info.get("terms", {}).get(process, {})
            steps = detail.get("info", {}).get("steps") if detail.get("status") == "ok" else None
            if norm.usable(scores[index].value) and isinstance(steps, list) and steps:
                kept.append((index, [float(step) for step in steps]))
        if not kept:
            continue
        outcomes = [float(scores[index].value) for index, _ in kept]  # type: ignore[arg-type]
        per_step = hybrid_advantages(outcomes, [steps for _, steps in kept], process_weight=weight)
        for (index, _), advantages in zip(kept, per_step, strict=True):
            scores[index].info["step_advantages"] = advantages

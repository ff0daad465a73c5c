"""Hierarchical (lexicographic) comparison of reward factors, as in HERON (Bukharin et al. 2023,
"Deep Reinforcement Learning from Hierarchical Preference Design").

Factors are ranked by importance. Two samples are compared on the most important factor first;
that factor decides only if the two values differ by more than its margin, otherwise the next
factor is consulted; if none decides, it is a tie. HERON trains a reward model on these
preferences; here each sample's reward is its win rate against the other samples it is
compared with (its group): ``(wins + ties / 2) / (n - 1)``, in [0, 1]. A sample compared with
nobody gets 0.5.

Example:
    >>> rows = [{"correct": 1, "short": 0}, {"correct": 1, "short": 1}, {"correct": 0, "short": 1}]
    >>> win_rates(rows, ["correct", "short"])
    [0.5, 1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from rewardsmith.shaping.normalize import group_indices

__all__ = ["compare", "win_rates"]


def compare(
    a: Mapping[str, float], b: Mapping[str, float], order: Sequence[str], margins: Sequence[float]
) -> int:
    """1 if ``a`` is preferred, -1 if ``b`` is, 0 for a tie. A factor missing from either side
    cannot decide."""
    for name, margin in zip(order, margins, strict=True):
        if name not in a or name not in b:
            continue
        difference = a[name] - b[name]
        if difference > margin:
            return 1
        if difference < -margin:
            return -1
    return 0


def win_rates(
    rows: Sequence[Mapping[str, float] | None],
    order: Sequence[str],
    margins: float | Sequence[float] = 0.0,
    groups: Sequence[Hashable | None] | None = None,
) -> list[float | None]:
    """Each row's win rate within its group (None rows are skipped and get None)."""
    margin_list = (
        [float(margins)] * len(order) if isinstance(margins, int | float) else list(margins)
    )
    if len(margin_list) != len(order):
        raise ValueError(f"{len(margin_list)} margins for {len(order)} factors")
    out: list[float | None] = [None] * len(rows)
    for members in group_indices(len(rows), groups):
        kept = [index for index in members if rows[index] is not None]
        for index in kept:
            others = [other for other in kept if other != index]
            if not others:
                out[index] = 0.5
                continue
            score = 0.0
            for other in others:
                result = compare(rows[index], rows[other], order, margin_list)  # type: ignore[arg-type]
                score += 1.0 if result > 0 else 0.5 if result == 0 else 0.0
            out[index] = score / len(others)
    return out

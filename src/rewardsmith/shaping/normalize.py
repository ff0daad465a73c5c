"""Group and batch advantages from rewards: GRPO, Dr. GRPO, RLOO, batch, rank, GDPO, pass@k.

Every function takes rewards in batch order, with ``None`` (or NaN) for rows that must not be
trained on (masked statuses). Those rows are left out of every statistic — never counted as
zero — and get ``None`` back. ``groups`` gives each row's group key; a row whose key is
``None`` is a group of its own (the engine's convention for group rewards).

A group with one usable row, or whose rewards are all equal, has no signal: every method gives
its rows an advantage of exactly 0.0, and `group_report` lists such groups, looking at each
component as well as the total (a group can vary in total while one component is flat).

Example:
    >>> [round(a, 4) for a in grpo([1.0, 0.0, 3.0, 3.0], groups=["a", "a", "b", "b"], std="population")]
    [1.0, -1.0, 0.0, 0.0]
    >>> rloo([1.0, 0.0, 0.0, None])
    [1.0, -0.5, -0.5, None]
    >>> rloo([1.0, 0.0, 0.0], groups=["g", "g", None])
    [1.0, -1.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "GroupReport",
    "StdKind",
    "average_ranks",
    "batch_zscore",
    "dr_grpo",
    "gdpo",
    "group_indices",
    "group_report",
    "grpo",
    "pass_at_k",
    "rank",
    "rloo",
    "usable",
]

StdKind = Literal["sample", "population"]


def usable(value: float | None) -> bool:
    """True for a finite number; False for None, NaN and infinities."""
    return value is not None and math.isfinite(value)


def group_indices(size: int, groups: Sequence[Hashable | None] | None) -> list[list[int]]:
    """Row positions per group, groups in order of first appearance; ``None`` keys stand alone.

    ``groups=None`` puts every row in one group (the whole batch).
    """
    if groups is None:
        return [list(range(size))]
    if len(groups) != size:
        raise ValueError(f"{size} rewards but {len(groups)} group keys")
    found: dict[Hashable, list[int]] = {}
    for index, key in enumerate(groups):
        found.setdefault(("<alone>", index) if key is None else ("<key>", key), []).append(index)
    return list(found.values())


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def _std(values: Sequence[float], kind: StdKind) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    mean = _mean(values)
    squares = math.fsum((value - mean) ** 2 for value in values)
    return math.sqrt(squares / (n - 1 if kind == "sample" else n))


def _flat(values: Sequence[float]) -> bool:
    return len(values) < 2 or all(value == values[0] for value in values)


def _per_group(
    rewards: Sequence[float | None],
    groups: Sequence[Hashable | None] | None,
    compute: Any,
) -> list[float | None]:
    out: list[float | None] = [None] * len(rewards)
    for members in group_indices(len(rewards), groups):
        kept = [index for index in members if usable(rewards[index])]
        values = [float(rewards[index]) for index in kept]  # type: ignore[arg-type]
        # Fewer than two values, or all equal: no signal, and exactly 0 rather than rounding noise.
        advantages = [0.0] * len(values) if _flat(values) else compute(values)
        for index, advantage in zip(kept, advantages, strict=True):
            out[index] = advantage
    return out


def grpo(
    rewards: Sequence[float | None],
    groups: Sequence[Hashable | None] | None = None,
    *,
    eps: float = 1e-6,
    std: StdKind = "sample",
) -> list[float | None]:
    """GRPO (Shao et al. 2024, DeepSeekMath): ``(r_i - mean(r)) / (std(r) + eps)`` per group."""

    def compute(values: list[float]) -> list[float]:
        mean, spread = _mean(values), _std(values, std)
        return [(value - mean) / (spread + eps) for value in values]

    return _per_group(rewards, groups, compute)


def dr_grpo(
    rewards: Sequence[float | None], groups: Sequence[Hashable | None] | None = None
) -> list[float | None]:
    """Dr. GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training"): ``r_i - mean(r)``,
    without dividing by the std (which up-weights too-easy and too-hard prompts)."""

    def compute(values: list[float]) -> list[float]:
        mean = _mean(values)
        return [value - mean for value in values]

    return _per_group(rewards, groups, compute)


def rloo(
    rewards: Sequence[float | None], groups: Sequence[Hashable | None] | None = None
) -> list[float | None]:
    """RLOO (Kool et al. 2019; Ahmadian et al. 2024): ``r_i - mean_{j != i} r_j`` per group."""

    def compute(values: list[float]) -> list[float]:
        total, n = math.fsum(values), len(values)
        return [value - (total - value) / (n - 1) for value in values]

    return _per_group(rewards, groups, compute)


def batch_zscore(
    rewards: Sequence[float | None], *, eps: float = 1e-6, std: StdKind = "sample"
) -> list[float | None]:
    """Batch-level normalization (REINFORCE++ style): one z-score over every usable reward."""
    return grpo(rewards, None, eps=eps, std=std)


def average_ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 0 (the lowest value), ties sharing their average rank.

    Example:
        >>> average_ranks([10, 20, 10, 30])
        [0.5, 2.0, 0.5, 3.0]
    """
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2
        start = end + 1
    return ranks


def rank(
    rewards: Sequence[float | None], groups: Sequence[Hashable | None] | None = None
) -> list[float | None]:
    """Centred ranks: ``2 * rank_i / (n - 1) - 1`` in [-1, 1], rank 0 the lowest reward, ties
    sharing their average rank. Invariant to any increasing transform of the rewards."""

    def compute(values: list[float]) -> list[float]:
        top = len(values) - 1
        return [2.0 * value / top - 1.0 for value in average_ranks(values)]

    return _per_group(rewards, groups, compute)


def gdpo(
    components: Sequence[Mapping[str, float] | None],
    groups: Sequence[Hashable | None] | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    eps: float = 1e-6,
    std: StdKind = "sample",
    batch_normalize: bool = True,
) -> list[float | None]:
    """GDPO (Liu et al. 2026, "Group reward-Decoupled Normalization Policy Optimization").

    Each component is normalized within its group on its own,
    ``A_k = (r_k - mean_g(r_k)) / (std_g(r_k) + eps)``; the row's advantage is
    ``sum_k w_k * A_k``; then (``batch_normalize``) that sum is z-scored over the batch so its
    scale does not grow with the number of components. A row that is ``None`` (masked) or has a
    NaN component is left out; a component missing from a row (a term that did not apply) adds
    nothing to that row.
    """
    # A row with a NaN or infinite component has no usable total: leave it out like a masked row.
    components = [
        None if row is None or not all(usable(value) for value in row.values()) else row
        for row in components
    ]
    names = sorted({name for row in components if row is not None for name in row})
    weights = weights or {}
    summed: list[float | None] = [None if row is None else 0.0 for row in components]
    for name in names:
        column = [None if row is None or name not in row else row[name] for row in components]
        advantages = grpo(column, groups, eps=eps, std=std)
        for index, advantage in enumerate(advantages):
            current = summed[index]
            if advantage is not None and current is not None:
                summed[index] = current + weights.get(name, 1.0) * advantage
    if not batch_normalize:
        return summed
    return batch_zscore(summed, eps=eps, std=std)


def pass_at_k(
    rewards: Sequence[float | None],
    groups: Sequence[Hashable | None] | None = None,
    *,
    k: int,
    threshold: float = 1.0,
) -> list[float | None]:
    """Analytical pass@k advantages (Chen et al. 2025, "Pass@k Training for Adaptively
    Balancing Exploration and Exploitation of Large Reasoning Models").

    With ``N`` usable rows in the group, ``N_neg`` of them wrong (reward below ``threshold``):
    ``R = 1 - C(N_neg, k) / C(N, k)`` (the group's expected pass@k), ``s = sqrt(R (1 - R))``,
    a correct row gets ``(1 - R) / s`` and a wrong one
    ``(1 - R - C(N_neg - 1, k - 1) / C(N - 1, k - 1)) / s``. ``k`` above ``N`` is taken as ``N``.
    A group that is all correct or all wrong gets 0.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    out: list[float | None] = [None] * len(rewards)
    for members in group_indices(len(rewards), groups):
        kept = [index for index in members if usable(rewards[index])]
        n = len(kept)
        correct = [float(rewards[index]) >= threshold for index in kept]  # type: ignore[arg-type]
        n_neg = n - sum(correct)
        if n < 2 or n_neg in (0, n):
            for index in kept:
                out[index] = 0.0
            continue
        kk = min(k, n)
        group_pass = 1.0 - math.comb(n_neg, kk) / math.comb(n, kk)
        spread = math.sqrt(group_pass * (1.0 - group_pass))
        if spread == 0.0:
            for index in kept:
                out[index] = 0.0
            continue
        positive = (1.0 - group_pass) / spread
        negative = (
            1.0 - group_pass - math.comb(n_neg - 1, kk - 1) / math.comb(n - 1, kk - 1)
        ) / spread
        for index, is_correct in zip(kept, correct, strict=True):
            out[index] = positive if is_correct else negative
    return out


@dataclass
class GroupReport:
    """What one group offered the optimizer.

    Attributes:
        key: the group key (None for a row without one).
        size: rows in the group; ``used``: rows with a usable reward.
        zero_variance: the usable totals are all equal (or fewer than two): no signal.
        flat_components: components whose usable values are all equal within the group.
    """

    key: Hashable | None
    size: int
    used: int
    zero_variance: bool
    flat_components: list[str] = field(default_factory=list)


def group_report(
    rewards: Sequence[float | None],
    groups: Sequence[Hashable | None] | None,
    components: Sequence[Mapping[str, float] | None] | None = None,
) -> list[GroupReport]:
    """Per group: how many rows count, and whether the total or any component is flat."""
    reports = []
    for members in group_indices(len(rewards), groups):
        kept = [index for index in members if usable(rewards[index])]
        values = [float(rewards[index]) for index in kept]  # type: ignore[arg-type]
        flat: list[str] = []
        if components is not None and len(kept) >= 2:
            names = sorted({name for index in kept for name in (components[index] or {})})
            for name in names:
                column = [
                    components[index][name]  # type: ignore[index]
                    for index in kept
                    if components[index] is not None and name in components[index]  # type: ignore[operator]
                ]
                if len(column) >= 2 and _flat(column):
                    flat.append(name)
        reports.append(
            GroupReport(
                key=None if groups is None else groups[members[0]],
                size=len(members),
                used=len(kept),
                zero_variance=_flat(values),
                flat_components=flat,
            )
        )
    return reports

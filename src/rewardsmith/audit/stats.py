"""Small statistics the audits share: Wilson intervals, correlations, the KS statistic.

Written out here (not taken from scipy) because each is a few lines and the audits must give
the same numbers with or without scipy installed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rewardsmith.shaping.normalize import average_ranks

__all__ = ["ks_statistic", "pearson", "rank", "spearman", "wilson_interval"]


def wilson_interval(
    successes: int, trials: int, z: float = 1.959963984540054
) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95% by default).

    Preferred to the normal interval because rates near 0 or 1 (a verifier's false-accept rate)
    are exactly where the normal interval goes below 0 or has zero width.

    Example:
        >>> [round(x, 4) for x in wilson_interval(0, 10)]
        [0.0, 0.2775]
    """
    if trials <= 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson correlation; None when fewer than 2 points or either side is constant.

    Example:
        >>> pearson([1, 2, 3], [2, 4, 7])
        0.9933992677987828
    """
    n = len(x)
    if n != len(y):
        raise ValueError(f"pearson: {n} x values but {len(y)} y values")
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def rank(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing their average rank (as Spearman's rho needs).

    Example:
        >>> rank([10, 20, 10, 30])
        [1.5, 3.0, 1.5, 4.0]
    """
    return [r + 1 for r in average_ranks(values)]


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman rank correlation (Pearson over average ranks)."""
    return pearson(rank(x), rank(y))


def ks_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the empirical CDFs.

    Example:
        >>> ks_statistic([1, 2, 3], [1, 2, 3]), ks_statistic([0, 0], [1, 1])
        (0.0, 1.0)
    """
    if not a or not b:
        raise ValueError("ks_statistic needs two non-empty samples")
    xs, ys = sorted(a), sorted(b)
    i = j = 0
    gap = 0.0
    while i < len(xs) and j < len(ys):
        point = min(xs[i], ys[j])
        while i < len(xs) and xs[i] <= point:
            i += 1
        while j < len(ys) and ys[j] <= point:
            j += 1
        gap = max(gap, abs(i / len(xs) - j / len(ys)))
    return gap

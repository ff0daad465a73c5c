"""Pooling several reward terms that score the same thing (an ensemble of reward models).

Coste et al. 2023 ("Reward Model Ensembles Help Mitigate Overoptimization") compare the mean,
worst-case (min) and uncertainty-weighted (``mean - λ·var``) objectives; ``mean - λ·std`` keeps
the penalty in reward units. Variance and std are over the members, population form (1/k).

Example:
    >>> pool([1.0, 2.0, 4.0], "median")
    2.0
    >>> round(pool([1.0, 2.0, 3.0], "mean_minus_var", lam=0.5), 4)
    1.6667
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Literal

__all__ = ["Method", "pool"]

Method = Literal["mean", "median", "min", "mean_minus_var", "mean_minus_std"]


def pool(values: Sequence[float], method: Method = "mean", *, lam: float = 1.0) -> float:
    """One value from the members' values.

    Raises:
        ValueError: no values, a NaN among them, or an unknown method.
    """
    if not values:
        raise ValueError("an ensemble needs at least one member value")
    if any(math.isnan(value) for value in values):
        raise ValueError("an ensemble member is NaN")
    mean = math.fsum(values) / len(values)
    if method == "mean":
        return mean
    if method == "median":
        return float(statistics.median(values))
    if method == "min":
        return float(min(values))
    var = math.fsum((value - mean) ** 2 for value in values) / len(values)
    if method == "mean_minus_var":
        return mean - lam * var
    if method == "mean_minus_std":
        return mean - lam * math.sqrt(var)
    raise ValueError(f"unknown ensemble method {method!r}")

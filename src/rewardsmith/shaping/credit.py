"""Credit assignment for step rewards (process reward models): one value per trajectory, or
per-step returns.

``sum``, ``mean``, ``product``, ``last`` and ``min`` aggregate the step rewards ``r_1..r_T``.
``pure`` is PURE's min-form (Cheng et al. 2025, "Stop Summation: Min-Form Credit Assignment Is
All Process Reward Model Needs for Reasoning"): each step is weighted by
``w_t = softmax(-r / T)_t`` and the trajectory gets ``sum_t w_t * r_t``, which tends to
``min_t r_t`` as ``T -> 0`` (PURE uses T = 0.1). `min_form_returns` gives the exact per-step
values ``G_t = min_{t' >= t} r_t'``, each at most its own step's reward.

`hybrid_advantages` combines a group's outcome rewards and step rewards the way PRIME does:
each is given a leave-one-out baseline separately and the two advantages are added per step.

Example:
    >>> aggregate([0.9, 0.2, 0.8], "min")
    0.2
    >>> round(aggregate([0.9, 0.2, 0.8], "pure", temperature=0.1), 3)
    0.202
    >>> min_form_returns([0.9, 0.2, 0.8])
    [0.2, 0.2, 0.8]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

__all__ = [
    "CreditMethod",
    "aggregate",
    "hybrid_advantages",
    "min_form_returns",
    "pure_step_rewards",
    "pure_weights",
]

CreditMethod = Literal["sum", "mean", "min", "product", "last", "pure"]


def pure_weights(steps: Sequence[float], temperature: float = 0.1) -> list[float]:
    """``softmax(-r / T)`` over the steps (shifted by the minimum so exp cannot overflow)."""
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    low = min(steps)
    scaled = [math.exp(-(step - low) / temperature) for step in steps]
    total = math.fsum(scaled)
    return [value / total for value in scaled]


def pure_step_rewards(steps: Sequence[float], temperature: float = 0.1) -> list[float]:
    """PURE's transformed step rewards ``w_t * r_t``; their sum is the min-form value."""
    return [
        weight * step for weight, step in zip(pure_weights(steps, temperature), steps, strict=True)
    ]


def min_form_returns(steps: Sequence[float]) -> list[float]:
    """``G_t = min_{t' >= t} r_t'``: the value of each step under min-form credit."""
    returns: list[float] = []
    running = math.inf
    for step in reversed(steps):
        running = min(running, step)
        returns.append(running)
    return returns[::-1]


def aggregate(steps: Sequence[float], method: CreditMethod, *, temperature: float = 0.1) -> float:
    """One value from step rewards.

    Raises:
        ValueError: no steps, a NaN step, or an unknown method.
    """
    if not steps:
        raise ValueError("no step rewards to aggregate")
    if any(math.isnan(step) for step in steps):
        raise ValueError("a step reward is NaN")
    if method == "sum":
        return math.fsum(steps)
    if method == "mean":
        return math.fsum(steps) / len(steps)
    if method == "min":
        return float(min(steps))
    if method == "product":
        return float(math.prod(steps))
    if method == "last":
        return float(steps[-1])
    if method == "pure":
        return math.fsum(pure_step_rewards(steps, temperature))
    raise ValueError(f"unknown credit method {method!r}")


def hybrid_advantages(
    outcomes: Sequence[float], steps: Sequence[Sequence[float]], *, process_weight: float = 1.0
) -> list[list[float]]:
    """Per-step advantages for one group from outcome rewards and step rewards (PRIME-style).

    Outcome: ``A_o(i) = r_o(i) - mean_{j != i} r_o(j)`` (RLOO). Process: each sample's step
    rewards are compared with the mean step reward of the other samples,
    ``b_i = mean_{j != i} mean_t r_t(j)``, and step ``t`` gets the return
    ``sum_{s >= t} (r_s(i) - b_i)``. The advantage of step ``t`` of sample ``i`` is
    ``A_o(i) + process_weight * process_return_t(i)``. A group of one gets zeros (no baseline).
    """
    if len(outcomes) != len(steps):
        raise ValueError(f"{len(outcomes)} outcomes but {len(steps)} step lists")
    size = len(outcomes)
    if size < 2:
        return [[0.0] * len(sample_steps) for sample_steps in steps]
    outcome_total = math.fsum(outcomes)
    step_means = [math.fsum(s) / len(s) if s else 0.0 for s in steps]
    step_total = math.fsum(step_means)
    result = []
    for index in range(size):
        outcome_adv = outcomes[index] - (outcome_total - outcomes[index]) / (size - 1)
        baseline = (step_total - step_means[index]) / (size - 1)
        running = 0.0
        per_step = []
        for step in reversed(steps[index]):
            running += step - baseline
            per_step.append(outcome_adv + process_weight * running)
        result.append(per_step[::-1])
    return result

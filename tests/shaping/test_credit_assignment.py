"""Step-reward credit: aggregations, PURE's min-form, and PRIME-style hybrid advantages."""

from __future__ import annotations

import itertools
import math

import pytest

from rewardsmith.shaping.credit import (
    aggregate,
    hybrid_advantages,
    min_form_returns,
    pure_step_rewards,
    pure_weights,
)


def test_aggregations() -> None:
    steps = [0.5, 0.8, 0.25]
    assert aggregate(steps, "sum") == pytest.approx(1.55)
    assert aggregate(steps, "mean") == pytest.approx(1.55 / 3)
    assert aggregate(steps, "min") == 0.25
    assert aggregate(steps, "product") == pytest.approx(0.1)
    assert aggregate(steps, "last") == 0.25


def test_pure_weights_are_softmax_of_negative_rewards_over_temperature() -> None:
    # PURE: w_t = exp(-r_t / T) / sum_j exp(-r_j / T); T = 0.5, r = (0, 1)
    weights = pure_weights([0.0, 1.0], temperature=0.5)
    assert weights == pytest.approx([1 / (1 + math.exp(-2)), math.exp(-2) / (1 + math.exp(-2))])
    assert pure_step_rewards([0.0, 1.0], 0.5) == pytest.approx([0.0, weights[1]])
    assert aggregate([0.0, 1.0], "pure", temperature=0.5) == pytest.approx(weights[1])


def test_pure_tends_to_the_minimum_as_temperature_falls() -> None:
    steps = [0.9, -0.4, 0.3, 0.7]
    gaps = [aggregate(steps, "pure", temperature=t) - min(steps) for t in (1.0, 0.3, 0.1, 0.01)]
    assert all(later < earlier for earlier, later in itertools.pairwise(gaps))
    assert gaps[-1] == pytest.approx(0.0, abs=1e-12)
    assert aggregate([1e6, -1e6], "pure", temperature=1e-3) == -1e6  # no overflow


def test_min_form_returns_are_the_minimum_of_the_future() -> None:
    assert min_form_returns([0.9, 0.2, 0.8, 0.5]) == [0.2, 0.2, 0.5, 0.5]


def test_bad_steps_are_refused() -> None:
    for bad in ([], [float("nan")]):
        with pytest.raises(ValueError):
            aggregate(bad, "min")
    with pytest.raises(ValueError):
        pure_weights([1.0], temperature=0.0)


def test_hybrid_advantages_add_outcome_and_process_baselines() -> None:
    outcomes = [1.0, 0.0]
    steps = [[0.5, 1.0], [0.0]]
    out = hybrid_advantages(outcomes, steps)
    # outcome RLOO: +1, -1; process baselines: sample 0 vs mean of sample 1 (0.0),
    # sample 1 vs mean of sample 0 (0.75); returns-to-go of (r_s - b).
    assert out[0] == pytest.approx([1.0 + (0.5 + 1.0), 1.0 + 1.0])
    assert out[1] == pytest.approx([-1.0 + (0.0 - 0.75)])
    assert hybrid_advantages([1.0], [[0.3, 0.4]]) == [[0.0, 0.0]]

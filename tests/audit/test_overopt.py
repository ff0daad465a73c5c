"""Over-optimization fits recover known curves, peaks and divergence points."""

from __future__ import annotations

import math

import pytest

np = pytest.importorskip("numpy", reason="the fits need numpy: pip install 'rewardsmith[audit]'")

from rewardsmith.audit.overopt import bon_distance, fit_curve, fit_overoptimization  # noqa: E402
from rewardsmith.core.errors import InputError  # noqa: E402

NS = (1, 2, 4, 8, 16, 64, 256, 1024, 4096, 16384)


def test_bon_distance_by_hand() -> None:
    assert bon_distance(1) == 0.0
    assert bon_distance(4) == pytest.approx(math.sqrt(math.log(4) - 0.75))


def test_noiseless_bon_recovers_peak_and_divergence() -> None:
    points = [
        {"n": n, "proxy": 0.3 * d + 0.01 * d * d, "gold": d * (0.5 - 0.1 * d)}
        for n in NS
        for d in [bon_distance(n)]
    ]
    fit = fit_overoptimization(points, bootstrap=0)
    assert fit.method == "bon"
    assert (fit.gold.alpha, fit.gold.beta) == (pytest.approx(0.5), pytest.approx(0.1))
    assert fit.gold_peak_d == pytest.approx(2.5)  # alpha / 2 beta
    assert fit.gold_peak_kl == pytest.approx(6.25)
    assert fit.gold_peak_value == pytest.approx(0.625)
    # Relative slopes: proxy 1 + (0.02/0.3) d, gold 1 - 0.4 d; gap 0.4667 d reaches 0.5 at d = 1.0714.
    assert fit.divergence_d == pytest.approx(0.5 / (0.4 + 0.02 / 0.3), abs=2e-3)
    assert fit.gold.r2 == pytest.approx(1.0)


def test_rl_form_and_bootstrap_interval_covers_the_truth() -> None:
    rng = np.random.default_rng(0)
    alpha, beta = 1.0, 0.5  # peak at exp(alpha / beta - 1) = e
    kls = np.linspace(0.05, 30, 40)
    points = [
        {
            "kl": float(kl),
            "proxy": float(math.sqrt(kl) * 0.8 + rng.normal(0, 0.01)),
            "gold": float(
                math.sqrt(kl) * (alpha - beta * math.log(math.sqrt(kl))) + rng.normal(0, 0.01)
            ),
        }
        for kl in kls
    ]
    fit = fit_overoptimization(points, bootstrap=300, seed=1)
    assert fit.method == "rl"
    assert fit.gold_peak_d == pytest.approx(math.e, rel=0.05)
    low, high = fit.intervals["gold_peak_d"]
    assert low <= math.e <= high and high - low < 0.5
    assert fit.proxy.peak() is None  # a proxy that never turns down has no peak


def test_curve_without_intercept_data_fits_intercept() -> None:
    d = [0.0, 1.0, 2.0, 3.0]
    fit = fit_curve(d, [1.0 + x * (2 - 0.5 * x) for x in d], "bon")
    assert (fit.c, fit.alpha, fit.beta) == (
        pytest.approx(1.0),
        pytest.approx(2.0),
        pytest.approx(0.5),
    )


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([{"n": 2, "proxy": 1.0}], "point 0: field 'gold'"),
        ([{"proxy": 1.0, "gold": 1.0}], "point 0: needs field 'n'"),
        ([{"n": 0, "proxy": 1.0, "gold": 1.0}], "point 0: field 'n' must be an integer >= 1"),
        ([{"n": 2, "proxy": 1, "gold": 1}, {"kl": 1.0, "proxy": 1, "gold": 1}], "mix"),
        ([{"n": 2, "proxy": 1, "gold": 1}], "at least 3 points"),
    ],
)
def test_bad_points(points: list[dict[str, object]], message: str) -> None:
    with pytest.raises(InputError, match=message):
        fit_overoptimization(points, bootstrap=0)

"""Transforms against hand-computed values from their papers' definitions, and saved state."""

from __future__ import annotations

import math
import statistics

import pytest

from rewardsmith import Sample
from rewardsmith.core.shaping_spec import TransformSpec
from rewardsmith.shaping.transforms import (
    Affine,
    CalibratedConfidence,
    Ceiling,
    Clip,
    LengthPenalty,
    LogSigmoidCentered,
    PreferenceAsReward,
    RunningMinMax,
    RunningZScore,
    Sigmoid,
    Tanh,
    TransformError,
    build_transform,
    log_sigmoid,
)


def _row(completion: str = "", **extra: object) -> Sample:
    return Sample(id="r", completion=completion, extra=dict(extra))


def test_stateless_transforms() -> None:
    assert Affine(scale=2.0, shift=-1.0)([0.5, 3.0]) == [0.0, 5.0]
    assert Clip(-1.0, 1.0)([-5.0, 0.3, 5.0]) == [-1.0, 0.3, 1.0]
    assert Clip(low=0.0)([-2.0, 7.0]) == [0.0, 7.0]
    assert Ceiling(2.0)([1.0, 9.0]) == [1.0, 2.0]
    assert Tanh(scale=2.0, center=1.0).apply(3.0) == pytest.approx(math.tanh(1.0))
    assert Sigmoid(scale=0.5, center=1.0).apply(1.5) == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert Sigmoid().apply(-1000.0) == 0.0  # no overflow


def test_lsc_is_log_sigmoid_of_reward_minus_reference() -> None:
    # Wang et al. 2024: u = log sigmoid(r - r_ref); r = 2, r_ref = 1 -> log(1 / (1 + e^-1))
    assert LogSigmoidCentered(ref=1.0).apply(2.0) == pytest.approx(math.log(1 / (1 + math.exp(-1))))
    by_row = LogSigmoidCentered(ref_field="ref")
    assert by_row.apply(0.0, _row(ref=3.0)) == pytest.approx(math.log(1 / (1 + math.exp(3))))
    assert log_sigmoid(-800.0) == -800.0  # stable where log(sigmoid(x)) would be log(0)
    with pytest.raises(TransformError, match="no field 'ref'"):
        by_row.apply(1.0, _row())


def test_par_is_the_mean_sigmoid_against_reference_rewards() -> None:
    # Fu et al. 2025: r_PAR = 1/M sum_m sigmoid(r - r_ref_m); r = 1, refs (0, 2) -> (s(1) + s(-1)) / 2 = 0.5
    par = PreferenceAsReward(ref_field="refs")
    assert par.apply(1.0, _row(refs=[0.0, 2.0])) == pytest.approx(0.5)
    assert par.apply(3.0, _row(refs=1.0)) == pytest.approx(1 / (1 + math.exp(-2.0)))
    for bad in ([], ["x"], [float("nan")], None):
        with pytest.raises(TransformError):
            par.apply(1.0, _row(refs=bad))


def test_length_penalty_ramps_between_free_and_max_length() -> None:
    penalty = LengthPenalty(max_length=20, coef=0.5, free=10, unit="chars")
    assert penalty.apply(1.0, _row("x" * 5)) == 1.0
    assert penalty.apply(1.0, _row("x" * 15)) == pytest.approx(1.0 - 0.5 * 0.5)
    assert penalty.apply(1.0, _row("x" * 500)) == pytest.approx(0.5)
    words = LengthPenalty(max_length=4, unit="words")
    assert words.apply(0.0, _row("one, two three")) == pytest.approx(-0.75)
    from_field = LengthPenalty(max_length=100, field="tokens")
    assert from_field.apply(0.0, _row("ignored", tokens=50)) == pytest.approx(-0.5)


def test_running_zscore_matches_statistics_over_everything_seen() -> None:
    z = RunningZScore(eps=1e-12)
    z.observe([1.0, 2.0, 3.0])
    z.observe([10.0, 4.0])
    seen = [1.0, 2.0, 3.0, 10.0, 4.0]
    mean, std = statistics.fmean(seen), statistics.pstdev(seen)
    assert z.apply(7.0) == pytest.approx((7.0 - mean) / std)


def test_stateful_transforms_save_and_restore() -> None:
    for make in (RunningZScore, RunningMinMax, CalibratedConfidence):
        first = make()
        first([1.0, 5.0, -2.0])
        restored = make()
        restored.load_state_dict(first.state_dict())
        batch = [0.5, 9.0]
        assert first(batch) == restored(batch)
        assert first.state_dict() == restored.state_dict()
        assert make().state_dict() != first.state_dict()


def test_minmax_maps_to_unit_interval_and_is_neutral_when_flat() -> None:
    scaler = RunningMinMax()
    assert scaler([3.0, 3.0]) == [0.5, 0.5]
    assert scaler([1.0, 5.0]) == [0.0, 1.0]
    assert scaler.apply(4.0) == 0.75


def test_ppo_c_rewards_confidence_above_the_running_average() -> None:
    # Leng et al. 2024 (threshold form): r_avg <- a*mean + (1-a)*r_avg; adj = w*|r|*(c - 0.5);
    # r >= r_avg: r + adj, else r - adj.
    calib = CalibratedConfidence(w=0.5, alpha=0.5, initial_mean=0.0)
    rows = [
        _row("answer. Confidence: 9"),
        _row("answer. Confidence: 9"),
        _row("no confidence given"),
    ]
    out = calib([2.0, -2.0, 4.0], rows)
    r_avg = 0.5 * (4.0 / 3) + 0.5 * 0.0
    assert calib.reward_avg == pytest.approx(r_avg)
    assert out[0] == pytest.approx(2.0 + 0.5 * 2.0 * 0.4)  # above average, confident: raised
    assert out[1] == pytest.approx(-2.0 - 0.5 * 2.0 * 0.4)  # below average, confident: lowered
    assert out[2] == 4.0  # no confidence stated: c = 0.5, unchanged
    by_field = CalibratedConfidence(confidence_field="conf")
    with pytest.raises(TransformError, match="not in"):
        by_field.apply(1.0, _row(conf=3.0))


def test_spec_tables_build_the_same_transforms() -> None:
    assert build_transform({"kind": "clip", "low": 0, "high": 1}).apply(4.0) == 1.0
    assert build_transform(TransformSpec(kind="affine", scale=3.0)).apply(2.0) == 6.0
    assert isinstance(build_transform({"kind": "zscore"}), RunningZScore)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kind": "clip", "scale": 2}, "takes high, low; remove scale"),
        ({"kind": "ceiling"}, "needs high"),
        ({"kind": "clip", "low": 2, "high": 1}, "low"),
        ({"kind": "lsc"}, "exactly one of ref or ref_field"),
        ({"kind": "length_penalty", "max_length": 10, "free": 10}, "free must be below"),
        ({"kind": "tanh", "scale": 0}, "scale must be > 0"),
        ({"kind": "nope"}, "Input should be"),
    ],
)
def test_bad_transform_tables_are_refused(table: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TransformSpec.model_validate(table)

"""Advantages against hand-computed values from each method's definition, and edge cases."""

from __future__ import annotations

import math

import pytest

from rewardsmith.shaping import normalize as norm

NAN = float("nan")


def test_grpo_is_a_group_z_score_with_the_sample_std() -> None:
    # group a: r = (1, 0, 0, 1): mean 0.5, sample std sqrt(1/3) -> +-0.5 / (0.57735 + eps)
    out = norm.grpo([1.0, 0.0, 0.0, 1.0, 2.0, 4.0], ["a", "a", "a", "a", "b", "b"], eps=0.0)
    s = math.sqrt(1 / 3)
    assert out[:4] == pytest.approx([0.5 / s, -0.5 / s, -0.5 / s, 0.5 / s])
    assert out[4:] == pytest.approx([-1 / math.sqrt(2), 1 / math.sqrt(2)])
    population = norm.grpo([1.0, 0.0], ["g", "g"], eps=0.0, std="population")
    assert population == pytest.approx([1.0, -1.0])


def test_dr_grpo_only_centres() -> None:
    assert norm.dr_grpo([3.0, 1.0, 5.0, 7.0], ["a", "a", "b", "b"]) == [1.0, -1.0, -1.0, 1.0]


def test_rloo_subtracts_the_mean_of_the_others() -> None:
    # r = (4, 1, 1): 4 - (1+1)/2 = 3; 1 - (4+1)/2 = -1.5
    assert norm.rloo([4.0, 1.0, 1.0], ["g"] * 3) == [3.0, -1.5, -1.5]
    # RLOO equals k/(k-1) times the centred reward
    centred = norm.dr_grpo([4.0, 1.0, 1.0], ["g"] * 3)
    assert norm.rloo([4.0, 1.0, 1.0], ["g"] * 3) == pytest.approx([1.5 * c for c in centred])  # type: ignore[operator]


def test_batch_zscore_ignores_groups() -> None:
    out = norm.batch_zscore([1.0, 2.0, 3.0], eps=0.0)
    assert out == pytest.approx([-1.0, 0.0, 1.0])


def test_rank_is_centred_and_shares_ties() -> None:
    assert norm.rank([10.0, -3.0, 5.0], ["g"] * 3) == [1.0, -1.0, 0.0]
    # ties: values (1, 1, 2, 0) -> ranks 1.5, 1.5, 3, 0 -> 2*r/3 - 1
    assert norm.rank([1.0, 1.0, 2.0, 0.0], ["g"] * 4) == pytest.approx([0.0, 0.0, 1.0, -1.0])


def test_gdpo_keeps_apart_what_grpo_collapses() -> None:
    # GDPO paper's point: two groups whose summed rewards are (0, 1) and (0, 2) get the same
    # GRPO advantages; normalizing each reward first keeps them apart.
    components = [
        {"r1": 0.0, "r2": 0.0},
        {"r1": 0.0, "r2": 1.0},  # group a: totals 0, 1
        {"r1": 0.0, "r2": 0.0},
        {"r1": 1.0, "r2": 1.0},  # group b: totals 0, 2
    ]
    groups = ["a", "a", "b", "b"]
    totals = [sum(c.values()) for c in components]
    grpo = norm.grpo(totals, groups, eps=0.0)
    assert grpo[:2] == pytest.approx(grpo[2:])
    gdpo = norm.gdpo(components, groups, eps=0.0, batch_normalize=False)
    one = 1 / math.sqrt(2)  # (1 - 0.5) / sample std of (0, 1)
    assert gdpo == pytest.approx([-one, one, -2 * one, 2 * one])
    # Second stage: the summed advantages are z-scored over the batch.
    batch = norm.gdpo(components, groups, eps=0.0)
    values = [-one, one, -2 * one, 2 * one]
    std = math.sqrt(sum(v * v for v in values) / 3)
    assert batch == pytest.approx([v / std for v in values])
    weighted = norm.gdpo(
        components, groups, weights={"r1": 2.0, "r2": 1.0}, eps=0.0, batch_normalize=False
    )
    assert weighted == pytest.approx([-one, one, -3 * one, 3 * one])


def test_gdpo_skips_masked_rows_and_missing_components() -> None:
    components = [{"r1": 1.0}, {"r1": 0.0, "r2": 5.0}, None, {"r1": 0.0, "r2": 3.0}]
    out = norm.gdpo(components, ["g"] * 4, eps=0.0, batch_normalize=False)
    assert out[2] is None
    a1 = norm.grpo([1.0, 0.0, 0.0], ["g"] * 3, eps=0.0)
    assert out[0] == pytest.approx(a1[0])
    assert out[1] == pytest.approx(a1[1] + 1 / math.sqrt(2))  # type: ignore[operator]
    assert out[3] == pytest.approx(a1[2] - 1 / math.sqrt(2))  # type: ignore[operator]


def test_pass_at_k_matches_the_closed_form() -> None:
    # N = 4, one correct, k = 2: R = 1 - C(3,2)/C(4,2) = 0.5, s = 0.5;
    # A_pos = 0.5 / 0.5 = 1; A_neg = (0.5 - C(2,1)/C(3,1)) / 0.5 = (0.5 - 2/3) / 0.5 = -1/3
    out = norm.pass_at_k([1.0, 0.0, 0.0, 0.0], ["g"] * 4, k=2)
    assert out == pytest.approx([1.0, -1 / 3, -1 / 3, -1 / 3])
    # k = 1 is GRPO with the population std on 0/1 rewards
    k1 = norm.pass_at_k([1.0, 0.0, 0.0, 1.0], ["g"] * 4, k=1)
    assert k1 == pytest.approx(
        norm.grpo([1.0, 0.0, 0.0, 1.0], ["g"] * 4, eps=0.0, std="population")
    )
    # threshold decides correctness; all-correct groups carry no signal
    assert norm.pass_at_k([0.7, 0.9], ["g", "g"], k=1, threshold=0.5) == [0.0, 0.0]


@pytest.mark.parametrize(
    "method",
    [
        lambda r, g: norm.grpo(r, g),
        lambda r, g: norm.dr_grpo(r, g),
        lambda r, g: norm.rloo(r, g),
        lambda r, g: norm.rank(r, g),
        lambda r, g: norm.pass_at_k(r, g, k=2),
        lambda r, g: norm.gdpo([None if v is None else {"x": v} for v in r], g),
    ],
)
def test_edge_cases_for_every_method(method) -> None:  # type: ignore[no-untyped-def]
    # a group of one, an all-equal group, and masked / NaN rows (left out, not counted as zero)
    assert method([0.7], ["solo"]) == [0.0]
    assert method([1.0, 1.0, 1.0], ["g"] * 3) == [0.0, 0.0, 0.0]
    with_masked = method([1.0, None, 0.0, NAN], ["g"] * 4)
    without = method([1.0, 0.0], ["g"] * 2)
    assert with_masked[1] is None and with_masked[3] is None
    assert [with_masked[0], with_masked[2]] == pytest.approx(without)


def test_masked_rows_are_not_zeros() -> None:
    # If the masked row were counted as 0, the mean would be 2/3 instead of 1.
    assert norm.dr_grpo([2.0, 0.0, None], ["g"] * 3) == [1.0, -1.0, None]


def test_rows_without_a_group_stand_alone() -> None:
    assert norm.grpo([1.0, 0.0], [None, None]) == [0.0, 0.0]
    assert norm.grpo([1.0, 0.0], None) == pytest.approx([0.7071061, -0.7071061])


def test_group_report_finds_flat_components_inside_varying_groups() -> None:
    components = [{"correct": 1.0, "fmt": 0.0}, {"correct": 1.0, "fmt": 1.0}, {"correct": 0.0}]
    rewards = [1.0, 2.0, 0.0]
    reports = norm.group_report(rewards, ["a", "a", "b"], components)
    assert [r.key for r in reports] == ["a", "b"]
    assert reports[0].zero_variance is False and reports[0].flat_components == ["correct"]
    assert reports[1].zero_variance is True and reports[1].used == 1


def test_compute_advantages_without_weights_uses_top_level_components() -> None:
    from rewardsmith import Sample, Score
    from rewardsmith.core.shaping_spec import NormalizeSpec
    from rewardsmith.shaping.advantages import compute_advantages

    scores = [
        Score(value=1.0, components={"a": 1.0, "a.part": 9.0, "b": 0.0}),
        Score(value=0.0, components={"a": 0.0, "a.part": -9.0, "b": 0.0}),
    ]
    rows = [Sample(id=str(i), completion="", group="g") for i in range(2)]
    spec = NormalizeSpec(method="gdpo", batch_normalize=False, eps=1e-12)
    advantages, report = compute_advantages(spec, scores, rows)
    assert advantages == pytest.approx([1 / math.sqrt(2), -1 / math.sqrt(2)])
    assert report["flat_components"] == {"b": 1}
    assert scores[0].info["advantage"] == advantages[0]

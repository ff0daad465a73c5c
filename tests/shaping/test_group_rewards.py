"""Group rewards: TTRL majority vote (through the engine), unlikeliness, PKPO, lexicographic,
ensembles."""

from __future__ import annotations

import math

import pytest

import rewardsmith
from rewardsmith.shaping.ensembles import pool
from rewardsmith.shaping.group import canonical_answer, label_accuracy, pkpo_rewards, unlikeliness
from rewardsmith.shaping.lexicographic import compare, win_rates


def test_majority_vote_pays_agreement_and_reports_label_accuracy() -> None:
    rows = [
        {"group": "q1", "completion": r"so \boxed{4}", "reference": "4"},
        {"group": "q1", "completion": r"\boxed{4.0}", "reference": "4"},
        {"group": "q1", "completion": r"\boxed{5}", "reference": "4"},
        {"group": "q1", "completion": "no idea", "reference": "4"},
        {"group": "q2", "completion": r"\boxed{7}", "reference": "8"},
        {"group": "q2", "completion": r"\boxed{7}", "reference": "8"},
        {"group": "q2", "completion": r"\boxed{8}", "reference": "8"},
    ]
    spec = {"terms": [{"name": "vote", "use": "group.majority_vote"}]}
    batch = rewardsmith.score(rows, spec, workers=1)
    assert [s.value for s in batch] == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0]
    assert batch[3].status == "parse_error"  # no answer: does not vote, paid as the policy says
    info = batch[0].info["terms"]["vote"]["info"]
    assert info["pseudo_label"] == "4" and info["support"] == pytest.approx(2 / 3)
    assert label_accuracy(batch, term="vote") == 0.5  # q1's label is right, q2's is wrong


def test_majority_vote_ties_go_to_the_first_answer_and_fields_work() -> None:
    from rewardsmith import Sample
    from rewardsmith.shaping.group import majority_vote

    samples = [
        Sample(id=str(i), completion="", extra={"ans": a})
        for i, a in enumerate(["b", "a", "a", "b"])
    ]
    scores = majority_vote(samples, answer="field:ans")
    assert [s.value for s in scores] == [1.0, 0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="answer must be"):
        majority_vote(samples, answer="nope")


def test_canonical_answers() -> None:
    assert canonical_answer(" 2.0 ") == canonical_answer("4/2") == canonical_answer("2") == "2"
    assert canonical_answer("$x + 1$.") == "x+1"
    assert canonical_answer("1,000") == "1000"


def test_unlikeliness_matches_the_rank_formula() -> None:
    # He et al.: r * (1 - beta * rank / G), rank 0 = least likely; G = 4, beta = 0.4
    rewards = [1.0, 1.0, 1.0, 0.0]
    logprobs = [-0.5, -3.0, -1.0, -0.1]
    out = unlikeliness(rewards, logprobs, ["g"] * 4, beta=0.4)
    # ranks by log-prob: idx1 (-3.0) 0, idx2 (-1.0) 1, idx0 (-0.5) 2, idx3 (-0.1) 3
    assert out == pytest.approx([1 - 0.4 * 2 / 4, 1.0, 1 - 0.4 * 1 / 4, 0.0])
    assert unlikeliness([None, 1.0], [0.0, None], None) == [None, 1.0]


def test_pkpo_rewards_match_the_binary_estimator() -> None:
    # Walder & Karkhanis: correct -> k/n; wrong -> (k/n) * rho(n-1, c, k-1)
    out = pkpo_rewards([1.0, 1.0, 0.0, 0.0, 0.0], k=3)
    rho = 1 - math.comb(4 - 2, 2) / math.comb(4, 2)
    assert out == pytest.approx([0.6, 0.6] + [0.6 * rho] * 3)
    # Their mean over the group is the unbiased pass@k estimate's policy-gradient weight sum;
    # for k = 1 they reduce to the plain rewards divided by n.
    assert pkpo_rewards([1.0, 0.0], k=1) == [0.5, 0.0]
    with pytest.raises(ValueError, match="at least 3"):
        pkpo_rewards([1.0, 0.0], k=3)


def test_lexicographic_comparison_uses_margins_in_order() -> None:
    a, b = {"safe": 1.0, "helpful": 0.2}, {"safe": 0.95, "helpful": 0.9}
    assert compare(a, b, ["safe", "helpful"], [0.0, 0.0]) == 1
    assert compare(a, b, ["safe", "helpful"], [0.1, 0.0]) == -1  # safety difference within margin
    assert compare(a, a, ["safe", "helpful"], [0.0, 0.0]) == 0
    rows = [a, b, {"safe": 0.0, "helpful": 1.0}, None]
    assert win_rates(rows, ["safe", "helpful"], 0.1) == [0.5, 1.0, 0.0, None]
    assert win_rates([a], ["safe"]) == [0.5]


def test_ensemble_pooling() -> None:
    values = [1.0, 2.0, 6.0]
    assert pool(values, "mean") == 3.0
    assert pool(values, "median") == 2.0
    assert pool(values, "min") == 1.0
    var = ((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 3
    assert pool(values, "mean_minus_var", lam=0.5) == pytest.approx(3 - 0.5 * var)
    assert pool(values, "mean_minus_std", lam=2.0) == pytest.approx(3 - 2 * math.sqrt(var))
    with pytest.raises(ValueError):
        pool([], "mean")

"""Process rewards, DPO implicit rewards, likelihood and self-certainty from row-supplied numbers."""

from __future__ import annotations

import math

import pytest

import rewardsmith
from rewardsmith import Sample
from rewardsmith.models.certainty import self_certainty
from rewardsmith.models.implicit import dpo_implicit
from rewardsmith.models.likelihood import likelihood, reasoning_context
from rewardsmith.models.prm import prm, split_steps

SOLUTION = "Step 1: 2 + 2 = 4\nStep 2: 4 * 3 = 12\nStep 3: so the answer is 12"


def test_step_splitting_rules() -> None:
    assert split_steps(SOLUTION, "newline") == SOLUTION.split("\n")
    assert split_steps("a\n\n\nb\n \nc", "double_newline") == ["a", "b", "c"]
    assert split_steps("Intro.\nStep 1: x\nmore\n## Step 2. y", "step_header") == [
        "Intro.",
        "Step 1: x\nmore",
        "## Step 2. y",
    ]
    assert split_steps("a;b;;c", separator=";") == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("method", "expected"),
    [("min", 0.2), ("last", 0.8), ("mean", (0.9 + 0.2 + 0.8) / 3), ("product", 0.9 * 0.2 * 0.8)],
)
def test_prm_aggregates_step_scores(method: str, expected: float) -> None:
    sample = Sample(id="1", completion=SOLUTION, extra={"steps": [0.9, 0.2, 0.8]})
    score = prm(sample, steps_field="steps", split="newline", aggregate_by=method)
    assert score.value == pytest.approx(expected)
    assert score.info["steps"] == [0.9, 0.2, 0.8]


def test_prm_pure_is_a_soft_minimum() -> None:
    sample = Sample(id="1", completion=SOLUTION, extra={"steps": [0.9, 0.2, 0.8]})
    value = prm(sample, steps_field="steps", split="newline", aggregate_by="pure").value
    assert 0.2 < value < 0.21


def test_prm_problems_are_statuses() -> None:
    short = Sample(id="1", completion=SOLUTION, extra={"steps": [0.9, 0.2]})
    assert (
        "has 2 scores but the completion has 3 steps"
        in prm(short, steps_field="steps", split="newline").reason
    )
    assert (
        prm(Sample(id="2", completion="  ", extra={"steps": []}), steps_field="steps").status
        == "parse_error"
    )
    assert prm(Sample(id="3", completion="x"), steps_field="steps").status == "invalid_reference"


def test_prm_with_an_import_path_scorer_in_the_engine() -> None:
    spec = {
        "terms": [
            {
                "name": "prm",
                "use": "prm",
                "params": {"scorer": "step_scorers:length_scorer", "split": "newline"},
            }
        ]
    }
    with rewardsmith.Engine(workers=1) as engine:
        (score,) = engine.score([{"completion": "ab\nabcd\na"}], spec)
    assert score.value == pytest.approx(0.1)  # min of 0.2, 0.4, 0.1
    assert score.info["terms"]["prm"]["status"] == "ok"


def logps(*probs: float) -> list[float]:
    return [math.log(p) for p in probs]


def test_dpo_implicit_forms() -> None:
    extra = {"policy_logps": logps(0.5, 0.25), "ref_logps": logps(0.25, 0.25)}
    sample = Sample(id="1", completion="y", extra=extra)
    assert dpo_implicit(sample, beta=1.0).value == pytest.approx(math.log(2))
    assert dpo_implicit(sample, beta=1.0, form="dpo_norm").value == pytest.approx(math.log(2) / 2)
    assert dpo_implicit(sample, beta=0.5, form="ref_free").value == pytest.approx(
        0.5 * math.log(0.125)
    )
    assert dpo_implicit(sample, beta=2.0, form="simpo").value == pytest.approx(math.log(0.125))
    sums = Sample(id="2", completion="y", extra={"policy_logps": -1.0, "ref_logps": -3.0})
    assert dpo_implicit(sums, beta=0.1).value == pytest.approx(0.2)
    assert dpo_implicit(sums, form="simpo").status == "invalid_reference"


def test_dpo_implicit_rejects_bad_log_probs() -> None:
    mismatch = Sample(
        id="1", completion="y", extra={"policy_logps": [-1.0], "ref_logps": [-1.0, -2.0]}
    )
    assert "same tokens" in dpo_implicit(mismatch).reason
    positive = Sample(id="2", completion="y", extra={"policy_logps": [0.5], "ref_logps": [-1.0]})
    assert "not a log-probability" in dpo_implicit(positive).reason
    missing = Sample(id="3", completion="y", extra={"policy_logps": [-1.0]})
    assert "'ref_logps' is missing" in dpo_implicit(missing).reason


def test_likelihood_reductions() -> None:
    sample = Sample(
        id="1", completion="...", reference="12", extra={"reference_logps": logps(0.5, 0.8)}
    )
    assert likelihood(sample, reduce="sum").value == pytest.approx(math.log(0.4))
    assert likelihood(sample, reduce="mean").value == pytest.approx(math.log(0.4) / 2)
    assert likelihood(sample, reduce="prob").value == pytest.approx(0.4)
    assert likelihood(sample, reduce="prob_mean").value == pytest.approx(0.65)
    assert likelihood(Sample(id="2", completion="x")).status == "invalid_reference"
    assert reasoning_context("think... <answer>12</answer>", r"<answer>") == "think... "
    assert reasoning_context("so \\boxed{12}", r"\\boxed\{") == "so "


def test_self_certainty_shapes_and_order() -> None:
    openai = {
        "content": [
            {
                "token": "a",
                "logprob": -0.01,
                "top_logprobs": [{"token": "a", "logprob": -0.01}, {"token": "b", "logprob": -4.6}],
            },
            {
                "token": "c",
                "logprob": -0.7,
                "top_logprobs": [{"token": "c", "logprob": -0.7}, {"token": "d", "logprob": -0.7}],
            },
        ]
    }
    as_lists = [[-0.01, -4.6], [-0.7, -0.7]]
    as_dicts = [{"a": -0.01, "b": -4.6}, {"c": -0.7, "d": -0.7}]
    values = {
        name: self_certainty(Sample(id=name, completion="x", extra={"top_logprobs": raw})).value
        for name, raw in [("openai", openai), ("lists", as_lists), ("dicts", as_dicts)]
    }
    assert values["openai"] == pytest.approx(values["lists"]) == pytest.approx(values["dicts"])
    confident = Sample(id="c", completion="x", extra={"top_logprobs": [[-0.01, -4.6]] * 3})
    unsure = Sample(id="u", completion="x", extra={"top_logprobs": [[-0.7, -0.7]] * 3})
    assert (
        self_certainty(confident).value
        > self_certainty(unsure).value
        == pytest.approx(0.0, abs=1e-9)
    )
    assert self_certainty(unsure, form="neg_entropy").value == pytest.approx(-math.log(2))


def test_self_certainty_problems_are_statuses() -> None:
    assert self_certainty(Sample(id="1", completion="x")).status == "invalid_reference"
    bad = Sample(id="2", completion="x", extra={"top_logprobs": [[-0.1], "oops"]})
    assert "token 1" in self_certainty(bad).reason
    assert (
        self_certainty(Sample(id="3", completion="x", extra={"top_logprobs": []})).status
        == "parse_error"
    )

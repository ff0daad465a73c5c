"""choice: labelled cases, hostile inputs, references and spec params."""

from __future__ import annotations

import time

import pytest
from labelled_cases import check, labels, load

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.choice import choice


@pytest.mark.parametrize("case", load("choice"))
def test_choice_cases(case):
    check("choice", case)


def test_case_file_covers_right_wrong_and_hacks():
    assert {"right", "wrong", "hack", "bad_reference"} <= labels("choice")


def test_hedge_is_zero_even_when_gold_is_listed():
    for gold in "ABCD":
        score = choice(Sample(id="1", completion="A, B, C, D", reference=gold))
        assert (score.status, score.value) == ("ok", 0.0)
        assert score.info["answers"] == ["A", "B", "C", "D"]


@pytest.mark.parametrize(
    "completion",
    [
        "answer: " * 130_000,
        "(A)" * 300_000 + "(B)",
        "\\boxed{" * 200_000,
        "A) x\n" * 200_000,
        "The answer is " + "A or " * 200_000,
        "x" * 1_000_000,
    ],
    ids=["statements", "parens", "unclosed-boxes", "option-lines", "long-hedge", "noise"],
)
def test_hostile_megabyte_completions_are_fast(completion):
    start = time.perf_counter()
    score = choice(Sample(id="1", completion=completion, reference="A"))
    assert time.perf_counter() - start < 2.0
    assert score.value != 1.0 or score.info.get("answer") == "A"


def test_check_reference():
    check_reference = rewardsmith.get_reward("choice").check_reference
    assert check_reference("B") is None
    assert check_reference({"answer": 0, "choices": ["x", "y"]}) is None
    assert "not an option letter" in check_reference("maybe")
    assert "index" in check_reference({"answer": 3, "choices": ["x", "y"]})


def test_declared_metadata():
    reward = rewardsmith.get_reward("choice")
    assert reward.inline and reward.kind == "cpu"
    assert reward.reads == ("completion", "reference")


def test_spec_params():
    spec = {"terms": [{"name": "mc", "use": "choice", "params": {"letters": "abcde"}}]}
    rewardsmith.load_spec(spec)
    for bad in ({"letters": "AAB"}, {"letters": "A1"}, {"match_text": "perhaps"}):
        spec = {"terms": [{"name": "mc", "use": "choice", "params": bad}]}
        with pytest.raises(rewardsmith.SpecError, match=next(iter(bad))):
            rewardsmith.load_spec(spec)

"""References are checked, work is bounded inside the call, and answers inside ``<think>``
do not count when a final answer follows."""

from __future__ import annotations

import time

import pytest

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.math import MathConfig, math_answer, parse, verify

UNREADABLE_GOLDS = [
    r"\frac{1}{",
    "x=",
    "x = ",
    r"\boxed{",
    "nan",
    "NaN",
    "null",
    "{}",
    "{ }",
    "=",
    "()",
    "[]",
    r"\text{}",
]


@pytest.mark.parametrize("gold", UNREADABLE_GOLDS)
def test_unreadable_gold_is_invalid_reference_never_a_score(gold):
    for completion in (r"\boxed{5}", rf"\boxed{{{gold}}}", gold, f"The answer is {gold}"):
        score = math_answer(Sample(id="g", completion=completion, reference=gold))
        assert (score.status, score.value) == ("invalid_reference", None), (completion, score)
        assert score.reason.startswith("gold answer")
    assert rewardsmith.get_reward("math").check_reference(gold) is not None


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        (r"\{\}", r"\boxed{\emptyset}"),  # the empty set is a value
        (r"\text{Evelyn}", r"\boxed{\text{Evelyn}}"),  # words are compared as text
        (r"\boxed{W(n) = 1 \text{ and } W(n) = -1", "W(x)=1 or W(x)=-1"),  # box left open at end
        (r"\infty", r"\boxed{\infty}"),
    ],
)
def test_readable_golds_still_score(gold, answer):
    score = math_answer(Sample(id="g", completion=answer, reference=gold))
    assert score.status == "ok", score.reason
    assert rewardsmith.get_reward("math").check_reference(gold) is None


def test_a_list_of_golds_with_one_unreadable_is_invalid():
    assert rewardsmith.get_reward("math").check_reference(["5", "x="]) is not None


@pytest.mark.parametrize(
    "completion",
    [
        r"\boxed{2^{3000!}}",
        r"\boxed{\cos(2\pi \cdot 10^{10^6})}",
        r"\boxed{\sin(10^{10^{5}})}",
        r"\boxed{e^{i\pi 10^{10^6}}}",
        r"\boxed{\binom{10^{10^6}}{3}}",
        r"\boxed{{10^{10^6}}!}",
    ],
)
def test_huge_arguments_are_refused_quickly(completion):
    start = time.perf_counter()
    score = math_answer(Sample(id="h", completion=completion, reference="1"))
    assert time.perf_counter() - start < 1.0
    assert (score.status, score.value) == ("refused", None), score.reason


@pytest.mark.parametrize("digits", [4400, 4999])
def test_literals_past_pythons_digit_limit_are_refused_not_raised(digits):
    for completion in (rf"\boxed{{{'7' * digits}}}", rf"\boxed{{\frac{{1}}{{{'7' * digits}}}}}"):
        score = math_answer(Sample(id="d", completion=completion, reference="1"))
        assert score.status == "refused", score.reason


THINK = r"<think>Maybe \boxed{5}? Let me check.</think> So the answer is <answer>6</answer>"


def test_answer_after_think_counts_not_the_one_inside():
    assert not verify("5", THINK).equal
    assert verify("6", THINK).equal
    assert parse(THINK).rule == "answer_tag"


def test_unclosed_think_has_no_final_answer_by_default():
    score = math_answer(Sample(id="t", completion=r"<think>so \boxed{5} maybe", reference="5"))
    assert score.status == "parse_error"
    assert "<think>" in score.reason


def test_think_modes():
    nothing_after = r"<think>I get \boxed{5}.</think> Done."
    assert verify("5", nothing_after).status == "parse_error"
    assert verify("5", nothing_after, think="after_or_whole").equal
    assert not verify("5", THINK, think="after_or_whole").equal
    assert verify("5", THINK, think="whole").equal  # tags ignored: the box is read first
    whole = verify("5", r"<think>\boxed{6}</think> \boxed{5} <think>\boxed{6}", think="whole")
    assert not whole.equal  # tags ignored: the last box is inside the trailing think
    assert MathConfig().think == "after"


def test_think_mode_reaches_the_reward_from_params():
    sample = Sample(id="t", completion=r"<think>\boxed{5}</think> Done.", reference="5")
    assert math_answer(sample).status == "parse_error"
    assert math_answer(sample, think="after_or_whole").value == 1.0
    reward = rewardsmith.get_reward("math")
    assert reward.validate_params({"think": "whole"}) == {"think": "whole"}

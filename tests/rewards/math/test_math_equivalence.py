"""`verify` on labelled gold/answer pairs, one group per behaviour (cases.jsonl).

Each case is checked in both directions where the comparison is symmetric: the answer side
is extracted from a response, so the reverse call puts the bare answer on the gold side.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rewardsmith.rewards.math import MathConfig, parse, verify

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "cases.jsonl").read_text().splitlines()
    if line.strip()
]
BEHAVIOURS = sorted({c["behaviour"] for c in CASES})


def _cases(behaviour: str) -> list:
    return [
        pytest.param(c, id=f"{c['gold']}|{c['answer'][-40:]}")
        for c in CASES
        if c["behaviour"] == behaviour
    ]


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_each_behaviour_has_right_and_wrong_cases(behaviour):
    expected = {c["expected"] for c in CASES if c["behaviour"] == behaviour}
    assert expected == {True, False} or behaviour in ("mixed_number",), behaviour


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_behaviour(behaviour):
    failures = []
    for case in CASES:
        if case["behaviour"] != behaviour:
            continue
        verdict = verify(case["gold"], case["answer"])
        if verdict.status != "ok" or verdict.equal != case["expected"]:
            failures.append(
                (case["gold"], case["answer"], verdict.equal, verdict.path, verdict.reason)
            )
    assert not failures


_RELATION = re.compile(r"<|>|\\le|\\ge")


def _has_relation(text: str) -> bool:
    return bool(_RELATION.search(text))


_BOX = re.compile(r"\\boxed\{(.*)\}\$\.$", re.S)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c["behaviour"] not in ("extraction", "equation", "choice")],
    ids=lambda c: f"{c['gold']}|{c['answer'][-30:]}",
)
def test_swapped_sides_agree(case):
    match = _BOX.search(case["answer"])
    if match is None:
        pytest.skip("answer is not a single box")
    inner = match.group(1)
    if _has_relation(case["gold"]) != _has_relation(inner):
        pytest.skip(
            "a gold (a, b) may be a point, a relation answer does not state it (documented)"
        )
    forward = verify(case["gold"], case["answer"]).equal
    backward = verify(inner, rf"\boxed{{{case['gold']}}}").equal
    assert forward == backward == case["expected"]


def test_relation_for_set_can_be_turned_off():
    assert verify("[-2, 7]", r"\boxed{-2 \le x \le 7}").equal is True
    assert verify("[-2, 7]", r"\boxed{-2 \le x \le 7}", relation_as_set=False).equal is False
    assert verify(r"-2 \le x \le 7", r"\boxed{[-2, 7]}", relation_as_set=False).equal is True


def test_rounded_decimals_can_be_turned_off():
    assert verify(r"\pi", r"\boxed{3.14}").path == "rounded_answer"
    assert verify("3.46", r"\boxed{2\sqrt{3}}").path == "rounded_gold"
    assert not verify(r"\pi", r"\boxed{3.14}", approximate=False).equal
    assert not verify("3.46", r"\boxed{2\sqrt{3}}", approximate=False).equal


def test_precision_is_configurable():
    assert not verify(r"\frac{1}{3}", r"\boxed{0.33}").equal
    assert verify(r"\frac{1}{3}", r"\boxed{0.33}", precision=2).equal
    assert verify("(0.6, 2.6667]", r"\boxed{(\frac{3}{5}, \frac{8}{3}]}", precision=2).equal


def test_relative_tolerance_is_configurable():
    assert not verify(r"\sqrt{2}", r"\boxed{\frac{99}{70}}").equal
    assert verify(r"\sqrt{2}", r"\boxed{\frac{99}{70}}", rel_tol=1e-4).equal


def test_percent_policy_can_be_turned_off():
    assert verify(r"28\%", r"\boxed{28}").equal
    assert not verify(r"28\%", r"\boxed{28}", percent=False).equal
    assert verify(r"28\%", r"\boxed{0.28}", percent=False).equal


def test_verdict_reports_paths_and_normal_forms():
    verdict = verify(r"\frac{1}{2}", r"The answer is $\boxed{0.5}$.")
    assert verdict and verdict.path == "exact" and verdict.status == "ok"
    assert verdict.answer.rule == "boxed" and verdict.answer.text == "0.5"
    assert verdict.gold.normalized == "1*2^-1"


def test_parsed_gold_is_reused():
    gold = parse(r"\frac{3}{4}", gold=True)
    assert verify(gold, r"\boxed{0.75}").equal
    assert not verify(gold, r"\boxed{0.7}").equal


def test_config_object_and_overrides():
    config = MathConfig(precision=2)
    assert verify("1/3", r"\boxed{0.33}", config=config).equal
    assert not verify("1/3", r"\boxed{0.33}", config=config, precision=6).equal

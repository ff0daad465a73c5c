"""The equivalence families graders accept (issue 17), each with its negative cases.

``equivalence_dev.jsonl`` holds labelled pairs per family: rounded decimals, integer
parameters of solution families, rearranged equations, set-builder / interval / inequality,
labelled tuples, ratios, ordinal suffixes, unit words and short prose. Every case must hold:
a false accept here is a rule that pays a wrong answer.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from rewardsmith import Sample
from rewardsmith.rewards.math import math_answer, verify

DEV = Path(__file__).with_name("equivalence_dev.jsonl")
CASES = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]


def test_every_family_has_positive_and_negative_cases():
    counts = Counter((c["family"], c["expected"]) for c in CASES)
    families = {c["family"] for c in CASES}
    assert len(families) >= 9
    for family in families:
        assert counts[(family, True)] >= 2 and counts[(family, False)] >= 2, family


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['family']}:{c['gold']}|{c['answer'][-40:]}" for c in CASES]
)
def test_family_case(case):
    verdict = verify(case["gold"], case["answer"])
    assert verdict.status == "ok", verdict.reason
    assert verdict.equal is case["expected"], (verdict.path, verdict.answer.normalized)


@pytest.mark.parametrize(
    ("gold", "answer", "path"),
    [
        ("3.46", r"2\sqrt{3}", "rounded_gold"),
        (r"\pi", "3.14", "rounded_answer"),
        (r"\frac{\pi}{3} + 2k\pi", r"\frac{\pi}{3} + 2t\pi", "parameter"),
        ("7:3", "7/3", "ratio"),
        ("7:3", "14:6", "ratio"),
    ],
)
def test_info_names_the_deciding_rule(gold, answer, path):
    score = math_answer(Sample(id="p", completion=rf"\boxed{{{answer}}}", reference=gold))
    assert score.value == 1.0
    assert score.info["path"] == path


@pytest.mark.parametrize(
    ("answer", "rewrite"),
    [
        (r"7^{\text{th}}", "ordinal_suffix"),
        (r"40 \text{ cookies}", "unit_words"),
        (r"\approx 7", "approximately_sign"),
        (r"7, k \in \mathbb{Z}", "integer_declaration"),
    ],
)
def test_info_names_the_reading_rules_that_rewrote_the_answer(answer, rewrite):
    gold = "40" if "cookies" in answer else "7"
    score = math_answer(Sample(id="r", completion=rf"\boxed{{{answer}}}", reference=gold))
    assert score.value == 1.0, score.reason
    assert rewrite in score.info["answer_rewrites"]
    plain = math_answer(Sample(id="r", completion=r"\boxed{7}", reference="7"))
    assert "answer_rewrites" not in plain.info


def test_options_turn_families_off():
    assert not verify("3.46", r"\boxed{2\sqrt{3}}", approximate=False).equal
    assert not verify(r"(-\infty, 4]", r"\boxed{t \le 4}", relation_as_set=False).equal

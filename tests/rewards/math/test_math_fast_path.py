"""The caller-side fast path returns exactly what the reward returns, or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.math import math_answer, math_fast_path
from shared_data import shared_path

HERE = Path(__file__).parent


def _pairs() -> list[tuple[str, str]]:
    pairs = []
    for name in ("cases.jsonl", "equivalence_dev.jsonl"):
        for line in (HERE / name).read_text().splitlines():
            case = json.loads(line)
            pairs.append((case["gold"], case["answer"]))
    return pairs


def _same(sample: Sample, params: dict) -> bool:
    fast = math_fast_path(sample, params)
    if fast is None:
        return False
    slow = math_answer(sample, **params)
    assert (fast.status, fast.value, fast.reason, fast.info) == (
        slow.status,
        slow.value,
        slow.reason,
        slow.info,
    ), sample
    return True


def test_the_reward_carries_its_fast_path():
    assert rewardsmith.get_reward("math").fast_path is math_fast_path


@pytest.mark.parametrize("params", [{}, {"precision": 2}, {"think": "whole"}])
def test_settled_rows_equal_the_reward_on_the_labelled_cases(params):
    settled = sum(
        _same(Sample(id="c", completion=answer, reference=gold), params)
        for gold, answer in _pairs()
    )
    assert settled >= 20


def test_settled_rows_equal_the_reward_on_real_responses():
    path = shared_path("math") / "qwen_math_cot_800.jsonl"
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    settled = sum(
        _same(Sample(id="q", completion=r["pred"], reference=r["gold"]), {}) for r in rows
    )
    assert settled >= 0.8 * len(rows)  # most real answers are plain numbers


@pytest.mark.parametrize(
    ("completion", "reference"),
    [
        (r"\boxed{\sqrt{2}}", "1"),  # not a plain number: a worker decides
        (r"\boxed{5}", r"2\sqrt{3}"),
        (r"\boxed{5}", ["5", "6"]),
        ("x" * 60_000 + r"\boxed{5}", "5"),
        (r"\boxed{" + "9" * 100 + "}", "5"),
        ("no answer", "5"),
    ],
)
def test_rows_that_could_be_slow_or_unusual_go_to_a_worker(completion, reference):
    assert math_fast_path(Sample(id="w", completion=completion, reference=reference), {}) is None


def test_a_rejected_row_goes_to_the_worker_when_the_verifier_is_on():
    llm = {"base_url": "http://127.0.0.1:1/v1", "model": "m"}
    rejected = Sample(id="r", completion=r"\boxed{5}", reference="6")
    accepted = Sample(id="a", completion=r"\boxed{6}", reference="6")
    assert math_fast_path(rejected, {"llm": llm}) is None
    assert math_fast_path(accepted, {"llm": llm}).value == 1.0

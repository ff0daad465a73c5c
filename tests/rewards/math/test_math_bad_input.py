"""Hostile and broken input: every call returns a status, quickly, and never raises."""

from __future__ import annotations

import time

import pytest

from rewardsmith import Sample
from rewardsmith.rewards.math import math_answer, verify

BOUND_S = 2.0
"""Generous for a 2-core CI machine; each case takes well under 0.2 s on a laptop."""

CASES = {
    "empty": ("5", "", "parse_error"),
    "whitespace": ("5", "   \n\t ", "parse_error"),
    "empty-box": ("5", r"\boxed{}", "parse_error"),
    "one-megabyte-text": ("5", "x" * 1_000_000, "parse_error"),
    "one-megabyte-then-answer": ("5", "x " * 500_000 + r"\boxed{5}", "ok"),
    "one-megabyte-number": ("5", "1" * 1_000_000, "refused"),
    "one-megabyte-box": ("5", r"\boxed{" + "1" * 1_000_000 + "}", "refused"),
    "nested-braces": ("5", r"\boxed{" + "{" * 50_000 + "5" + "}" * 50_000 + "}", None),
    "nested-parens": ("5", r"\boxed{" + "(" * 3000 + "5" + ")" * 3000 + "}", "refused"),
    "nested-fracs": ("5", r"\boxed{" + r"\frac{1}{" * 200 + "2" + "}" * 200 + "}", "ok"),
    "unclosed-box": ("5", r"the answer is \boxed{5", "parse_error"),
    "many-unclosed-boxes": ("5", r"\boxed{" * 150_000, "parse_error"),
    "many-dollars": ("5", "$" * 1_000_000, "parse_error"),
    "many-open-parens": ("5", "\\(" * 400_000, "parse_error"),
    "many-final-answers": ("5", "final answer " * 60_000, "parse_error"),
    "many-answer-tags": ("5", "<answer>" * 100_000, "parse_error"),
    "power-tower": ("5", r"\boxed{10^{10^{10}}}", "ok"),
    "power-tower-4": ("5", r"\boxed{10^{10^{10^{10}}}}", "refused"),
    "tower-vs-tower-plus-one": (r"10^{10^{10}}", r"\boxed{10^{10^{10}} + 1}", "refused"),
    "factorial-9999": ("5", r"\boxed{9999!}", "ok"),
    "factorial-identity": ("9999!", r"\boxed{9998! \cdot 9999}", "ok"),
    "factorial-huge": ("5", r"\boxed{(10^{100})!}", "refused"),
    "huge-exponent": ("5", r"\boxed{2^{2^{64}}}", "refused"),
    "unparseable-latex": ("5", r"\boxed{\frac{\frac{}{}}{}\sqrt[}", None),
    "division-by-zero": ("5", r"\boxed{\frac{1}{0}}", None),
    "many-items": ("5", r"\boxed{" + ",".join(["1"] * 100_000) + "}", None),
    "control-characters": ("5", "\x00\x01\\boxed{5}\x7f", "ok"),
    "unicode": ("5", "答案是 $\\boxed{５}$", None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_returns_a_status_in_bounded_time(name):
    gold, completion, status = CASES[name]
    start = time.perf_counter()
    score = math_answer(Sample(id=name, completion=completion, reference=gold))
    elapsed = time.perf_counter() - start
    assert elapsed < BOUND_S, f"{name} took {elapsed:.2f} s"
    assert score.status in ("ok", "parse_error", "refused", "invalid_reference")
    if status is not None:
        assert score.status == status, (score.status, score.reason)
    if score.status != "ok":
        assert score.value is None and score.reason


@pytest.mark.parametrize("name", ["one-megabyte-text", "nested-braces", "unparseable-latex"])
def test_bad_gold_is_invalid_or_answered(name):
    _, completion, _ = CASES[name]
    start = time.perf_counter()
    verdict = verify(completion, r"\boxed{5}")
    assert time.perf_counter() - start < BOUND_S
    assert verdict.status in ("ok", "invalid_reference", "refused")


def test_tower_is_provably_different_from_a_small_number():
    verdict = verify("5", r"\boxed{10^{10^{10}}}")
    assert verdict.status == "ok" and not verdict.equal


def test_big_factorials_are_compared_exactly():
    assert verify("9999!", r"\boxed{9998! \cdot 9999}").equal
    assert not verify("9999!", r"\boxed{9998! \cdot 9998}").equal

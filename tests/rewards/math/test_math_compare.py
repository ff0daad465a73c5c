"""`compare.equivalent` answers with a value: `Decided` (with the check that decided) or
`Undecided`, never by raising; the path is the last check that named itself."""

from __future__ import annotations

import pytest

from rewardsmith.rewards.math.compare import equivalent
from rewardsmith.rewards.math.compare_decision import Decided, Tolerance, Undecided
from rewardsmith.rewards.math.parser import parse_math

BIG_SET = r"\{" + ", ".join(str(i) for i in range(200)) + r"\}"
BIG_SET_REVERSED = r"\{" + ", ".join(str(i) for i in reversed(range(200))) + r"\}"


def compare(gold: str, answer: str, tol: Tolerance | None = None) -> Decided | Undecided:
    return equivalent(parse_math(gold), parse_math(answer), tol or Tolerance())


def test_undecided_is_a_value_not_an_exception() -> None:
    assert not issubclass(Undecided, BaseException)


@pytest.mark.parametrize(
    ("gold", "answer", "reason"),
    [
        (r"10^{10^{10}}", r"10^{10^{10}} + 1", "values too large to compare exactly"),
        (BIG_SET, BIG_SET_REVERSED, "collection too large to compare"),
        ("x/0", "y/0", "sympy could not decide"),
        # an element that cannot be decided leaves the whole tuple undecided
        ("(1, x/0)", "(1, y/0)", "sympy could not decide"),
    ],
)
def test_what_cannot_be_decided_is_returned(gold: str, answer: str, reason: str) -> None:
    outcome = compare(gold, answer)
    assert isinstance(outcome, Undecided)
    assert reason in outcome.reason


@pytest.mark.parametrize(
    ("gold", "answer", "tol", "expected"),
    [
        (r"\frac{1}{2}", "0.5", Tolerance(), Decided(True, "exact")),
        ("(1, 2)", "(1, 3)", Tolerance(), Decided(False, "exact")),
        ("2:4", "1:2", Tolerance(), Decided(True, "ratio")),
        # equal trees name no check: the path stays the one named before them
        ("x = 5", "5", Tolerance(), Decided(True, "relation")),
        # a tuple stops at its first unequal element, before the undecidable one
        ("(2, x/0)", "(1, y/0)", Tolerance(), Decided(False, "exact")),
        # without sympy the numeric rung reports "not equal"
        ("x/0", "y/0", Tolerance(use_sympy=False), Decided(False, "numeric")),
    ],
)
def test_decided_names_the_check(gold: str, answer: str, tol: Tolerance, expected: Decided) -> None:
    assert compare(gold, answer, tol) == expected


def test_matching_set_elements_counts_undecided_as_different() -> None:
    # x/0 against y/0 cannot be decided; inside a set match that is "no match", not a refusal
    assert compare(r"\{1, x/0\}", r"\{y/0, 1\}") == Decided(False, "collection")
    assert compare(r"\{1, x/0\}", r"\{x/0, 1\}") == Decided(True, "collection")

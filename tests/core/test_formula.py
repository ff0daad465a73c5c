"""The formula evaluator: arithmetic and functions by hand, and everything else refused."""

from __future__ import annotations

import math

import pytest

from rewardsmith.core.formula import Formula, FormulaError

NAMES = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b * c", 2.0 + 3.0 * -1.0),
        ("(a + b) / 2 - c ** 2", (2.0 + 3.0) / 2 - 1.0),
        ("min(a, b, c) + max(a, b)", -1.0 + 3.0),
        ("abs(c) + exp(0) + log(b) + sqrt(a * 2)", 1.0 + 1.0 + math.log(3.0) + 2.0),
        ("log(8, 2)", 3.0),
        ("clip(b, 0, 2.5) + clip(c, 0, 1)", 2.5 + 0.0),
        ("tanh(a) + sigmoid(0)", math.tanh(2.0) + 0.5),
        ("a if c < 0 else b", 2.0),
        ("(a > 1) + (b <= 2) + (0 < a < b) + (a == 2) + (a != 2)", 1.0 + 0.0 + 1.0 + 1.0 + 0.0),
        ("a > 1 and c > 0", 0.0),
        ("a > 1 or c > 0", 1.0),
        ("not c", 0.0),
        ("-a + +b % 2 + a // 3", -2.0 + 1.0 + 0.0),
    ],
)
def test_values_match_hand_computation(text: str, expected: float) -> None:
    assert Formula(text, names=NAMES)({"a": 2.0, "b": 3.0, "c": -1.0}) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('true')", "only min, max"),
        ("a.real", "attribute access is not allowed"),
        ("a[0]", "indexing is not allowed"),
        ("(lambda: 1)()", "only min, max"),
        ("[x for x in (1, 2)]", "a comprehension is not allowed"),
        ("(x := 1)", "assignment is not allowed"),
        ("min(a=1, b=2)", "takes no keyword arguments"),
        ("'text'", "is not a number"),
        ("True + a", "is not a number"),
        ("a @ b", "operator MatMult is not allowed"),
        ("a is b", "comparison Is is not allowed"),
        ("abs(a, b)", "abs() takes 1 arguments, got 2"),
        ("min(a)", "min() takes 2 or more arguments"),
        ("corect + 1", "unknown name 'corect'"),
        ("min", "'min' is a function"),
        ("a +", "not a valid expression"),
        ("a" + " + a" * 1000, "characters long"),
    ],
)
def test_unsafe_or_wrong_formulas_are_refused_at_parse(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Formula(text, names=["a", "b", "correct"])


def test_unknown_name_suggests_the_close_one() -> None:
    with pytest.raises(FormulaError, match="did you mean 'correct'"):
        Formula("corect", names=["correct", "format"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("log(a - 2)", "log of 0.0"),
        ("a / (b - 3)", "division by zero"),
        ("10.0 ** (a * 400)", "overflow"),
        ("sqrt(c)", "sqrt of negative"),
        ("c ** 0.5", "TypeError"),
        ("exp(a * 1000)", "overflow"),
    ],
)
def test_runtime_failures_raise_formula_error(text: str, message: str) -> None:
    with pytest.raises(FormulaError, match=message):
        Formula(text, names=NAMES)({"a": 2.0, "b": 3.0, "c": -1.0})


def test_missing_value_is_an_error_not_a_zero() -> None:
    with pytest.raises(FormulaError, match="no value for b"):
        Formula("a + b", names=NAMES)({"a": 1.0})


def test_names_lists_only_the_names_used() -> None:
    assert Formula("min(a, 1) + c", names=NAMES).names == {"a", "c"}

"""Reward ``code``: the must-pass programs, parsing, comparison and assert rewriting."""

from __future__ import annotations

import time

import pydantic
import pytest

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.code import (
    check_reference,
    code,
    extract_program,
    parse_reference,
    tokens_match,
    values_equal,
)
from rewardsmith.rewards.code.asserts import rewrite_asserts

FENCE = "```"


def sample(program: str, reference: object) -> Sample:
    return Sample(id="t", completion=f"{FENCE}python\n{program}\n{FENCE}", reference=reference)


# -- must pass ----------------------------------------------------------------------------------


def test_correct_program_printing_200_kb_gets_full_reward():
    expected = "".join(f"{i}\n" for i in range(40000))
    assert len(expected) > 200_000
    score = code(
        sample(
            "for i in range(int(input())):\n    print(i)",
            {"tests": [{"input": "40000", "output": expected}]},
        )
    )
    assert (score.status, score.value) == ("ok", 1.0), score.info


def test_correct_program_reading_stdin_larger_than_a_pipe_buffer_gets_full_reward():
    numbers = list(range(200_000))
    stdin = " ".join(map(str, numbers))
    assert len(stdin) > 1_000_000
    program = "import sys\nprint(sum(map(int, sys.stdin.read().split())))"
    score = code(sample(program, {"tests": [{"input": stdin, "output": str(sum(numbers))}]}))
    assert (score.status, score.value) == ("ok", 1.0), score.info


def test_call_based_arguments_larger_than_a_pipe_buffer():
    big = list(range(100_000))
    score = code(
        sample(
            "def total(xs):\n    return sum(xs)",
            {"fn_name": "total", "tests": [{"args": [big], "expected": sum(big)}]},
        )
    )
    assert score.value == 1.0


def test_registered_and_params_validated():
    reward = rewardsmith.get_reward("code")
    assert reward.kind == "cpu" and reward.reads == ("completion", "reference")
    assert reward.check_reference is check_reference
    with pytest.raises(pydantic.ValidationError):
        reward.validate_params({"mode": "most"})
    assert reward.validate_params({"mode": "all", "time_limit_s": 1})["mode"] == "all"


def test_info_lists_verdicts_and_protections():
    score = code(
        sample("print(5)", {"tests": [{"input": "", "output": "5"}, {"input": "", "output": "6"}]})
    )
    assert score.value == 0.5
    assert score.info["verdicts"] == ["passed", "wrong_answer"]
    assert score.info["first_failure"]["index"] == 1
    assert "rlimits" in score.info["protections"]


# -- extraction ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "block", "expected"),
    [
        (f"{FENCE}python\na\n{FENCE}\n{FENCE}python\nb\n{FENCE}", "last", "b\n"),
        (f"{FENCE}python\na\n{FENCE}\n{FENCE}python\nb\n{FENCE}", "first", "a\n"),
        (f"{FENCE}python\na\n{FENCE}\n{FENCE}py\nb\n{FENCE}", "all", "a\n\nb\n"),
        (f"  {FENCE}Python3\n  x = 1\n  {FENCE}", "last", "x = 1\n"),
        ("~~~python\nx\n~~~", "last", "x\n"),
        (f"{FENCE}javascript\nx\n{FENCE}", "last", None),
        (f"{FENCE}python\nnever closed", "last", None),
    ],
)
def test_extract_program(text, block, expected):
    assert extract_program(text, block) == expected


# -- comparison ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("got", "expected", "ok"),
    [
        (b"1 2\n3", "1\n2 3", True),
        (b"123456789012345678901234567890", "123456789012345678901234567891", False),
        (b"0.3333333", "0.33333333", True),
        (b"0.34", "0.33333333", False),
        (b"5.0", "5", False),
        (b"1e0", "1.0", True),
        (b"inf", "1.0", False),
        (b"5", "5 6", False),
        (b"5 6 7", "5 6", False),
        (b"YES", "yes", False),
        (b"", "", True),
    ],
)
def test_tokens_match(got, expected, ok):
    assert tokens_match(got, expected)[0] is ok


def test_tokens_match_case_insensitive_when_asked():
    assert tokens_match(b"YES", "yes", case_sensitive=False)[0]


@pytest.mark.parametrize(
    ("got", "expected", "ok"),
    [
        (True, 1, False),
        (1, True, False),
        (1.0, 1, True),
        (float("nan"), float("nan"), False),
        ([1, (2,)], [1, (2,)], True),
        ((1, 2), [1, 2], False),
        ({"a": [1]}, {"a": [1]}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({1, 2}, frozenset({1, 2}), True),
        ("1", 1, False),
        (None, 0, False),
    ],
)
def test_values_equal(got, expected, ok):
    assert values_equal(got, expected) is ok


def test_values_equal_json_sequences_and_float_tolerance():
    assert values_equal((1, 2), [1, 2], json_sequences=True)
    assert values_equal(0.1 + 0.2, 0.3, float_tol=1e-9)
    assert not values_equal(0.1 + 0.2, 0.3)


# -- references and asserts ---------------------------------------------------------------------


def test_assert_shapes_become_calls():
    source = "\n".join(
        [
            "import math",
            "def check(candidate):",
            "    assert candidate(1) == 2",
            "    assert 3 == candidate(2)",
            "    assert candidate(3) is None",
            "    assert candidate(4)",
            "    assert not candidate(5)",
            "    assert abs(candidate(6) - 1.5) < 1e-6",
            "    assert math.isclose(candidate(7), 2.5)",
            "    assert candidate(x=[1, 2]) == (1, 2), 'message'",
            "    assert True",
            "check(f)",
        ]
    )
    rewritten = rewrite_asserts(source)
    assert [c.compare for c in rewritten.cases] == [
        "eq",
        "eq",
        "is",
        "truthy",
        "falsy",
        "close",
        "close",
        "eq",
    ]
    assert all(c.fn == "f" for c in rewritten.cases)
    assert rewritten.cases[7].kwargs == {"x": [1, 2]} and rewritten.cases[7].expected == (1, 2)
    assert rewritten.residual is None


def test_what_cannot_be_rewritten_stays_as_a_residual():
    source = "def check(candidate):\n    for i in range(3):\n        assert candidate(i) == helper(i)\n    assert candidate(1) == 1\ncheck(f)"
    rewritten = rewrite_asserts(source)
    assert len(rewritten.cases) == 1
    assert rewritten.residual is not None and "for i in range(3)" in rewritten.residual
    assert set(rewritten.free_names) == {"f", "helper"}


def test_residual_uses_the_programs_helpers_through_proxies():
    program = "def helper(i):\n    return i * i\ndef f(i):\n    return i * i"
    reference = {
        "asserts": "def check(candidate):\n    for i in range(4):\n        assert candidate(i) == helper(i)\ncheck(f)"
    }
    assert code(sample(program, reference)).value == 1.0
    wrong = "def helper(i):\n    return i * i\ndef f(i):\n    return i + i"
    assert code(sample(wrong, reference)).value == 0.0


def test_residual_that_passes_the_program_a_function_is_a_bad_reference():
    reference = {
        "asserts": "def check(candidate):\n    for g in [len]:\n        assert candidate(g) == 1\ncheck(f)"
    }
    score = code(sample("def f(g):\n    return 1", reference))
    assert score.status == "invalid_reference"


@pytest.mark.parametrize(
    "reference",
    [
        None,
        "not json",
        {"tests": "x"},
        {"fn_name": "", "tests": [{"args": [], "expected": 1}]},
        {"fn_name": "f", "tests": [{"args": 1, "expected": 1}]},
        {"inputs": ["1"], "outputs": []},
        {"asserts": ""},
        {"tests": [{"input": "", "output": ""}], "time_limit_s": 0},
        {"tests": [{"input": "", "output": ""}], "memory_mb": 1},
        {"tests": [{"input": "", "output": ""}], "case_sensitive": "no"},
    ],
)
def test_bad_references_are_reported(reference):
    assert check_reference(reference) is not None
    assert code(sample("print(1)", reference)).status == "invalid_reference"


def test_reference_as_json_text_and_settings():
    problem = parse_reference(
        '{"tests": [{"input": "", "output": "1"}], "time_limit_s": 1.5, "checker": "lines"}'
    )
    assert problem.time_limit_s == 1.5 and problem.checker == "lines" and problem.count == 1


def test_residual_call_that_hangs_is_cut_at_the_per_test_wall_limit():
    reference = {
        "asserts": "def check(candidate):\n    for i in range(2):\n        assert candidate(i) == i\ncheck(f)",
        "time_limit_s": 0.5,
    }
    start = time.monotonic()
    score = code(sample("import time\ndef f(i):\n    time.sleep(60)", reference))
    assert score.info["verdicts"] == ["time_limit"]
    assert time.monotonic() - start < 5


def test_assert_with_an_argument_that_cannot_cross_is_a_bad_reference():
    score = code(sample("def f(x):\n    return x", {"asserts": "assert f(...) == ..."}))
    assert score.status == "invalid_reference" and "not plain data" in score.reason

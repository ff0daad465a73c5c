"""Reward ``code``: run the completion's program against tests in the sandbox.

The completion's last fenced python block is the program. The reference holds the tests (stdio,
call-based, or asserts; see `parse_reference`). Each test runs in a fresh confined process
(`rewardsmith.sandbox`); outputs and returned values come back as data and are compared here,
in the trusted process, against expected values the program never sees.

Example:
    >>> import rewardsmith
    >>> from rewardsmith.rewards.code import code
    >>> sample = rewardsmith.Sample(
    ...     id="1",
    ...     completion="```python\\na, b = map(int, input().split())\\nprint(a + b)\\n```",
    ...     reference={"tests": [{"input": "1 2", "output": "3"}, {"input": "5 5", "output": "10"}]},
    ... )
    >>> score = code(sample)
    >>> score.value, score.info["verdicts"]
    (1.0, ['passed', 'passed'])

Known failure modes: programs can import only the standard library (the sandbox runs
``python -I -S`` over a root that holds the interpreter and system libraries alone). Residual
asserts (those that cannot become independent calls) run in the grader's process, so a test
that loops forever on a hostile answer is bounded by the engine's timeout, not the sandbox.
Call-based arguments are copies: a test that checks how the program mutated its argument cannot
be expressed.
"""

from __future__ import annotations

from typing import Literal

from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.rewards.code.compare import CHECKERS, register_checker, tokens_match, values_equal
from rewardsmith.rewards.code.extract import Block, extract_program
from rewardsmith.rewards.code.grade import ReferenceProblem, TestVerdict, grade
from rewardsmith.rewards.code.reference import (
    InvalidReferenceError,
    Problem,
    check_reference,
    parse_reference,
)
from rewardsmith.sandbox import SandboxError, SandboxLimits, SandboxRefused, default_sandbox

__all__ = [
    "CHECKERS",
    "Block",
    "InvalidReferenceError",
    "Problem",
    "TestVerdict",
    "check_reference",
    "code",
    "extract_program",
    "parse_reference",
    "register_checker",
    "tokens_match",
    "values_equal",
]


@reward(
    "code",
    kind="cpu",
    version="1",
    reads=("completion", "reference"),
    timeout_s=300.0,
    check_reference=check_reference,
)
def code(
    sample: Sample,
    *,
    block: Block = "last",
    mode: Literal["fraction", "all", "first_failure"] = "fraction",
    time_limit_s: float = 2.0,
    memory_mb: int = 512,
    float_tol: float = 1e-6,
    sandbox: Literal["isolated", "trusted-code-only"] = "isolated",
) -> Score:
    """Fraction of tests a program passes, run in the sandbox and judged in the grader.

    Args:
        sample: completion with a fenced python block; reference with the tests.
        block: which fenced block is the program: ``last``, ``first`` or ``all`` joined.
        mode: ``fraction`` of tests passed; ``all`` (1.0 only if every test passes); or
            ``first_failure``: the index of the first failing test over the number of tests
            (dense credit for passing the early tests).
        time_limit_s: CPU seconds per test, unless the reference sets ``time_limit_s``.
        memory_mb: address space per process, unless the reference sets ``memory_mb``.
        float_tol: tolerance for stdout tokens, and JSON expected values, written as floats.
        sandbox: ``isolated`` (default) refuses to run the program where this machine lacks a
            protection (see docs/sandbox.md); ``trusted-code-only`` runs it with whatever
            isolation there is, for code you trust. ``info["sandbox"]`` records the level and
            any unmet requirement.

    Returns ``parse_error`` with no python block, ``invalid_reference`` for tests that cannot
    be used, ``refused`` (nothing ran) where the sandbox lacks a protection its level needs,
    ``error`` only when the sandbox itself failed; ``info`` has one verdict per test.
    """
    try:
        problem = parse_reference(sample.reference)
    except InvalidReferenceError as exc:
        return Score.fail("invalid_reference", str(exc))
    program = extract_program(sample.completion_text, block)
    if program is None:
        return Score.fail("parse_error", "no fenced python block in the completion")
    limits = SandboxLimits(
        time_limit_s=problem.time_limit_s or time_limit_s, memory_mb=problem.memory_mb or memory_mb
    )
    box = default_sandbox(sandbox)
    try:
        provenance = box.provenance()
        verdicts = grade(
            program, problem, box, limits, float_tol=float_tol, stop_on_failure=mode != "fraction"
        )
    except ReferenceProblem as exc:
        return Score.fail("invalid_reference", str(exc))
    # The machine or the sandbox failed, not the program: fault="grader" makes the status
    # policy mask the row (``grader_failure``) instead of teaching the policy a zero.
    except SandboxRefused as exc:
        return Score.fail("refused", str(exc), sandbox=box.provenance(), fault="grader")
    except SandboxError as exc:
        return Score.fail("error", f"sandbox failed: {exc}", fault="grader")
    failed = [v for v in verdicts if v.verdict == "sandbox_error"]
    if failed:
        return Score.fail(
            "error",
            f"sandbox failed: {failed[0].detail}",
            verdicts=[v.verdict for v in verdicts],
            fault="grader",
        )
    total = problem.count
    passed = sum(v.verdict == "passed" for v in verdicts)
    first = next((i for i, v in enumerate(verdicts) if v.verdict != "passed"), None)
    if mode == "fraction":
        value = passed / total
    elif mode == "all":
        value = 1.0 if passed == total else 0.0
    else:
        value = (first if first is not None else total) / total
    info: dict[str, object] = {
        "verdicts": [v.verdict for v in verdicts],
        "tests": total,
        "passed": passed,
        "cpu_s": round(sum(v.cpu_s for v in verdicts), 4),
        "protections": box.protections.as_dict()["active"],
        "sandbox": provenance,
    }
    if first is not None:
        info["first_failure"] = {
            "index": first,
            "verdict": verdicts[first].verdict,
            "detail": verdicts[first].detail[:500],
        }
    return Score(value=value, components={"pass_rate": passed / total}, info=info)

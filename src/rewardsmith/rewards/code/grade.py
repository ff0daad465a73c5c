"""Running a program against a `Problem` in the sandbox and judging each test in this process."""

from __future__ import annotations

import builtins
import dataclasses
import math
import time
from typing import Any, Final, Literal

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.rewards.code.asserts import CallCase
from rewardsmith.rewards.code.compare import CHECKERS, as_real, tokens_match, values_equal
from rewardsmith.rewards.code.reference import Problem, StdioCase
from rewardsmith.sandbox import CallResult, CallSession, RunResult, Sandbox, SandboxLimits
from rewardsmith.sandbox._wire import PlainDataError

__all__ = ["ReferenceProblem", "TestVerdict", "Verdict", "grade"]

Verdict = Literal[
    "passed",
    "wrong_answer",
    "runtime_error",
    "time_limit",
    "memory_limit",
    "output_limit",
    "sandbox_error",
]
_RUN_VERDICT: Final[dict[str, Verdict]] = {
    "runtime_error": "runtime_error",
    "time_limit": "time_limit",
    "memory_limit": "memory_limit",
    "output_limit": "output_limit",
    "sandbox_error": "sandbox_error",
}


@dataclasses.dataclass
class TestVerdict:
    verdict: Verdict
    detail: str = ""
    cpu_s: float = 0.0


def grade(
    program: str,
    problem: Problem,
    box: Sandbox,
    limits: SandboxLimits,
    *,
    float_tol: float,
    stop_on_failure: bool,
) -> list[TestVerdict]:
    """One verdict per test, in order; stops after the first failure when asked."""
    verdicts: list[TestVerdict] = []
    for case in problem.stdio:
        verdicts.append(_stdio(program, case, problem, box, limits, float_tol))
        if stop_on_failure and verdicts[-1].verdict != "passed":
            return verdicts
    for call in problem.calls:
        try:
            run, (answer,) = box.call(program, [(call.fn, call.args, call.kwargs)], limits)
        except PlainDataError as exc:
            raise ReferenceProblem(
                f"{call.source or call.fn}: argument is not plain data: {exc}"
            ) from None
        verdicts.append(_judge_call(call, run, answer, float_tol))
        if stop_on_failure and verdicts[-1].verdict != "passed":
            return verdicts
    if problem.residual is not None:
        verdicts.append(_residual(program, problem, box, limits))
    return verdicts


def _stdio(
    program: str,
    case: StdioCase,
    problem: Problem,
    box: Sandbox,
    limits: SandboxLimits,
    float_tol: float,
) -> TestVerdict:
    run = box.run_script(program, stdin=case.input.encode(), limits=limits)
    if run.outcome != "ok":
        return _failed_run(run)
    if problem.checker is not None:
        passed = CHECKERS[problem.checker](run.stdout, case.output, case.input)
        detail = "" if passed else f"checker {problem.checker!r} rejected the output"
    else:
        passed, detail = tokens_match(
            run.stdout, case.output, case_sensitive=problem.case_sensitive, float_tol=float_tol
        )
    return TestVerdict("passed" if passed else "wrong_answer", detail, run.cpu_s)


def _failed_run(run: RunResult) -> TestVerdict:
    detail = run.detail or run.stderr[-300:].decode("utf-8", "replace").strip()
    return TestVerdict(_RUN_VERDICT[run.outcome], detail, run.cpu_s)


def _judge_call(
    case: CallCase, run: RunResult, answer: CallResult, float_tol: float
) -> TestVerdict:
    if run.outcome in ("output_limit", "sandbox_error", "memory_limit"):
        return _failed_run(run)
    if answer.outcome == "time_limit" or run.outcome == "time_limit":
        return TestVerdict("time_limit", answer.error, run.cpu_s)
    if answer.outcome == "output_limit":
        return TestVerdict("output_limit", answer.error, run.cpu_s)
    if answer.outcome == "runtime_error":
        verdict: Verdict = (
            "memory_limit" if answer.error.startswith("MemoryError") else "runtime_error"
        )
        return TestVerdict(verdict, answer.error, run.cpu_s)
    if answer.outcome != "ok":
        return TestVerdict(
            "wrong_answer", f"returned something that is not plain data: {answer.error}", run.cpu_s
        )
    if run.outcome != "ok":
        # It answered, then crashed or exited non-zero on the way out: not a clean pass.
        return _failed_run(run)
    passed = _satisfies(answer.value, case, float_tol)
    detail = "" if passed else f"{case.source or case.fn}: got {_short(answer.value)}"
    return TestVerdict("passed" if passed else "wrong_answer", detail, run.cpu_s)


def _satisfies(value: Any, case: CallCase, float_tol: float) -> bool:
    if case.compare == "truthy":
        return bool(value)
    if case.compare == "falsy":
        return not value
    if case.compare == "is":
        return value is case.expected or (
            type(value) is type(case.expected) and value == case.expected
        )
    if case.compare == "close":
        value = as_real(value)
        if value is None:
            return False
        if case.tol < 0:
            return math.isclose(value, case.expected)
        gap = abs(value - case.expected)
        return gap <= case.tol if case.inclusive else gap < case.tol
    tol = float_tol if case.from_json else 0.0
    return values_equal(value, case.expected, float_tol=tol, json_sequences=case.from_json)


# -- residual asserts, run here with the program behind proxies --------------------------------


class _ProgramFailed(BaseException):
    """Raised out of a proxy call; a BaseException so a bare ``except Exception`` in the tests
    cannot swallow it."""

    def __init__(self, result: CallResult) -> None:
        super().__init__(result.error)
        self.result = result


class ReferenceProblem(RewardsmithError):
    """The tests themselves cannot run: they pass the program something that is not plain data."""


class _Remote:
    """Stands for a function of the program inside the trusted test script."""

    def __init__(self, session: CallSession, name: str, timeout_s: float) -> None:
        self._session = session
        self._name = name
        self._timeout_s = timeout_s

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = self._session.call(self._name, args, kwargs, timeout_s=self._timeout_s)
        except TypeError as exc:
            raise ReferenceProblem(
                f"the tests pass {self._name}() something that is not plain data: {exc}"
            ) from None
        if result.outcome != "ok":
            raise _ProgramFailed(result)
        return result.value

    def __repr__(self) -> str:
        return f"<program function {self._name}>"


def _residual(program: str, problem: Problem, box: Sandbox, limits: SandboxLimits) -> TestVerdict:
    session_limits = dataclasses.replace(
        limits, time_limit_s=limits.time_limit_s * 5, wall_s=limits.wall_limit_s * 10
    )
    started = time.monotonic()
    with box.session(program, session_limits) as session:
        namespace: dict[str, Any] = {"__name__": "__rewardsmith_tests__", "__builtins__": builtins}
        namespace.update(
            {name: _Remote(session, name, limits.wall_limit_s) for name in problem.free_names}
        )
        try:
            assert problem.residual is not None
            exec(compile(problem.residual, "<tests>", "exec"), namespace)
            verdict = TestVerdict("passed")
        except _ProgramFailed as failure:
            verdict = _call_failure(failure.result)
        except ReferenceProblem:
            raise
        except AssertionError as exc:
            verdict = TestVerdict("wrong_answer", f"an assert failed {str(exc)[:200]}".strip())
        except Exception as exc:
            verdict = TestVerdict(
                "wrong_answer", f"the tests raised {type(exc).__name__}: {str(exc)[:200]}"
            )
        except SystemExit:
            verdict = TestVerdict("wrong_answer", "the tests called exit()")
    if session.calls == 0 and not problem.calls and verdict.verdict == "passed":
        # Nothing looked at the program: a pass here would reward any program at all.
        verdict = TestVerdict("wrong_answer", "the tests never called the program")
    if session._dead and verdict.verdict == "passed":
        verdict = TestVerdict("runtime_error", session._dead)
    run = session.result
    if (
        run is not None
        and run.outcome in ("output_limit", "sandbox_error")
        and verdict.verdict == "passed"
    ):
        verdict = _failed_run(run)
    verdict.cpu_s = run.cpu_s if run is not None else time.monotonic() - started
    return verdict


def _call_failure(result: CallResult) -> TestVerdict:
    if result.outcome in ("time_limit", "output_limit"):
        return TestVerdict(result.outcome, result.error)
    if result.outcome == "runtime_error":
        verdict: Verdict = (
            "memory_limit" if result.error.startswith("MemoryError") else "runtime_error"
        )
        return TestVerdict(verdict, result.error)
    return TestVerdict("wrong_answer", f"returned something that is not plain data: {result.error}")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

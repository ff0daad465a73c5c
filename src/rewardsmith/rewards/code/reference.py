"""Reading a code problem's reference: stdio tests, call-based tests, or asserts."""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Any

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.rewards.code.asserts import CallCase, rewrite_asserts
from rewardsmith.rewards.code.compare import CHECKERS

__all__ = ["InvalidReferenceError", "Problem", "StdioCase", "check_reference", "parse_reference"]


class InvalidReferenceError(RewardsmithError, ValueError):
    """The reference cannot be used as tests; the message says what is wrong."""


@dataclasses.dataclass(frozen=True)
class StdioCase:
    input: str
    output: str


@dataclasses.dataclass(frozen=True)
class Problem:
    """Tests in the order they run, plus per-problem settings."""

    stdio: tuple[StdioCase, ...] = ()
    calls: tuple[CallCase, ...] = ()
    residual: str | None = None
    free_names: tuple[str, ...] = ()
    time_limit_s: float | None = None
    memory_mb: int | None = None
    checker: str | None = None
    case_sensitive: bool = True

    @property
    def count(self) -> int:
        return len(self.stdio) + len(self.calls) + (1 if self.residual is not None else 0)


def check_reference(reference: Any) -> str | None:
    """None when ``reference`` is usable, else what is wrong (for ``rewardsmith check``)."""
    try:
        parse_reference(reference)
    except InvalidReferenceError as exc:
        return str(exc)
    return None


def parse_reference(reference: Any) -> Problem:
    """Turn a reference (a dict, or its JSON text) into a `Problem`.

    Formats::

        {"tests": [{"input": "1 2\\n", "output": "3\\n"}, ...]}                        stdio
        {"fn_name": "f", "tests": [{"args": [1], "kwargs": {}, "expected": 2}, ...]}  call-based
        {"fn_name": "f", "inputs": [[1], ...], "outputs": [2, ...]}                   APPS/TACO
        {"inputs": ["1 2\\n", ...], "outputs": ["3\\n", ...]}                          APPS stdio
        {"asserts": "assert f(1) == 2\\n..."}                                          assert-based

    plus optional ``time_limit_s``, ``memory_mb``, ``checker`` (a name in ``CHECKERS``) and
    ``case_sensitive``.

    Example:
        >>> parse_reference({"fn_name": "f", "tests": [{"args": [1], "expected": 2}]}).count
        1
    """
    if isinstance(reference, str):
        return _parse_text(reference)
    if not isinstance(reference, dict):
        raise InvalidReferenceError(
            f"expected a JSON object of tests, got {type(reference).__name__}"
        )
    try:
        key = json.dumps(reference, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidReferenceError(f"reference is not JSON data: {exc}") from None
    return _parse_text(key)


@functools.lru_cache(maxsize=512)
def _parse_text(text: str) -> Problem:
    try:
        reference = json.loads(text)
    except ValueError as exc:
        raise InvalidReferenceError(f"reference is not valid JSON: {exc}") from None
    if not isinstance(reference, dict):
        raise InvalidReferenceError(
            f"expected a JSON object of tests, got {type(reference).__name__}"
        )
    settings = _settings(reference)
    if "asserts" in reference:
        return _asserts(reference["asserts"], settings)
    fn_name = reference.get("fn_name")
    if fn_name is not None and (not isinstance(fn_name, str) or not fn_name.strip()):
        raise InvalidReferenceError("'fn_name' must be a non-empty string")
    if "tests" in reference:
        tests = reference["tests"]
        if not isinstance(tests, list) or not tests:
            raise InvalidReferenceError("'tests' must be a non-empty list")
        if fn_name:
            return Problem(
                calls=tuple(_call_case(fn_name, t, i) for i, t in enumerate(tests)), **settings
            )
        return Problem(stdio=tuple(_stdio_case(t, i) for i, t in enumerate(tests)), **settings)
    if "inputs" in reference and "outputs" in reference:
        inputs, outputs = reference["inputs"], reference["outputs"]
        if (
            not isinstance(inputs, list)
            or not isinstance(outputs, list)
            or len(inputs) != len(outputs)
            or not inputs
        ):
            raise InvalidReferenceError(
                "'inputs' and 'outputs' must be non-empty lists of the same length"
            )
        if fn_name:
            pairs = [{"args": a, "expected": e} for a, e in zip(inputs, outputs, strict=True)]
            return Problem(
                calls=tuple(_call_case(fn_name, t, i) for i, t in enumerate(pairs)), **settings
            )
        pairs = [{"input": a, "output": e} for a, e in zip(inputs, outputs, strict=True)]
        return Problem(stdio=tuple(_stdio_case(t, i) for i, t in enumerate(pairs)), **settings)
    raise InvalidReferenceError("no tests: expected 'tests', 'inputs'/'outputs' or 'asserts'")


def _settings(reference: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if reference.get("time_limit_s") is not None:
        value = reference["time_limit_s"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 600:
            raise InvalidReferenceError("'time_limit_s' must be a number in (0, 600]")
        out["time_limit_s"] = float(value)
    if reference.get("memory_mb") is not None:
        value = reference["memory_mb"]
        if isinstance(value, bool) or not isinstance(value, int) or not 16 <= value <= 65536:
            raise InvalidReferenceError("'memory_mb' must be an integer in [16, 65536]")
        out["memory_mb"] = value
    checker = reference.get("checker")
    if checker is not None:
        if checker not in CHECKERS and checker != "tokens":
            known = ", ".join(["tokens", *sorted(CHECKERS)])
            raise InvalidReferenceError(f"unknown checker {checker!r} (known: {known})")
        out["checker"] = None if checker == "tokens" else checker
    if "case_sensitive" in reference:
        if not isinstance(reference["case_sensitive"], bool):
            raise InvalidReferenceError("'case_sensitive' must be true or false")
        out["case_sensitive"] = reference["case_sensitive"]
    return out


def _stdio_case(test: Any, index: int) -> StdioCase:
    if (
        not isinstance(test, dict)
        or not isinstance(test.get("input"), str)
        or not isinstance(test.get("output"), str)
    ):
        raise InvalidReferenceError(f"test {index}: a stdio test needs string 'input' and 'output'")
    return StdioCase(input=test["input"], output=test["output"])


def _call_case(fn_name: str, test: Any, index: int) -> CallCase:
    if not isinstance(test, dict) or "expected" not in test:
        raise InvalidReferenceError(f"test {index}: a call-based test needs 'args' and 'expected'")
    args = test.get("args", [])
    kwargs = test.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise InvalidReferenceError(f"test {index}: 'args' must be a list and 'kwargs' an object")
    return CallCase(
        fn=fn_name, args=tuple(args), kwargs=kwargs, expected=test["expected"], from_json=True
    )


def _asserts(source: Any, settings: dict[str, Any]) -> Problem:
    if not isinstance(source, str) or not source.strip():
        raise InvalidReferenceError("'asserts' must be non-empty Python source")
    try:
        rewritten = rewrite_asserts(source)
    except SyntaxError as exc:
        raise InvalidReferenceError(
            f"'asserts' does not parse: line {exc.lineno}: {exc.msg}"
        ) from None
    if not rewritten.cases and rewritten.residual is None:
        raise InvalidReferenceError("'asserts' checks nothing")
    return Problem(
        calls=tuple(rewritten.cases),
        residual=rewritten.residual,
        free_names=rewritten.free_names,
        **settings,
    )

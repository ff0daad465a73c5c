"""Trusted comparison: stdout tokens against expected text, returned values against expected values.

Everything here runs in the grader's process on data the program produced: bytes, or builtin
values rebuilt by the wire decoder. No method the program defined is ever called.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

__all__ = ["CHECKERS", "as_real", "register_checker", "tokens_match", "values_equal"]

_TOKEN: Final = re.compile(r"\S+")
_FLOAT_TOKEN: Final = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?")
_NUMBER_TOKEN: Final = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def tokens_match(
    got: bytes, expected: str, *, case_sensitive: bool = True, float_tol: float = 1e-6
) -> tuple[bool, str]:
    """Whitespace-insensitive, token-by-token comparison of a program's output.

    Integers and words compare exactly (so big integers are exact), a token compares as a float
    with tolerance ``float_tol`` (absolute or relative) only when the *expected* token is written
    as a float, and the token counts must match: a prefix of the answer or an extra line fails.

    Example:
        >>> tokens_match(b"3 0.3333333\\n", "3\\n0.33333333")
        (True, '')
        >>> tokens_match(b"3", "3 4")[0]
        False
    """
    try:
        text = got.decode("utf-8")
    except UnicodeDecodeError:
        return False, "output is not valid UTF-8"
    # Lazily, token by token: a flood of tiny tokens must not become a list of millions of
    # strings in the grader; the first mismatch or surplus token ends the comparison.
    have, want = _TOKEN.finditer(text), _TOKEN.finditer(expected)
    for index, b in enumerate(want):
        a = next(have, None)
        if a is None:
            return False, f"output ended after {index} tokens, expected more"
        if not _token_equal(a.group(), b.group(), case_sensitive, float_tol):
            return False, f"token {index}: got {_clip(a.group())!r}, expected {_clip(b.group())!r}"
    if next(have, None) is not None:
        return False, "output has more tokens than expected"
    return True, ""


def _token_equal(got: str, expected: str, case_sensitive: bool, float_tol: float) -> bool:
    if got == expected:
        return True
    if float_tol > 0 and _FLOAT_TOKEN.fullmatch(expected) and _NUMBER_TOKEN.fullmatch(got):
        a, b = float(got), float(expected)
        return math.isfinite(a) and abs(a - b) <= float_tol * max(1.0, abs(b))
    if not case_sensitive:
        return got.casefold() == expected.casefold()
    return False


def values_equal(
    got: Any, expected: Any, *, float_tol: float = 0.0, json_sequences: bool = False
) -> bool:
    """Compare a returned value with the expected one by value and type.

    ``bool`` never equals ``int``; ``int`` and ``float`` compare by value (as Python does), with
    tolerance ``float_tol`` when the expected value is a float; a returned ``Fraction`` or
    ``Decimal`` compares by value like them (exactly, or within the tolerance against a float);
    NaN equals nothing. With
    ``json_sequences`` (expected values that came from JSON, which has no tuples) a list and a
    tuple with equal items are equal.

    Example:
        >>> values_equal(True, 1), values_equal((1, 2), [1, 2]), values_equal((1, 2), [1, 2], json_sequences=True)
        (False, False, True)
    """
    te, tg = type(expected), type(got)
    if te is bool or tg is bool:
        return te is tg and got == expected
    if (te is float or te is int) and (tg is Fraction or tg is Decimal):
        if te is float and float_tol > 0:
            number = as_real(got)
            return number is not None and abs(number - expected) <= float_tol * max(
                1.0, abs(expected)
            )
        return bool(got == expected)  # exact: Fraction(1, 2) == 0.5, Decimal("3") == 3
    if te is float or te is int:
        if tg is not int and tg is not float:
            return False
        if te is float and float_tol > 0:
            return math.isfinite(got) and abs(got - expected) <= float_tol * max(1.0, abs(expected))
        return bool(got == expected)
    if te is list or te is tuple:
        if tg is not te and not (json_sequences and tg in (list, tuple)):
            return False
        return len(got) == len(expected) and all(
            values_equal(g, e, float_tol=float_tol, json_sequences=json_sequences)
            for g, e in zip(got, expected, strict=True)
        )
    if te is dict:
        if tg is not dict or got.keys() != expected.keys():
            return False
        return all(
            values_equal(got[key], value, float_tol=float_tol, json_sequences=json_sequences)
            for key, value in expected.items()
        )
    if te in (set, frozenset):
        return tg in (set, frozenset) and got == expected
    return tg is te and bool(got == expected)


def as_real(value: Any) -> float | None:
    """A finite float for an ``int``, ``float``, ``Fraction`` or ``Decimal``; else None.

    Example:
        >>> as_real(Fraction(1, 4)), as_real(True), as_real(float("nan"))
        (0.25, None, None)
    """
    if type(value) not in (int, float, Fraction, Decimal):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError, ArithmeticError):
        return None
    return number if math.isfinite(number) else None


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- named checkers for problems with several right answers -----------------------------------

Checker = Callable[[bytes, str, str], bool]
"""``checker(output, expected, input) -> passed``; trusted code, run in the grader."""


def _lines(output: bytes, expected: str, _input: str) -> bool:
    return output.decode("utf-8", "replace").rstrip().splitlines() == expected.rstrip().splitlines()


def _unordered_tokens(output: bytes, expected: str, _input: str) -> bool:
    return sorted(output.decode("utf-8", "replace").split()) == sorted(expected.split())


def _unordered_lines(output: bytes, expected: str, _input: str) -> bool:
    def norm(text: str) -> list[str]:
        return sorted(" ".join(line.split()) for line in text.strip().splitlines())

    return norm(output.decode("utf-8", "replace")) == norm(expected)


def _exact(output: bytes, expected: str, _input: str) -> bool:
    return output == expected.encode()


def _case_insensitive_tokens(output: bytes, expected: str, _input: str) -> bool:
    got = output.decode("utf-8", "replace").split()
    return [t.casefold() for t in got] == [t.casefold() for t in expected.split()]


CHECKERS: dict[str, Checker] = {
    "lines": _lines,
    "exact": _exact,
    "unordered_tokens": _unordered_tokens,
    "unordered_lines": _unordered_lines,
    "case_insensitive_tokens": _case_insensitive_tokens,
}
"""Built-in checkers by name (``tokens`` is the default comparison and needs no entry)."""


def register_checker(name: str, checker: Checker) -> None:
    """Add a trusted checker that references may name in their ``checker`` field."""
    if name in CHECKERS or name == "tokens":
        raise ValueError(f"checker {name!r} already exists")
    CHECKERS[name] = checker

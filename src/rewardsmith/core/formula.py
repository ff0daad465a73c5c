"""A safe arithmetic expression over term names: the spec's ``formula``.

The text is parsed with `ast` and every node is checked against a whitelist before anything
runs; the tree is then turned into nested closures. Nothing reaches ``eval``, attribute access,
subscripts, keyword arguments, comprehensions or lambdas, so a formula can only do arithmetic
on the names it was given.

Allowed: numbers; names; ``+ - * / // % **``; unary ``-``/``+``/``not``; comparisons (1.0 when
true, 0.0 when false; chains like ``0 < a < 1`` work); ``and``/``or``; ``x if cond else y``;
and the functions ``min``, ``max``, ``abs``, ``exp``, ``log``, ``sqrt``, ``clip(x, low, high)``,
``tanh``, ``sigmoid``.

Example:
    >>> f = Formula("min(correct, format) + 0.1 * clip(length, -1, 0)", names=["correct", "format", "length"])
    >>> f({"correct": 1.0, "format": 1.0, "length": -3.0})
    0.9
    >>> sorted(f.names)
    ['correct', 'format', 'length']

Known issues:
    Names must be Python identifiers: a term named ``format-ok`` cannot appear in a formula
    (rename the term). ``log`` of a non-positive number, division by zero and overflow raise
    `FormulaError` at evaluation; the engine turns that into the row's ``error`` status.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from rewardsmith.core.errors import RewardsmithError

__all__ = ["FUNCTIONS", "Formula", "FormulaError"]

MAX_LENGTH: Final = 2000
MAX_NODES: Final = 400

Evaluator = Callable[[Mapping[str, float]], float]


class FormulaError(RewardsmithError, ValueError):
    """A formula that cannot be parsed, names something unknown, or fails on some values."""


def _clip(x: float, low: float, high: float) -> float:
    if low > high:
        raise FormulaError(f"clip(x, low, high) with low {low} above high {high}")
    return min(max(x, low), high)


def _log(x: float, base: float | None = None) -> float:
    if x <= 0:
        raise FormulaError(f"log of {x}, which is not positive")
    return math.log(x) if base is None else math.log(x, base)


def _sqrt(x: float) -> float:
    if x < 0:
        raise FormulaError(f"sqrt of negative {x}")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows for large |x|.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


FUNCTIONS: Final[dict[str, tuple[Callable[..., float], int, int | None]]] = {
    # name: (function, least args, most args or None for any)
    "min": (min, 2, None),
    "max": (max, 2, None),
    "abs": (abs, 1, 1),
    "exp": (math.exp, 1, 1),
    "log": (_log, 1, 2),
    "sqrt": (_sqrt, 1, 1),
    "clip": (_clip, 3, 3),
    "tanh": (math.tanh, 1, 1),
    "sigmoid": (_sigmoid, 1, 1),
}
"""The functions a formula may call, with their argument counts."""

_BINARY: Final[dict[type, Callable[[float, float], float]]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: float(a // b),
    ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a**b,
}
_COMPARE: Final[dict[type, Callable[[float, float], bool]]] = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}


class Formula:
    """A parsed, checked expression; call it with a mapping of name to value.

    Args:
        text: the expression.
        names: the names it may use; None accepts any identifier (checked when called).

    Raises:
        FormulaError: with the position and what to change, when the text is not allowed.
    """

    def __init__(self, text: str, names: Iterable[str] | None = None) -> None:
        self.text = text
        self._allowed = None if names is None else frozenset(names)
        if len(text) > MAX_LENGTH:
            raise FormulaError(f"formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise FormulaError(
                f"not a valid expression ({exc.msg} at column {exc.offset})"
            ) from None
        count = sum(1 for _ in ast.walk(tree))
        if count > MAX_NODES:
            raise FormulaError(f"formula has {count} parts; the limit is {MAX_NODES}")
        self._used: set[str] = set()
        self._run = self._build(tree.body)
        self.names = frozenset(self._used)

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    def __call__(self, values: Mapping[str, float]) -> float:
        missing = [name for name in self.names if name not in values]
        if missing:
            raise FormulaError(f"no value for {', '.join(sorted(missing))}")
        try:
            result = float(self._run(values))
        except FormulaError:
            raise
        except ZeroDivisionError:
            raise FormulaError("division by zero") from None
        except OverflowError:
            raise FormulaError("a number grew too large (overflow)") from None
        except (ValueError, TypeError) as exc:
            raise FormulaError(f"{type(exc).__name__}: {exc}") from None
        if not math.isfinite(result):
            raise FormulaError(f"the result is {result}, not a finite number")
        return result

    # -- building closures from checked nodes ---------------------------------------------

    def _build(self, node: ast.AST) -> Evaluator:
        builder = getattr(self, f"_build_{type(node).__name__}", None)
        if builder is None:
            raise FormulaError(
                f"{_describe(node)} is not allowed{_where(node)}; use numbers, term names, "
                f"arithmetic, comparisons and {', '.join(FUNCTIONS)}"
            )
        result: Evaluator = builder(node)
        return result

    def _build_Constant(self, node: ast.Constant) -> Evaluator:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FormulaError(f"constant {value!r} is not a number{_where(node)}")
        number = float(value)
        return lambda values: number

    def _build_Name(self, node: ast.Name) -> Evaluator:
        name = node.id
        if name in FUNCTIONS:
            raise FormulaError(f"{name!r} is a function; call it as {name}(...){_where(node)}")
        if self._allowed is not None and name not in self._allowed:
            close = difflib.get_close_matches(name, sorted(self._allowed), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(sorted(self._allowed)) or "none"
            raise FormulaError(f"unknown name {name!r}{_where(node)}{hint} (known: {known})")
        self._used.add(name)
        return lambda values: values[name]

    def _build_BinOp(self, node: ast.BinOp) -> Evaluator:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise FormulaError(f"operator {type(node.op).__name__} is not allowed{_where(node)}")
        left, right = self._build(node.left), self._build(node.right)
        return lambda values: op(left(values), right(values))

    def _build_UnaryOp(self, node: ast.UnaryOp) -> Evaluator:
        operand = self._build(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda values: -operand(values)
        if isinstance(node.op, ast.UAdd):
            return operand
        if isinstance(node.op, ast.Not):
            return lambda values: 0.0 if operand(values) else 1.0
        raise FormulaError(f"operator {type(node.op).__name__} is not allowed{_where(node)}")

    def _build_Compare(self, node: ast.Compare) -> Evaluator:
        parts = [self._build(node.left)] + [self._build(item) for item in node.comparators]
        ops = []
        for op in node.ops:
            check = _COMPARE.get(type(op))
            if check is None:
                raise FormulaError(f"comparison {type(op).__name__} is not allowed{_where(node)}")
            ops.append(check)

        def compare(values: Mapping[str, float]) -> float:
            left = parts[0](values)
            for check, part in zip(ops, parts[1:], strict=True):
                right = part(values)
                if not check(left, right):
                    return 0.0
                left = right
            return 1.0

        return compare

    def _build_BoolOp(self, node: ast.BoolOp) -> Evaluator:
        parts = [self._build(item) for item in node.values]
        if isinstance(node.op, ast.And):
            return lambda values: 1.0 if all(part(values) for part in parts) else 0.0
        return lambda values: 1.0 if any(part(values) for part in parts) else 0.0

    def _build_IfExp(self, node: ast.IfExp) -> Evaluator:
        test, body, orelse = (
            self._build(node.test),
            self._build(node.body),
            self._build(node.orelse),
        )
        return lambda values: body(values) if test(values) else orelse(values)

    def _build_Call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise FormulaError(f"only {', '.join(FUNCTIONS)} may be called{_where(node)}")
        if node.keywords:
            raise FormulaError(f"{node.func.id}() takes no keyword arguments{_where(node)}")
        function, least, most = FUNCTIONS[node.func.id]
        count = len(node.args)
        if count < least or (most is not None and count > most):
            wanted = (
                f"{least}"
                if least == most
                else f"{least} or more"
                if most is None
                else f"{least} to {most}"
            )
            raise FormulaError(
                f"{node.func.id}() takes {wanted} arguments, got {count}{_where(node)}"
            )
        args = [self._build(item) for item in node.args]
        return lambda values: function(*(arg(values) for arg in args))


def _describe(node: ast.AST) -> str:
    return {
        "Attribute": "attribute access",
        "Subscript": "indexing",
        "Lambda": "lambda",
        "ListComp": "a comprehension",
        "GeneratorExp": "a generator",
        "NamedExpr": "assignment",
        "Starred": "unpacking",
        "List": "a list",
        "Tuple": "a tuple",
        "Dict": "a dict",
        "JoinedStr": "an f-string",
    }.get(type(node).__name__, type(node).__name__)


def _where(node: ast.AST) -> str:
    column = getattr(node, "col_offset", None)
    return f" (at column {column + 1})" if column is not None else ""

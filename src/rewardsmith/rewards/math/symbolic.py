"""Last resort: sympy, for scalar answers that numeric evaluation could not settle.

Reached only when neither side has a numeric value at any sample point (functions the
evaluator does not know, or every point a pole). The trees are converted directly (no LaTeX
parsing), size-checked first, and sympy is asked for ``simplify(g - a) == 0``. The engine's
per-call timeout bounds the rest; this module never installs a signal handler.
"""

from __future__ import annotations

from typing import Any, Final

from rewardsmith.rewards.math.evaluate import free_symbols
from rewardsmith.rewards.math.nodes import (
    Add,
    Apply,
    Const,
    Func,
    Mul,
    Node,
    Num,
    Percent,
    Pow,
    Sym,
    walk,
)

__all__ = ["MAX_NODES", "sympy_equal"]

MAX_NODES: Final = 200
"""Largest tree (in nodes) handed to sympy; simplification cost grows fast with size."""


class _Unsupported(Exception):
    pass


def sympy_equal(gold: Node, answer: Node) -> bool | None:
    """True/False when sympy decides, None when it cannot (or is not installed)."""
    if _size(gold) + _size(answer) > MAX_NODES:
        return None
    try:
        import sympy
    except ImportError:
        return None
    try:
        names = free_symbols(gold) | free_symbols(answer)
        symbols = {n: sympy.Symbol(n) for n in names if not n.endswith("()")}
        g = _to_sympy(gold, sympy, symbols)
        a = _to_sympy(answer, sympy, symbols)
        difference = sympy.simplify(g - a)
    except (_Unsupported, TypeError, ValueError, AttributeError, ZeroDivisionError):
        return None
    if difference == 0:
        return True
    if difference.is_number and difference.is_zero is False:
        return False
    return None


def _size(node: Node) -> int:
    total = 0
    for _ in walk(node):
        total += 1
        if total > MAX_NODES:
            break
    return total


def _to_sympy(node: Node, sp: Any, symbols: dict[str, Any]) -> Any:
    if isinstance(node, Num):
        return sp.Rational(node.value.numerator, node.value.denominator)
    if isinstance(node, Sym):
        return symbols[node.name]
    if isinstance(node, Const):
        table = {"pi": sp.pi, "e": sp.E, "i": sp.I, "inf": sp.oo}
        return table[node.name]
    if isinstance(node, Add):
        return sp.Add(*(_to_sympy(t, sp, symbols) for t in node.terms))
    if isinstance(node, Mul):
        return sp.Mul(*(_to_sympy(t, sp, symbols) for t in node.factors))
    if isinstance(node, Pow):
        exp = _to_sympy(node.exp, sp, symbols)
        if exp.is_number and abs(exp) > 10_000:
            raise _Unsupported("exponent too large for symbolic work")
        return sp.Pow(_to_sympy(node.base, sp, symbols), exp)
    if isinstance(node, Percent):
        return _to_sympy(node.arg, sp, symbols) / 100
    if isinstance(node, Apply):
        fn = sp.Function(node.name)
        return fn(*(_to_sympy(a, sp, symbols) for a in node.args))
    if isinstance(node, Func):
        args = [_to_sympy(a, sp, symbols) for a in node.args]
        name = node.name
        simple = {
            "sqrt": sp.sqrt,
            "sin": sp.sin,
            "cos": sp.cos,
            "tan": sp.tan,
            "sec": sp.sec,
            "csc": sp.csc,
            "cot": sp.cot,
            "arcsin": sp.asin,
            "arccos": sp.acos,
            "arctan": sp.atan,
            "ln": sp.log,
            "log": sp.log,
            "exp": sp.exp,
            "abs": sp.Abs,
            "floor": sp.floor,
            "ceil": sp.ceiling,
            "sinh": sp.sinh,
            "cosh": sp.cosh,
            "tanh": sp.tanh,
        }
        if name in simple and len(args) == 1:
            return simple[name](args[0])
        if name == "root":
            return sp.root(args[0], args[1])
        if name == "logb":
            return sp.log(args[0], args[1])
        if name == "factorial":
            if args[0].is_number and args[0] > 3000:
                raise _Unsupported("factorial too large")
            return sp.factorial(args[0])
        if name == "binom":
            return sp.binomial(args[0], args[1])
    raise _Unsupported(type(node).__name__)

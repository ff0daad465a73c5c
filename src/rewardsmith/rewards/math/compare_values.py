"""Scalar answers: the written forms that change how a value is compared, then its value.

`scalar` settles percentages (``28%`` vs ``28`` or ``0.28``), numbers in another base,
degrees against radians, infinities and arithmetic on containers, then asks `compare_numeric`
for the value. Two rules apply when the values differ: a parameter family (``\\pi/3 +
2k\\pi`` vs ``7\\pi/3 + 2n\\pi``) and a decimal that rounds an exact value (``3.46`` for
``2\\sqrt{3}``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from rewardsmith.rewards.math.compare_decision import Context, Decided, Outcome
from rewardsmith.rewards.math.compare_numeric import value_equal
from rewardsmith.rewards.math.evaluate import (
    EvalError,
    TooLarge,
    exact,
    free_symbols,
    has_decimal,
    numeric_mp,
)
from rewardsmith.rewards.math.nodes import BaseNum, Const, Func, Mul, Node, Num, Percent, walk
from rewardsmith.rewards.math.relations import rename_symbols
from rewardsmith.rewards.math.shapes import base_eq, has_non_scalar, infinity_sign

__all__ = ["PARAMETER_NAMES", "scalar"]

PARAMETER_NAMES: Final = frozenset({"k", "n", "m", "t", "j", "l"})
"""Names read as an integer parameter of a solution family (``\\pi/3 + 2k\\pi``) without a
declaration; any name declared with ``\\in \\mathbb{Z}`` is one too."""

_MIN_DIGITS: Final = 3
_MIN_DIGITS_MARKED: Final = 2


def scalar(ctx: Context, g: Node, a: Node, path: str) -> Outcome:
    """Two answers that are neither relations, collections nor text."""
    if isinstance(g, Percent) or isinstance(a, Percent):
        return _percent(ctx, g, a, path)
    if isinstance(g, BaseNum) or isinstance(a, BaseNum):
        return Decided(base_eq(g, a), path)
    if _is_degrees(g) != _is_degrees(a):
        deg, other = (g, a) if _is_degrees(g) else (a, g)
        assert isinstance(deg, Func)
        if _mentions_pi(other):
            # 90° against pi/2: the answer is in radians, convert the degrees
            radians = Mul((deg.args[0], Const("pi"), Num(Fraction(1, 180))))
            return ctx.eq(radians, other, path) if deg is g else ctx.eq(other, radians, path)
        if deg is g:
            return ctx.eq(deg.args[0], other, path)
        return ctx.eq(other, deg.args[0], path)
    gi, ai = infinity_sign(g), infinity_sign(a)
    if gi or ai:
        return Decided(gi == ai, "structural")
    if has_non_scalar(g) or has_non_scalar(a):
        # "-[0, 1)" or "2 * (1, 2)": arithmetic on a container is not a number
        return Decided(False, "structural")
    decimal = has_decimal(g) or has_decimal(a)
    value, both_rational = value_equal(ctx.tol, g, a, decimal)
    if not isinstance(value, Decided) or value.equal:
        return value
    if not both_rational and _same_family(ctx, g, a):
        return Decided(True, "parameter")
    if decimal and ctx.tol.approximate:
        if isinstance(g, Num) and g.places and _rounds_to(g, a):
            return Decided(True, "rounded_gold")
        if isinstance(a, Num) and a.places and _rounds_to(a, g):
            return Decided(True, "rounded_answer")
    return value


def _percent(ctx: Context, g: Node, a: Node, path: str) -> Outcome:
    if isinstance(g, Percent) and isinstance(a, Percent):
        return ctx.eq(g.arg, a.arg, path)
    pct, other = (g, a) if isinstance(g, Percent) else (a, g)
    assert isinstance(pct, Percent)
    if not ctx.tol.percent:
        return scalar(ctx, Mul((pct.arg, Num(Fraction(1, 100)))), other, path)
    if ctx.quiet_eq(pct.arg, other):
        return Decided(True, path)
    scaled = Mul((pct.arg, Num(Fraction(1, 100))))
    return ctx.eq(scaled, other, path) if pct is g else ctx.eq(other, scaled, path)


def _same_family(ctx: Context, g: Node, a: Node) -> bool:
    """``\\pi/3 + 2k\\pi`` vs ``\\pi/3 + 2t\\pi``: one integer parameter each, renamed.

    When the parameter is declared (``k \\in \\mathbb{Z}``) or the family is periodic
    in ``\\pi``, the two are compared as sets: ``c + s k`` equals ``c' + s' k`` when
    ``|s| = |s'|`` and ``(c' - c) / s`` is an integer (``7\\pi/3 + 2k\\pi`` is
    ``\\pi/3 + 2k\\pi``). Without either, only a renaming is accepted: ``2n - 1`` as a
    formula for the n-th term is not ``2n + 1``.
    """
    fg, fa = free_symbols(g), free_symbols(a)
    if len(fg) != 1 or len(fa) != 1:
        return False
    (p,), (q,) = fg, fa
    params = PARAMETER_NAMES | ctx.declared
    if p not in params or q not in params:
        return False
    as_set = bool({p, q} & ctx.declared) or (_mentions_pi(g) and _mentions_pi(a))
    if p != q and not as_set:
        return ctx.quiet_eq(g, rename_symbols(a, {q: p}))
    if not as_set:
        return False
    try:
        vg = [numeric_mp(g, {p: complex(i)}) for i in range(4)]
        va = [numeric_mp(a, {q: complex(i)}) for i in range(4)]
    except EvalError:
        return False
    sg, sa = vg[1] - vg[0], va[1] - va[0]
    tiny = 1e-25
    if abs(sg) < tiny or abs(abs(sg) - abs(sa)) > tiny * abs(sg):
        return False
    if any(
        abs(v[i + 1] - v[i] - s) > tiny * abs(s) for v, s in ((vg, sg), (va, sa)) for i in range(3)
    ):
        return False  # not affine in the parameter
    steps = (va[0] - vg[0]) / sg
    return bool(abs(steps.imag) < tiny and abs(steps.real - round(float(steps.real))) < 1e-20)


def _rounds_to(decimal: Num, other: Node) -> bool:
    """Whether ``other`` (an exact value: ``2\\sqrt{3}``, ``\\pi/4``, ``1/3``) rounds to
    ``decimal`` (``3.46``, ``0.79``) at the decimal's own number of places.

    The decimal needs at least 3 significant digits, or 2 when it is written as an
    approximation (``\\approx 0.79``): ``0.33`` may be exactly 33/100, and ``0.3`` does not
    state 1/3 (the same rule on either side). A rational with a terminating decimal
    expansion is never rounded: ``3/8`` is exactly ``0.375``, so a gold ``0.38`` means another
    number. Values with free variables are not compared this way.
    """
    places = decimal.places or 0
    if not 1 <= places <= 15 or isinstance(other, Num):
        return False  # a literal against a literal is compared as written
    if has_decimal(other) or free_symbols(other):
        return False
    scaled = abs(decimal.value) * 10**places
    if len(str(int(scaled)).lstrip("0")) < (_MIN_DIGITS_MARKED if decimal.approx else _MIN_DIGITS):
        return False
    half = Fraction(1, 2 * 10**places)
    try:
        value = exact(other)
    except TooLarge:
        return False
    if value is not None:
        denominator = value.denominator
        for prime in (2, 5):
            while denominator % prime == 0:
                denominator //= prime
        return denominator != 1 and abs(value - decimal.value) <= half
    try:
        precise = numeric_mp(other, {}, digits=30)
    except EvalError:
        return False
    # mpmath numbers (mpf and mpc) both have .real and .imag
    if abs(precise.imag) > 1e-25:
        return False
    ctx = precise.context
    target = precise.real - ctx.mpf(decimal.value.numerator) / decimal.value.denominator
    return bool(abs(target) <= ctx.mpf(half.numerator) / half.denominator * (1 + 1e-20))


def _is_degrees(node: Node) -> bool:
    return isinstance(node, Func) and node.name == "degrees"


def _mentions_pi(node: Node) -> bool:
    return any(n == Const("pi") for n in walk(node))

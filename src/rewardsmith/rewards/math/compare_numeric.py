"""Value agreement of two scalars, cheapest first: exact, floats, mpmath, sympy.

`value_equal` is the ladder: exact rational arithmetic (``Fraction``); else complex floats at
fixed pseudo-random points for the free variables, a screen that can prove "different";
then 40-digit mpmath to confirm an agreement (or when floats overflow, underflow or cancel);
then sympy, only when no point has a value on either side. Each rung names itself in the
returned path. Nothing here recurses into other comparers: it sees two expressions.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Final

from rewardsmith.rewards.math.compare_decision import Decided, Outcome, Tolerance, Undecided
from rewardsmith.rewards.math.evaluate import (
    EvalError,
    TooLarge,
    exact,
    free_symbols,
    numeric,
    numeric_mp,
)
from rewardsmith.rewards.math.nodes import Node
from rewardsmith.rewards.math.relations import rename_symbols
from rewardsmith.rewards.math.symbolic import sympy_equal

__all__ = ["points", "rename_for", "rounded_eq", "value_equal"]

_SCREEN_TOL: Final = 1e-9
"""Relative difference beyond which float values are certainly different."""
_POINT_COUNT: Final = 4
_RNG_SEED: Final = 20240611


def value_equal(tol: Tolerance, g: Node, a: Node, decimal: bool) -> tuple[Outcome, bool]:
    """Whether two scalars have the same value, and whether both were exact rationals (then
    there are no free variables, so no parameter family to compare: the caller skips it)."""
    too_large = False
    try:
        eg, ea = exact(g), exact(a)
    except TooLarge:
        eg = ea = None
        too_large = True
    if eg is not None and ea is not None:
        if eg == ea:
            return Decided(True, "exact"), True
        if decimal:
            return Decided(rounded_eq(tol, eg, ea), "rounded"), True
        return Decided(False, "exact"), True
    return _float_screen(tol, g, a, decimal, too_large), False


def rounded_eq(tol: Tolerance, x: Fraction | complex, y: Fraction | complex) -> bool:
    """Equal at ``precision`` decimals, or within ``rel_tol``.

    Example:
        >>> rounded_eq(Tolerance(), Fraction(1, 3), Fraction(333333, 1000000))
        True
    """
    p = tol.precision
    if isinstance(x, Fraction) and isinstance(y, Fraction):
        scale = 10**p
        if round(x * scale) == round(y * scale):
            return True
        return abs(x - y) <= Fraction(tol.rel_tol) * max(abs(x), abs(y))
    x, y = complex(x), complex(y)
    if abs(x.imag) > 1e-12 or abs(y.imag) > 1e-12:
        return abs(x - y) <= 10.0**-p * max(1.0, abs(x))
    if round(x.real, p) == round(y.real, p):
        return True
    return abs(x - y) <= max(tol.rel_tol * max(abs(x), abs(y)), 10.0**-p / 2 * 1.000001)


def rename_for(tol: Tolerance, g: Node, a: Node) -> dict[str, str]:
    """With ``strict=False``, the answer's variables are renamed to the gold's (f(x) = f(y))."""
    if tol.strict:
        return {}
    gs, as_ = sorted(free_symbols(g)), sorted(free_symbols(a))
    if len(gs) != len(as_) or gs == as_:
        return {}
    return dict(zip(as_, gs, strict=True))


def points(names: list[str]) -> list[dict[str, complex]]:
    """Fixed pseudo-random real points in [0.4, 2.4] (positive: roots and logs stay real)."""
    if not names:
        return [{}]
    rng = random.Random(_RNG_SEED + len(names))
    return [{name: complex(0.4 + 2 * rng.random()) for name in names} for _ in range(_POINT_COUNT)]


def _float_screen(tol: Tolerance, g: Node, a: Node, decimal: bool, too_large: bool) -> Outcome:
    rename = rename_for(tol, g, a)
    if rename:
        a = rename_symbols(a, rename)
    names = sorted(free_symbols(g) | free_symbols(a))
    checked = 0
    needs_mp = too_large
    for env in points(names):
        try:
            vg, va = numeric(g, env), numeric(a, env)
        except TooLarge:
            needs_mp = True
            break
        except EvalError:
            continue
        if decimal:
            if not rounded_eq(tol, vg, va):
                return Decided(False, "numeric")
        else:
            scale = max(abs(vg), abs(va))
            if scale < 1e-9:
                needs_mp = True  # cancellation or genuinely tiny values: floats cannot tell
                break
            if abs(vg - va) > (tol.rel_tol or _SCREEN_TOL) * scale:
                return Decided(False, "numeric")
        checked += 1
        if not names:
            break
    if needs_mp:
        return _confirm_mp(tol, g, a, names, decimal, too_large)
    if checked:
        if not decimal and not tol.rel_tol:
            # Floats agree to ~9 digits; equality is confirmed at 40 digits, so that
            # sqrt(x^2+1) + 10^9 is not sqrt(x^2+1) + 10^9 + 1.
            return _confirm_mp(tol, g, a, names, decimal=False)
        return Decided(True, "numeric")
    return _symbolic(tol, g, a, "numeric")


def _confirm_mp(
    tol: Tolerance, g: Node, a: Node, names: list[str], decimal: bool, too_large: bool = False
) -> Outcome:
    checked = 0
    for env in points(names):
        try:
            vg, va = numeric_mp(g, env), numeric_mp(a, env)
        except TooLarge as exc:
            return Undecided(str(exc))
        except EvalError:
            continue
        diff, scale = abs(vg - va), max(abs(vg), abs(va))
        if decimal:
            if diff > 10.0**-tol.precision / 2 * 1.000001 and diff > tol.rel_tol * scale:
                return Decided(False, "numeric_mp")
        elif diff > scale * 1e-30 and diff > 1e-35:
            return Decided(False, "numeric_mp")
        checked += 1
        if not names:
            break
    if checked:
        if too_large and not decimal:
            # Agreeing to 30 digits is not equality for numbers with millions of digits
            # (10^{10^{10}} vs 10^{10^{10}} + 1): different is provable, equal is not.
            return Undecided("values too large to compare exactly agree to 30 digits")
        return Decided(True, "numeric_mp")
    return _symbolic(tol, g, a, "numeric_mp")


def _symbolic(tol: Tolerance, g: Node, a: Node, path: str) -> Outcome:
    """The last rung; without sympy the rung below (``path``) reports "not equal"."""
    if not tol.use_sympy:
        return Decided(False, path)
    verdict = sympy_equal(g, a)
    if verdict is None:
        return Undecided("no numeric value and sympy could not decide")
    return Decided(verdict, "sympy")

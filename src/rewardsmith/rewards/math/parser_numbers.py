"""Number literals as exact values: decimals keep their places, ``1.5e3`` is scaled exactly.

A `Num` records how many decimal places were written (``places``), because ``0.50`` and
``1/2`` compare differently (a decimal may be a rounded value); an integer has none.
"""

from __future__ import annotations

from fractions import Fraction

from rewardsmith.rewards.math.nodes import Mul, Node, Num, Pow

__all__ = ["is_mixed_number", "negate", "number", "scientific"]


def number(text: str) -> Num:
    """``"12"`` or ``"0.50"`` (digits with at most one point) as an exact value.

    Example:
        >>> number("0.50")
        Num(value=Fraction(1, 2), places=2, approx=False)
    """
    if "." in text:
        whole, _, frac = text.partition(".")
        return Num(
            Fraction(int(whole or "0") * 10 ** len(frac) + int(frac or "0"), 10 ** len(frac)),
            len(frac),
        )
    return Num(Fraction(int(text)))


def scientific(text: str) -> Num:
    """``"1.5e3"``: exact; places are kept only where the scaled value still has decimals.

    Example:
        >>> scientific("1.5e3").value, scientific("1.5e3").places
        (Fraction(1500, 1), 0)
    """
    mantissa, _, exponent = text.lower().partition("e")
    base = number(mantissa)
    scaled = base.value * Fraction(10) ** int(exponent)
    return Num(
        scaled,
        None
        if scaled.denominator == 1 and base.places is None
        else max(0, (base.places or 0) - int(exponent)),
    )


def negate(node: Node) -> Node:
    """``-node``: a literal keeps its places, anything else is multiplied by -1."""
    if isinstance(node, Num):
        return Num(-node.value, node.places)
    return Mul((Num(Fraction(-1)), node))


def is_mixed_number(whole: Node, frac: Node) -> bool:
    """An integer literal followed by a fraction of integer literals: ``2\\frac{1}{3}``."""
    if not (isinstance(whole, Num) and whole.places is None and whole.value.denominator == 1):
        return False
    if not (isinstance(frac, Mul) and len(frac.factors) == 2):
        return False
    num, den = frac.factors
    return (
        isinstance(num, Num)
        and num.places is None
        and num.value > 0
        and isinstance(den, Pow)
        and isinstance(den.base, Num)
        and den.base.places is None
        and den.exp == Num(Fraction(-1))
        and den.base.value > num.value
    )

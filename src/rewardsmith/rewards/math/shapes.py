"""Containers and special values: plus-minus sets, intervals, infinities, matrices, bases.

Helpers for `compare` that turn one written shape into another it may be compared with: a
``(a, b)`` pair into an open interval, ``a \\pm b`` into a set, a sum or product of matrices
into one matrix of expressions, a column vector into a tuple.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from typing import Final

from rewardsmith.rewards.math.evaluate import TooLarge, exact, has_decimal
from rewardsmith.rewards.math.nodes import (
    Add,
    BaseNum,
    Const,
    Interval,
    Matrix,
    Mul,
    Node,
    Num,
    Percent,
    PlusMinus,
    Rel,
    Seq,
    Text,
    Union,
    walk,
)

__all__ = [
    "as_interval",
    "as_matrix",
    "base_eq",
    "exact_set",
    "expand_nested_pm",
    "flatten_pm",
    "has_non_scalar",
    "infinity_sign",
    "is_collection",
    "is_set_like",
    "matrix_value",
    "pm_to_set",
]

_MINUS_ONE: Final = Num(Fraction(-1))


def exact_set(items: tuple[Node, ...]) -> frozenset[Fraction] | None:
    """The items as a set of rationals when every one is an exact, decimal-free number."""
    values = set()
    for item in items:
        if isinstance(item, Num) and item.places is None:
            values.add(item.value)
            continue
        if has_non_scalar(item) or has_decimal(item) or isinstance(item, Percent | BaseNum):
            return None
        try:
            value = exact(item)
        except TooLarge:
            return None
        if value is None:
            return None
        values.add(value)
    return frozenset(values)


def has_non_scalar(node: Node) -> bool:
    """Whether a container, relation or text sits anywhere in the tree."""
    return any(
        isinstance(n, Seq | Interval | Union | Matrix | Rel | Text | PlusMinus) for n in walk(node)
    )


def is_collection(node: Node) -> bool:
    return isinstance(node, Seq | Interval | Union | PlusMinus | Matrix)


def is_set_like(node: Node) -> bool:
    return isinstance(node, Interval | Union) or (
        isinstance(node, Seq) and node.kind in ("set", "tuple") and len(node.items) == 2
    )


_MAX_PM: Final = 3
"""Most ``±`` signs expanded inside one scalar (2^3 = 8 values)."""


def expand_nested_pm(node: Node) -> Node:
    """A scalar with ``±`` inside it, ``\\frac{-1 \\pm \\sqrt{5}}{2}``, as the set of its values.

    Returns the node unchanged when it has no ``±`` below the top (a top-level ``a ± b`` is
    handled by `pm_to_set`) or more than three of them.
    """
    if isinstance(node, PlusMinus | Seq | Interval | Union | Matrix | Rel | Text):
        return node
    values = [node]
    for _ in range(_MAX_PM):
        expanded: list[Node] = []
        for value in values:
            found = _first_pm(value)
            if found is None:
                expanded.append(value)
                continue
            expanded.extend(_replace(value, found, option) for option in flatten_pm(found))
        if expanded == values:
            break
        values = expanded
    if len(values) == 1 or any(_first_pm(v) is not None for v in values):
        return node
    return Seq("set", tuple(values))


def _first_pm(node: Node) -> PlusMinus | None:
    return next((n for n in walk(node) if isinstance(n, PlusMinus)), None)


def _replace(node: Node, target: Node, replacement: Node) -> Node:
    """``node`` with the subtree ``target`` (by identity) replaced."""
    if node is target:
        return replacement
    changes: dict[str, object] = {}
    slots: tuple[str, ...] = getattr(type(node), "__slots__", ())
    for slot in slots:
        value = getattr(node, slot)
        if isinstance(value, Node):
            new = _replace(value, target, replacement)
            if new is not value:
                changes[slot] = new
        elif isinstance(value, tuple) and any(isinstance(v, Node) for v in value):
            new_items = tuple(
                _replace(v, target, replacement) if isinstance(v, Node) else v for v in value
            )
            if any(a is not b for a, b in zip(new_items, value, strict=True)):
                changes[slot] = new_items
    return dataclasses.replace(node, **changes) if changes else node


def pm_to_set(node: Node) -> Node:
    if isinstance(node, PlusMinus):
        return Seq("set", tuple(flatten_pm(node)))
    return node


def flatten_pm(node: Node) -> list[Node]:
    if not isinstance(node, PlusMinus):
        return [node]
    b = node.b
    neg_b = Mul((_MINUS_ONE, b))
    if node.a is None:
        return [b, neg_b]
    return [Add((node.a, b)), Add((node.a, neg_b))]


def as_interval(node: Node) -> Interval | None:
    if isinstance(node, Interval):
        return node
    if isinstance(node, Seq) and node.kind == "tuple" and len(node.items) == 2:
        return Interval(node.items[0], node.items[1], False, False)
    return None


def infinity_sign(node: Node) -> int:
    if isinstance(node, Const) and node.name == "inf":
        return 1
    if isinstance(node, Mul) and len(node.factors) == 2 and node.factors[0] == _MINUS_ONE:
        return -infinity_sign(node.factors[1])
    return 0


def base_eq(g: Node, a: Node) -> bool:
    if isinstance(g, BaseNum) and isinstance(a, BaseNum):
        try:
            return g.base == a.base and int(g.digits, g.base) == int(a.digits, a.base)
        except ValueError:
            return g == a
    base, other = (g, a) if isinstance(g, BaseNum) else (a, g)
    assert isinstance(base, BaseNum)
    # "204" for "204_5": the subscript was dropped, the digits are the answer.
    return isinstance(other, Num) and other.places is None and str(other.value) == base.digits


def as_matrix(node: Node) -> tuple[tuple[Node, ...], ...] | None:
    if isinstance(node, Matrix):
        rows = node.rows
        if len(rows[0]) == 1:  # a column vector reads like a tuple
            return tuple((r[0],) for r in rows)
        return rows
    if isinstance(node, Seq) and node.kind in ("tuple", "list"):
        return tuple((item,) for item in node.items)
    return None


def matrix_value(node: Node) -> Matrix | None:
    """Sums and products of matrices (``A + B``, ``2A``, ``AB``) as one matrix of expressions."""
    if isinstance(node, Matrix):
        return node
    if isinstance(node, Add):
        mats = [matrix_value(t) for t in node.terms]
        if any(m is None for m in mats):
            return None
        first = mats[0]
        assert first is not None
        shape = (len(first.rows), len(first.rows[0]))
        if any(m is None or (len(m.rows), len(m.rows[0])) != shape for m in mats):
            return None
        return Matrix(
            tuple(
                tuple(
                    Add(tuple(m.rows[r][c] for m in mats if m is not None)) for c in range(shape[1])
                )
                for r in range(shape[0])
            )
        )
    if isinstance(node, Mul):
        result: Matrix | None = None
        scalars: list[Node] = []
        for factor in node.factors:
            if isinstance(factor, Matrix):
                if result is None:
                    result = factor
                else:
                    if len(result.rows[0]) != len(factor.rows):
                        return None
                    result = Matrix(
                        tuple(
                            tuple(
                                Add(
                                    tuple(Mul((row[k], factor.rows[k][c])) for k in range(len(row)))
                                )
                                for c in range(len(factor.rows[0]))
                            )
                            for row in result.rows
                        )
                    )
            elif is_collection(factor) or isinstance(factor, Rel | Text):
                return None
            else:
                scalars.append(factor)
        if result is None:
            return None
        if scalars:
            return Matrix(
                tuple(tuple(Mul((*scalars, cell)) for cell in row) for row in result.rows)
            )
        return result
    return None

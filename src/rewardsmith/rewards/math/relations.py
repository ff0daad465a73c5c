"""Relations between answers: assignments, equations, inequalities and the sets they describe.

Helpers for `compare`: which left sides are names being assigned (``x``, ``f(x)``, ``|AB|``),
how a chain ``x = 5+5+1 = 11`` reduces to what it states, how an inequality in one unknown
becomes an interval, and how a list of assignments becomes the values it assigns.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from rewardsmith.rewards.math.evaluate import exact, free_symbols
from rewardsmith.rewards.math.nodes import (
    Add,
    Apply,
    Const,
    Func,
    Interval,
    Matrix,
    Mul,
    Node,
    Num,
    Pow,
    Rel,
    Seq,
    Sym,
    Text,
    Union,
)

__all__ = [
    "INEQUALITIES",
    "as_zero_form",
    "assignment_values",
    "bound_variables",
    "collapse_chain",
    "is_constant",
    "is_target",
    "relation_to_set",
    "rename_symbols",
    "unwrap_in",
]

_MINUS_ONE: Final = Num(Fraction(-1))


# -- helpers ----------------------------------------------------------------------------------

INEQUALITIES: Final = frozenset({"<", "<=", ">", ">="})


def is_target(node: Node) -> bool:
    """A name being assigned: ``x``, ``a_1``, ``f(x)``, ``|AB|``, ``(p, q)``, ``A:B``, ``NO/BO``."""
    if isinstance(node, Sym | Apply):
        return True
    if isinstance(node, Func) and node.name == "abs":
        return is_target(node.args[0])
    if isinstance(node, Seq):
        return all(is_target(i) for i in node.items)
    if isinstance(node, Mul):
        return all(
            is_target(f) or (isinstance(f, Pow) and f.exp == _MINUS_ONE and is_target(f.base))
            for f in node.factors
        )
    return False


def bound_variables(g: Node, a: Node) -> dict[str, str]:
    """For ``f(x) = ...`` against ``f(t) = ...``: the renaming ``t -> x`` of the arguments."""
    if not (isinstance(g, Apply) and isinstance(a, Apply)):
        return {}
    if g.name != a.name or len(g.args) != len(a.args):
        return {}
    if not all(isinstance(x, Sym) for x in (*g.args, *a.args)):
        return {}
    mapping = {
        y.name: x.name
        for x, y in zip(g.args, a.args, strict=True)
        if isinstance(x, Sym) and isinstance(y, Sym)
    }
    return mapping if len(set(mapping.values())) == len(mapping) else {}


def collapse_chain(node: Node) -> Node:
    """Reduce a chain of equalities to what it states.

    ``x = 5+5+1 = 7 = 11`` is the assignment ``x = 11`` (first and last parts);
    ``x = 1/3 \\approx 0.33`` states ``x = 1/3`` (an approximation after an exact value is
    a gloss); ``x \\approx 11`` alone states ``x = 11``; ``1 = \\zzz = x = 0`` ends in 0.
    """
    if not isinstance(node, Rel):
        return node
    parts, ops = node.parts, node.ops
    if "~" in ops:
        cut = ops.index("~")
        if cut == 0:
            ops = ("=", *ops[1:])
            stated = parts[1]
            if isinstance(stated, Num) and stated.places:
                # x \approx 0.79 states a rounded value
                parts = (parts[0], Num(stated.value, stated.places, True), *parts[2:])
        else:
            parts, ops = parts[: cut + 1], ops[:cut]
    if len(ops) >= 2 and all(op == "=" for op in ops):
        first = next((p for p in parts[:-1] if is_target(p)), parts[0])
        return Rel((first, parts[-1]), ("=",))
    if len(parts) == 1:
        return parts[0]
    return Rel(parts, ops)


def unwrap_in(node: Node) -> Node:
    """``x \\in S`` is ``S``."""
    if isinstance(node, Rel) and node.ops == ("in",) and is_target(node.parts[0]):
        return node.parts[1]
    return node


def as_zero_form(rel: Rel) -> tuple[Node | None, str]:
    left, right = rel.parts
    op = rel.ops[0]
    if isinstance(left, Seq | Interval | Union | Matrix | Text) or isinstance(
        right, Seq | Interval | Union | Matrix | Text
    ):
        return None, op
    if op in (">", ">="):
        left, right = right, left
        op = "<" if op == ">" else "<="
    return Add((left, Mul((_MINUS_ONE, right)))), op


def assignment_values(seq: Seq) -> Node | None:
    """A list of assignments as the values it assigns.

    ``a = 1, b = 2`` is the tuple ``(1, 2)``; ``p=5, q=2, p=7, q=2`` (names repeating in the
    same order) is the list of tuples ``(5, 2), (7, 2)``; ``x = 1, x = 2`` is the list ``1, 2``.
    """
    if seq.kind != "list" or not all(
        isinstance(i, Rel) and i.ops == ("=",) and isinstance(i.parts[0], Sym) for i in seq.items
    ):
        return None
    names = [
        i.parts[0].name for i in seq.items if isinstance(i, Rel) and isinstance(i.parts[0], Sym)
    ]
    values = [i.parts[1] for i in seq.items if isinstance(i, Rel)]
    width = len(dict.fromkeys(names))
    if len(names) % width or any(names[k] != names[k % width] for k in range(len(names))):
        return None
    if width == 1:
        return Seq("list", tuple(values))
    rows = [Seq("tuple", tuple(values[k : k + width])) for k in range(0, len(values), width)]
    return rows[0] if len(rows) == 1 else Seq("list", tuple(rows))


def is_constant(node: Node) -> bool:
    return not free_symbols(node)


def relation_to_set(rel: Rel) -> Node | None:
    """The interval (or union) an inequality in one unknown describes, when it is explicit."""
    parts, ops = rel.parts, rel.ops
    if len(ops) == 1 and ops[0] in INEQUALITIES:
        left, right = parts
        op = ops[0]
        if is_constant(left) and not is_constant(right):
            left, right = right, left
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
        if not is_constant(right) or is_constant(left):
            return None
        inf = Const("inf")
        if op in ("<", "<="):
            return Interval(Mul((_MINUS_ONE, inf)), right, False, op == "<=")
        return Interval(right, inf, op == ">=", False)
    if len(ops) == 1 and ops[0] == "!=":
        left, right = parts
        if is_constant(right) and not is_constant(left):
            inf = Const("inf")
            return Union(
                (
                    Interval(Mul((_MINUS_ONE, inf)), right, False, False),
                    Interval(right, inf, False, False),
                )
            )
        return None
    if len(ops) == 2 and (
        all(op in ("<", "<=") for op in ops) or all(op in (">", ">=") for op in ops)
    ):
        lo, mid, hi = parts
        if not (is_constant(lo) and is_constant(hi)) or is_constant(mid):
            return None
        if ops[0] in (">", ">="):
            lo, hi = hi, lo
            ops = tuple({">": "<", ">=": "<="}[op] for op in reversed(ops))
        interval = Interval(lo, hi, ops[0] == "<=", ops[1] == "<=")
        if isinstance(mid, Func) and mid.name == "abs" and (exact(lo) or 0) >= 0:
            # lo <= |z| <= hi is two intervals: [-hi, -lo] and [lo, hi]
            mirrored = Interval(
                Mul((_MINUS_ONE, hi)), Mul((_MINUS_ONE, lo)), ops[1] == "<=", ops[0] == "<="
            )
            return Union((mirrored, interval))
        return interval
    return None


def rename_symbols(node: Node, mapping: dict[str, str]) -> Node:
    if isinstance(node, Sym):
        return Sym(mapping.get(node.name, node.name))
    if isinstance(node, Add):
        return Add(tuple(rename_symbols(t, mapping) for t in node.terms))
    if isinstance(node, Mul):
        return Mul(tuple(rename_symbols(t, mapping) for t in node.factors))
    if isinstance(node, Pow):
        return Pow(rename_symbols(node.base, mapping), rename_symbols(node.exp, mapping))
    if isinstance(node, Func):
        return Func(node.name, tuple(rename_symbols(t, mapping) for t in node.args))
    if isinstance(node, Apply):
        return Apply(node.name, tuple(rename_symbols(t, mapping) for t in node.args))
    return node

"""Answers with several parts: tuples, sets, lists, ratios, intervals, unions and matrices.

A tuple is ordered; a set or bare list is unordered with duplicates ignored (``a ± b`` is the
set ``{a+b, a-b}``); a ratio ``2:4`` is ``1:2`` and ``7:3`` against a number is ``7/3``;
intervals match endpoint by endpoint with the same closedness; a union matches part by part
in any order; matrices match cell by cell. Unordered matching is quadratic, so collections
past `MAX_ITEMS` are not compared element by element.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from rewardsmith.rewards.math.compare_decision import (
    Context,
    Decided,
    Outcome,
    Undecided,
    all_equal,
    settled,
)
from rewardsmith.rewards.math.evaluate import TooLarge, exact, free_symbols
from rewardsmith.rewards.math.nodes import Interval, Mul, Node, Num, Pow, Rel, Seq, Union
from rewardsmith.rewards.math.relations import INEQUALITIES, assignment_values, relation_to_set
from rewardsmith.rewards.math.shapes import (
    as_interval,
    as_matrix,
    exact_set,
    flatten_pm,
    has_non_scalar,
    infinity_sign,
    pm_to_set,
)

__all__ = ["MAX_ITEMS", "collection", "matrix"]

MAX_ITEMS: Final = 128
"""Largest collection compared element by element (matching is quadratic)."""

_MINUS_ONE: Final = Num(Fraction(-1))


def collection(ctx: Context, g: Node, a: Node) -> Outcome:
    """Either side is a collection (`Seq`, `Interval`, `Union`, ``±``)."""
    path = "collection"
    g, a = pm_to_set(g), pm_to_set(a)
    if isinstance(g, Interval | Union) and ctx.tol.relation_as_set:
        a = _relations_as_union(a) or a  # "x < 1 or x > 2" for (-inf, 1) u (2, inf)
    elif isinstance(a, Interval | Union):
        g = _relations_as_union(g) or g
    if isinstance(g, Interval) or isinstance(a, Interval):
        gi, ai = as_interval(g), as_interval(a)
        if gi is None or ai is None:
            if isinstance(g, Union) or isinstance(a, Union):
                return _union(ctx, g, a, path)
            return Decided(False, path)
        return _interval(ctx, gi, ai, path)
    if isinstance(g, Union) or isinstance(a, Union):
        return _union(ctx, g, a, path)
    g_seq, a_seq = isinstance(g, Seq), isinstance(a, Seq)
    if g_seq and a_seq:
        assert isinstance(g, Seq) and isinstance(a, Seq)
        return _seq(ctx, g, a, path)
    seq, other = (g, a) if g_seq else (a, g)
    assert isinstance(seq, Seq)
    if seq.kind == "ratio" and len(seq.items) == 2 and not has_non_scalar(other):
        # 7:3 states the number 7/3 (a ratio question answered with a fraction)
        if _zero_or_unknown(seq.items[0]) or _zero_or_unknown(seq.items[1]):
            return Decided(False, path)
        quotient = Mul((seq.items[0], Pow(seq.items[1], _MINUS_ONE)))
        same = ctx.eq(quotient, other, path) if g_seq else ctx.eq(other, quotient, path)
        return Decided(same.equal, "ratio") if isinstance(same, Decided) else same
    if len(seq.items) == 1 and seq.kind in ("set", "list"):
        if g_seq:
            return ctx.eq(seq.items[0], other, path)
        return ctx.eq(other, seq.items[0], path)
    if len(seq.items) > MAX_ITEMS:
        return Decided(False, path)  # many values are not one value
    if seq.kind in ("set", "list") and len(seq.items) > 1:
        # {3, 3} written as a set is one value
        distinct = _distinct(ctx, seq.items)
        if len(distinct) == 1:
            if g_seq:
                return ctx.eq(distinct[0], other, path)
            return ctx.eq(other, distinct[0], path)
    return Decided(False, path)


def matrix(ctx: Context, g: Node, a: Node) -> Outcome:
    """Either side is a matrix (or a vector read as one): same shape, cell by cell."""
    path = "matrix"
    gm, am = as_matrix(g), as_matrix(a)
    if gm is None or am is None:
        return Decided(False, path)
    if len(gm) != len(am) or len(gm[0]) != len(am[0]):
        return Decided(False, path)
    cells = ((x, y) for gr, ar in zip(gm, am, strict=True) for x, y in zip(gr, ar, strict=True))
    return all_equal(ctx, cells, path)


def _seq(ctx: Context, g: Seq, a: Seq, path: str) -> Outcome:
    if len(g.items) > MAX_ITEMS or len(a.items) > MAX_ITEMS:
        return Undecided("collection too large to compare")
    g_assign, a_assign = assignment_values(g), assignment_values(a)
    if (g_assign is None) != (a_assign is None):
        # "p=5, q=2; p=7, q=2" against "(5, 2), (7, 2)": compare the values assigned
        g_values: Node = g_assign or g
        a_values: Node = a_assign or a
        if not isinstance(g_values, Seq) or not isinstance(a_values, Seq):
            return ctx.eq(g_values, a_values, path)
        g, a = g_values, a_values
    kinds = {g.kind, a.kind}
    if kinds == {"ratio"}:
        return _ratios(ctx, g, a, path)
    if "ratio" in kinds:
        return Decided(False, path)
    if "tuple" in kinds:
        if len(g.items) != len(a.items) or kinds == {"tuple", "set"}:
            return Decided(False, path)
        return all_equal(ctx, zip(g.items, a.items, strict=True), path)
    # set/list against set/list: unordered, duplicates ignored
    fast = exact_set(g.items), exact_set(a.items)
    if fast[0] is not None and fast[1] is not None:
        return Decided(fast[0] == fast[1], "exact")
    gd, ad = _distinct(ctx, g.items), _distinct(ctx, a.items)
    if len(gd) != len(ad):
        return Decided(False, path)
    return Decided(_match_all(ctx, gd, ad), path)


def _ratios(ctx: Context, g: Seq, a: Seq, path: str) -> Outcome:
    if len(g.items) != len(a.items):
        return Decided(False, path)
    termwise = all_equal(ctx, zip(g.items, a.items, strict=True), path)
    if settled(termwise):
        return termwise
    assert isinstance(termwise, Decided)
    if any(_zero_or_unknown(x) for x in (*g.items, *a.items)):
        return termwise
    # 2:4 is the ratio 1:2 and 2:4:6 is 1:2:3 (each term times the other's first);
    # but 12:00 is not 1:00 (zeros are not ratios)
    cross = (
        (Mul((gi, a.items[0])), Mul((ai, g.items[0])))
        for gi, ai in zip(g.items[1:], a.items[1:], strict=True)
    )
    same = all_equal(ctx, cross, termwise.path)
    return Decided(same.equal, "ratio") if isinstance(same, Decided) else same


def _distinct(ctx: Context, items: tuple[Node, ...]) -> list[Node]:
    out: list[Node] = []
    for item in items:
        for other in flatten_pm(item):
            if not any(other == seen or ctx.quiet_eq(other, seen) for seen in out):
                out.append(other)
    return out


def _match_all(ctx: Context, gs: list[Node], as_: list[Node]) -> bool:
    """Each of ``gs`` equals a different one of ``as_`` (greedy, first match)."""
    used = [False] * len(as_)
    for x in gs:
        for j, y in enumerate(as_):
            if not used[j] and ctx.quiet_eq(x, y):
                used[j] = True
                break
        else:
            return False
    return True


def _union(ctx: Context, g: Node, a: Node, path: str) -> Decided:
    gi = list(g.items) if isinstance(g, Union) else [g]
    ai = list(a.items) if isinstance(a, Union) else [a]
    if len(gi) != len(ai):
        return Decided(False, path)
    return Decided(_match_all(ctx, gi, ai), path)


def _interval(ctx: Context, g: Interval, a: Interval, path: str) -> Outcome:
    if (g.lo_closed, g.hi_closed) != (a.lo_closed, a.hi_closed):
        return Decided(False, path)
    lo = _endpoint(ctx, g.lo, a.lo, path)
    if not isinstance(lo, Decided) or not lo.equal:
        return lo
    return _endpoint(ctx, g.hi, a.hi, lo.path)


def _endpoint(ctx: Context, g: Node, a: Node, path: str) -> Outcome:
    gi, ai = infinity_sign(g), infinity_sign(a)
    if gi or ai:
        return Decided(gi == ai, path)
    return ctx.eq(g, a, path)


def _relations_as_union(node: Node) -> Node | None:
    """A list of inequalities in one unknown (``x < 1, x > 2``: "or" and "and" both read as
    commas) as the union of the sets they describe, or None."""
    if not (isinstance(node, Seq) and node.kind == "list" and len(node.items) <= MAX_ITEMS):
        return None
    sets: list[Node] = []
    names: set[str] = set()
    for item in node.items:
        if not isinstance(item, Rel) or not set(item.ops) <= INEQUALITIES | {"!="}:
            return None
        described = relation_to_set(item)
        if described is None:
            return None
        names |= free_symbols(item)
        sets.extend(described.items if isinstance(described, Union) else (described,))
    if len(names) != 1:
        return None
    return Union(tuple(sets))


def _zero_or_unknown(node: Node) -> bool:
    try:
        return exact(node) in (None, 0)
    except TooLarge:
        return True

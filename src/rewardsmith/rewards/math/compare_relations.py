"""Relations: equations, inequalities and chains, against each other or against a value.

``x = 5`` states 5 when its left side is a name (an assignment) or both sides are constants;
an inequality in one unknown states the set it describes (``1 < x < 3`` is ``(1, 3)``); two
equations or two inequalities are the same when ``L1 - R1`` is a constant multiple of
``L2 - R2`` (a positive one for inequalities), checked at sample points.
"""

from __future__ import annotations

from rewardsmith.rewards.math.compare_decision import Context, Decided, Outcome, all_equal
from rewardsmith.rewards.math.compare_numeric import points, rename_for
from rewardsmith.rewards.math.evaluate import EvalError, free_symbols, numeric
from rewardsmith.rewards.math.nodes import Apply, Node, Rel, Seq, Sym
from rewardsmith.rewards.math.relations import (
    INEQUALITIES,
    as_zero_form,
    bound_variables,
    collapse_chain,
    is_constant,
    is_target,
    relation_to_set,
    rename_symbols,
    unwrap_in,
)
from rewardsmith.rewards.math.shapes import infinity_sign, is_set_like

__all__ = ["relation"]


def relation(ctx: Context, g: Node, a: Node) -> Outcome:
    """Either side is a relation (`Rel`)."""
    path = "relation"
    g, a = unwrap_in(collapse_chain(g)), unwrap_in(collapse_chain(a))
    g_rel, a_rel = isinstance(g, Rel), isinstance(a, Rel)
    if g_rel and a_rel:
        assert isinstance(g, Rel) and isinstance(a, Rel)
        return _rel_rel(ctx, g, a, path)
    if not g_rel and not a_rel:
        return ctx.eq(g, a, path)
    rel, other = (g, a) if g_rel else (a, g)
    assert isinstance(rel, Rel)
    if rel.ops == ("=",) and (
        is_target(rel.parts[0]) or (is_constant(rel.parts[0]) and is_constant(rel.parts[1]))
    ):
        # "x = 5" and "2 + 3 = 5" both state 5; "2x + z = 1" states an equation, not 1.
        return ctx.eq(rel.parts[1], other, path) if g_rel else ctx.eq(other, rel.parts[1], path)
    if is_set_like(other):
        if not g_rel and not ctx.tol.relation_as_set:
            # the question asked for a set; a relation is another format
            return Decided(False, path)
        if (
            not g_rel
            and isinstance(other, Seq)
            and other.kind == "tuple"
            and not any(infinity_sign(item) for item in other.items)
        ):
            # a gold (1, 3) may be a point: 1 < x < 3 does not state it
            return Decided(False, path)
        as_set = relation_to_set(rel)
        if as_set is None:
            return Decided(False, path)
        return ctx.eq(as_set, other, path) if g_rel else ctx.eq(other, as_set, path)
    return Decided(False, path)


def _rel_rel(ctx: Context, g: Rel, a: Rel, path: str) -> Outcome:
    if len(g.ops) == 1 and len(a.ops) == 1:
        go, ao = g.ops[0], a.ops[0]
        if go == "=" and ao == "=":
            if is_target(g.parts[0]) and is_target(a.parts[0]):
                if g.parts[0] == a.parts[0]:
                    return ctx.eq(g.parts[1], a.parts[1], path)
                bound = bound_variables(g.parts[0], a.parts[0])
                leaked = set(bound.values()) - set(bound) & free_symbols(a.parts[1])
                if bound and not leaked:
                    # f(t) = 2t states the same function as f(x) = 2x
                    return ctx.eq(g.parts[1], rename_symbols(a.parts[1], bound), path)
                if (
                    Sym("y") in (g.parts[0], a.parts[0])
                    and _graph_name(g.parts[0], g.parts[1])
                    and _graph_name(a.parts[0], a.parts[1])
                ):
                    # y = 2x + 1 and f(x) = 2x + 1 state the same function of x
                    return ctx.eq(g.parts[1], a.parts[1], path)
            return _proportional(ctx, g, a, False, path)
        if go in INEQUALITIES and ao in INEQUALITIES:
            return _proportional(ctx, g, a, True, path)
        if go == "!=" and ao == "!=":
            return _proportional(ctx, g, a, False, path)
        return Decided(False, path)
    gs, as_ = relation_to_set(g), relation_to_set(a)
    if gs is not None and as_ is not None:
        return ctx.eq(gs, as_, path)
    if g.ops != a.ops or len(g.parts) != len(a.parts):
        return Decided(False, path)
    return all_equal(ctx, zip(g.parts, a.parts, strict=True), path)


def _proportional(ctx: Context, g: Rel, a: Rel, sign_matters: bool, path: str) -> Decided:
    """``L1 op R1`` vs ``L2 op R2``: is ``L1-R1`` a constant multiple of ``L2-R2``?"""
    fg, og = as_zero_form(g)
    fa, oa = as_zero_form(a)
    if fg is None or fa is None:
        return Decided(False, path)
    if sign_matters and og != oa:
        return Decided(False, path)
    rename = rename_for(ctx.tol, fg, fa)
    if rename:
        fa = rename_symbols(fa, rename)
    names = sorted(free_symbols(fg) | free_symbols(fa))
    ratio: complex | None = None
    checked = 0
    for env in points(names):
        try:
            vg, va = numeric(fg, env), numeric(fa, env)
        except EvalError:
            continue
        if abs(va) < 1e-12 or abs(vg) < 1e-12:
            if abs(va) < 1e-12 and abs(vg) < 1e-12:
                checked += 1
                continue
            return Decided(False, "numeric")
        r = vg / va
        if ratio is None:
            ratio = r
        elif abs(r - ratio) > 1e-8 * max(abs(r), abs(ratio)):
            return Decided(False, "numeric")
        checked += 1
    if checked == 0:
        return Decided(False, "numeric")
    if ratio is None or not sign_matters:
        return Decided(True, "numeric")
    return Decided(abs(ratio.imag) < 1e-9 and ratio.real > 0, "numeric")


def _graph_name(target: Node, value: Node) -> bool:
    """``y`` or ``f(x)`` naming a function of the variables of ``value`` (``y = 2x + 1``)."""
    if isinstance(target, Sym):
        return target.name == "y" and "y" not in free_symbols(value)
    if isinstance(target, Apply) and all(isinstance(arg, Sym) for arg in target.args):
        return {arg.name for arg in target.args if isinstance(arg, Sym)} >= free_symbols(value)
    return False

"""Property tests: self-equivalence under reformatting, symmetry, and sensitivity to change.

Expressions are generated as trees and rendered to LaTeX in randomly chosen but equivalent
ways (term order, ``\\frac`` vs ``/`` vs ``\\dfrac``, ``\\cdot`` vs ``\\times`` vs
juxtaposition, ``\\left( \\right)``, spacing, a ``\\boxed{}`` in a sentence), so an
equivalence found by the verifier is not a string match.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewardsmith.rewards.math import verify

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class E:
    op: str
    args: tuple


leaves = st.one_of(
    st.integers(min_value=0, max_value=40).map(lambda n: E("num", (n,))),
    st.sampled_from(["x", "y"]).map(lambda v: E("var", (v,))),
    st.just(E("pi", ())),
)


def _extend(children):
    positive = st.one_of(
        st.integers(min_value=1, max_value=12).map(lambda n: E("num", (n,))),
        st.sampled_from(["x", "y"]).map(lambda v: E("sq1", (v,))),
    )
    return st.one_of(
        st.tuples(children, children).map(lambda ab: E("add", ab)),
        st.tuples(children, children).map(lambda ab: E("sub", ab)),
        st.tuples(children, children).map(lambda ab: E("mul", ab)),
        st.tuples(children, positive).map(lambda ab: E("frac", ab)),
        positive.map(lambda a: E("sqrt", (a,))),
        st.tuples(children, st.integers(min_value=0, max_value=3)).map(lambda ak: E("pow", ak)),
    )


exprs = st.recursive(leaves, _extend, max_leaves=6)


def render(e: E, draw) -> str:
    """One LaTeX spelling of ``e``; ``draw`` picks among equivalent spellings."""
    op, args = e.op, e.args
    if op == "num":
        return draw(st.sampled_from([str(args[0]), f"{{{args[0]}}}"]))
    if op == "var":
        return args[0]
    if op == "pi":
        return draw(st.sampled_from([r"\pi", r"\pi ", r"{\pi}"]))
    if op == "sq1":
        return draw(st.sampled_from([f"({args[0]}^2+1)", f"(1 + {args[0]}^{{2}})"]))
    a = render(args[0], draw) if isinstance(args[0], E) else None
    if op == "add":
        b = render(args[1], draw)
        return draw(
            st.sampled_from(
                [f"({a}) + ({b})", f"({b})+({a})", rf"\left({a} \right) + \left( {b}\right)"]
            )
        )
    if op == "sub":
        b = render(args[1], draw)
        return draw(st.sampled_from([f"({a}) - ({b})", f"-({b}) + ({a})"]))
    if op == "mul":
        b = render(args[1], draw)
        return draw(st.sampled_from([f"({a})({b})", rf"({a}) \cdot ({b})", rf"({b})\times({a})"]))
    if op == "frac":
        b = render(args[1], draw)
        return draw(
            st.sampled_from([rf"\frac{{{a}}}{{{b}}}", rf"\dfrac{{{a}}}{{{b}}}", f"({a})/({b})"])
        )
    if op == "sqrt":
        return draw(st.sampled_from([rf"\sqrt{{{a}}}", rf"\sqrt[2]{{{a}}}", rf"({a})^{{1/2}}"]))
    if op == "pow":
        k = args[1]
        return draw(st.sampled_from([f"({a})^{{{k}}}", f"({a})^{k}"]))
    raise AssertionError(op)


def in_response(latex: str, draw) -> str:
    template = draw(
        st.sampled_from(
            [
                "So the answer is $\\boxed{%s}$.",
                "Final Answer: The final answer is $%s$. I hope it is correct.",
                "<answer>%s</answer>",
                "\\[\n\\boxed{ %s }\n\\]",
            ]
        )
    )
    return template % latex


@SETTINGS
@given(exprs, st.data())
def test_expression_equals_a_reformatted_copy(e, data):
    first = render(e, data.draw)
    second = render(e, data.draw)
    verdict = verify(first, in_response(second, data.draw))
    assert verdict.status == "ok", verdict.reason
    assert verdict.equal, (first, second, verdict.path)


@SETTINGS
@given(exprs, st.data())
def test_expression_differs_from_itself_plus_one(e, data):
    latex = render(e, data.draw)
    verdict = verify(latex, in_response(f"({render(e, data.draw)}) + 1", data.draw))
    assert verdict.status == "ok"
    assert not verdict.equal, (latex, verdict.path)


@SETTINGS
@given(exprs, exprs, st.data())
def test_symmetry(e1, e2, data):
    a, b = render(e1, data.draw), render(e2, data.draw)
    forward = verify(a, rf"\boxed{{{b}}}")
    backward = verify(b, rf"\boxed{{{a}}}")
    assert forward.status == backward.status
    assert forward.equal == backward.equal, (a, b)


collections = st.one_of(
    st.lists(st.integers(-20, 20), min_size=1, max_size=5).map(lambda xs: ("tuple", xs)),
    st.lists(st.integers(-20, 20), min_size=1, max_size=5, unique=True).map(lambda xs: ("set", xs)),
    st.tuples(st.integers(-20, 0), st.integers(1, 20), st.booleans(), st.booleans()).map(
        lambda t: ("interval", list(t))
    ),
)


def render_collection(c, draw) -> str:
    kind, xs = c
    if kind == "tuple":
        inner = ", ".join(str(x) for x in xs)
        return (
            draw(st.sampled_from([f"({inner})", rf"\left({inner}\right)"]))
            if len(xs) > 1
            else inner
        )
    if kind == "set":
        shuffled = draw(st.permutations(xs))
        inner = draw(st.sampled_from([", ", ",", r",\ "])).join(str(x) for x in shuffled)
        return draw(st.sampled_from([rf"\{{{inner}\}}", inner]))
    lo, hi, lc, hc = xs
    return f"{'[' if lc else '('}{lo}, {hi}{']' if hc else ')'}"


@SETTINGS
@given(collections, st.data())
def test_collection_equals_a_reformatted_copy(c, data):
    verdict = verify(
        render_collection(c, data.draw), in_response(render_collection(c, data.draw), data.draw)
    )
    assert verdict.status == "ok" and verdict.equal, verdict.reason


@SETTINGS
@given(collections, collections, st.data())
def test_collection_symmetry(c1, c2, data):
    a, b = render_collection(c1, data.draw), render_collection(c2, data.draw)
    assert verify(a, rf"\boxed{{{b}}}").equal == verify(b, rf"\boxed{{{a}}}").equal, (a, b)

"""LaTeX structures with their own delimiters: brackets, sets, fractions, roots, matrices.

Brackets decide the shape: ``(a, b)`` is a tuple, ``[a, b)`` and ``(a, b]`` intervals,
``\\{a, b\\}`` a set and ``\\{x : x \\le 4\\}`` the set its condition describes, ``|x|`` an
absolute value. ``\\frac``, ``\\sqrt``, ``\\binom``, floor and ceiling read their arguments;
a matrix environment reads rows of cells (``\\begin{vmatrix}`` is a determinant). Each reader
starts after its opening token and recurses into the expression grammar through `Grammar`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from rewardsmith.rewards.math.nodes import Func, Interval, Matrix, Mul, Node, Num, Pow, Rel, Seq
from rewardsmith.rewards.math.parser_cursor import Grammar
from rewardsmith.rewards.math.relations import relation_to_set
from rewardsmith.rewards.math.tokens import ParseError

__all__ = [
    "read_abs_command",
    "read_angle_tuple",
    "read_bracketed",
    "read_env",
    "read_floor",
    "read_fraction",
    "read_sqrt",
]

_MATRIX_ENVS: Final = frozenset(
    {"pmatrix", "bmatrix", "matrix", "vmatrix", "Bmatrix", "smallmatrix", "array", "Vmatrix"}
)


def _items(node: Node) -> tuple[Node, ...]:
    """The items of a bare list, or the node alone."""
    return node.items if isinstance(node, Seq) and node.kind == "list" else (node,)


def read_bracketed(p: Grammar, value: str) -> Node:
    """After an opening ``{``, ``\\{`` (``lset``), ``(``, ``[`` or ``|``."""
    if value == "{":
        node = p.parse_list(stop=("}",))
        p.expect_op("}")
        return node
    if value == "lset":
        if p.at_op("rset"):
            p.i += 1
            return Seq("set", ())
        divider = _set_builder_divider(p)
        if divider is not None:
            return _read_set_builder(p, divider)
        node = p.parse_list(stop=("rset",))
        p.expect_op("rset")
        return Seq("set", tuple(_items(node)))
    if value in ("(", "["):
        node = p.parse_list(stop=(")", "]"))
        close = p.take()
        if close[0] != "op" or close[1] not in (")", "]"):
            raise ParseError("unclosed bracket")
        items = _items(node)
        if len(items) == 2 and (value, close[1]) != ("(", ")"):
            return Interval(items[0], items[1], value == "[", close[1] == "]")
        if len(items) == 1:
            if value == "[" and close[1] == "]":
                return items[0]
            if value == "(" and close[1] == ")":
                return items[0]
            raise ParseError("half-open bracket around one item")
        return Seq("tuple", tuple(items))
    if value == "|":
        p.abs_depth += 1
        try:
            inner = p.parse_sum()
        finally:
            p.abs_depth -= 1
        p.expect_op("|")
        return Func("abs", (inner,))
    raise ParseError(f"unexpected {value!r}")


def _set_builder_divider(p: Grammar) -> int | None:
    """Index of the ``:`` / ``|`` / ``\\mid`` of ``\\{x : x \\le 4\\}``, or None.

    Only a divider at the set's own bracket depth, after a short head (``x`` or
    ``x \\in \\mathbb{R}``), counts: ``\\{1:2, 3\\}`` stays a set of ratios.
    """
    depth = 0
    for j in range(p.i, min(len(p.toks), p.i + 12)):
        kind, value = p.toks[j]
        if kind == "op" and value in ("(", "[", "{", "lset"):
            depth += 1
        elif kind == "op" and value in (")", "]", "}", "rset"):
            if depth == 0:
                return None
            depth -= 1
        elif depth == 0 and (
            (kind == "op" and value in (":", "|")) or (kind == "cmd" and value in ("mid", "colon"))
        ):
            head = p.toks[p.i : j]
            return j if head and head[0][0] in ("letter", "cmd") and j - p.i <= 8 else None
        elif depth == 0 and kind == "op" and value in (",", ";"):
            return None
    return None


def _read_set_builder(p: Grammar, divider: int) -> Node:
    """``\\{x : x \\le 4\\}``: the set its condition describes (an interval when the
    condition is an inequality in one unknown, else the condition itself)."""
    p.i = divider + 1
    condition = p.parse_list(stop=("rset",))
    p.expect_op("rset")
    if isinstance(condition, Rel):
        described = relation_to_set(condition)
        if described is not None:
            return described
    return condition


def read_fraction(p: Grammar) -> Node:
    """``\\frac{a}{b}`` as ``a * b^-1`` (so arithmetic needs no division node)."""
    num = p.parse_group()
    den = p.parse_group()
    return Mul((num, Pow(den, Num(Fraction(-1)))))


def read_sqrt(p: Grammar) -> Node:
    """``\\sqrt{x}``, or ``\\sqrt[n]{x}`` as ``root(x, n)``."""
    if p.at_op("["):
        p.i += 1
        index = p.parse_list(stop=("]",))
        p.expect_op("]")
        return Func("root", (p.parse_group(), index))
    return Func("sqrt", (p.parse_group(),))


def read_floor(p: Grammar, name: str) -> Node:
    """After ``\\lfloor`` or ``\\lceil``; either closer is accepted."""
    inner = p.parse_sum()
    closer = p.take()
    if closer[0] != "cmd" or closer[1] not in ("rfloor", "rceil"):
        raise ParseError("unclosed floor/ceiling")
    return Func("floor" if name == "lfloor" else "ceil", (inner,))


def read_abs_command(p: Grammar) -> Node:
    """After ``\\lvert``, ``\\vert`` or ``\\mid``: an absolute value to the matching bar."""
    p.abs_depth += 1
    try:
        inner = p.parse_sum()
    finally:
        p.abs_depth -= 1
    closer = p.take()
    if closer not in (("cmd", "rvert"), ("cmd", "vert"), ("cmd", "mid"), ("op", "|")):
        raise ParseError("unclosed absolute value")
    return Func("abs", (inner,))


def read_angle_tuple(p: Grammar) -> Node:
    """``\\langle a, b \\rangle``: a tuple (a vector); a missing ``\\rangle`` is forgiven."""
    node = p.parse_list(stop=())
    if p.peek() == ("cmd", "rangle"):
        p.i += 1
    return Seq("tuple", tuple(_items(node)))


def read_env(p: Grammar, env: str) -> Node:
    """After ``\\begin{env}``: a matrix, or for any other environment its content."""
    if env not in _MATRIX_ENVS:
        node = p.parse_list(stop=())
        if p.peek()[0] == "end":
            p.i += 1
        return node
    rows: list[tuple[Node, ...]] = []
    row: list[Node] = []
    while True:
        kind, value = p.peek()
        if kind == "eof":
            raise ParseError(f"unclosed {env}")
        if kind == "end":
            p.i += 1
            break
        if kind == "op" and value == "&":
            p.i += 1
            continue
        if kind == "op" and value == "rowsep":
            p.i += 1
            if row:
                rows.append(tuple(row))
            row = []
            continue
        row.append(p.parse_sum())
        if not (p.at_op("&", "rowsep") or p.peek()[0] == "end"):
            raise ParseError("bad matrix cell")
    if row:
        rows.append(tuple(row))
    if not rows or len({len(r) for r in rows}) != 1:
        raise ParseError("ragged matrix")
    node = Matrix(tuple(rows))
    if env == "vmatrix":
        return Func("det", (node,))
    return node

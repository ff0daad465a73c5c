"""The answer AST: what a parsed math answer is, independent of how it was written.

Every node is an immutable value with structural equality, so two answers that parse to the
same tree are equal without any arithmetic. Scalars (`Num`, `Sym`, `Const`, `Add`, `Mul`,
`Pow`, `Func`, `Apply`, `Percent`, `PlusMinus`) are evaluated by `evaluate`; containers
(`Seq`, `Interval`, `Union`, `Matrix`), relations (`Rel`) and `Text` are compared by `compare`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "Add",
    "Apply",
    "BaseNum",
    "Const",
    "Func",
    "Interval",
    "Matrix",
    "Mul",
    "Node",
    "Num",
    "Percent",
    "PlusMinus",
    "Pow",
    "Rel",
    "Seq",
    "Sym",
    "Text",
    "Union",
    "children",
    "render",
    "walk",
]


@dataclass(frozen=True, slots=True)
class Node:
    """Base class of every answer node."""


@dataclass(frozen=True, slots=True)
class Num(Node):
    """An exact rational literal; ``places`` is the number of decimals when written as a decimal;
    ``approx`` marks a decimal written as an approximation (``\\approx 0.79``)."""

    value: Fraction
    places: int | None = None
    approx: bool = False


@dataclass(frozen=True, slots=True)
class Sym(Node):
    """A free variable (``x``, ``a_1``, ``\\alpha``) or an unknown name."""

    name: str


@dataclass(frozen=True, slots=True)
class Const(Node):
    """``pi``, ``e``, ``i`` (imaginary unit) or ``inf``."""

    name: str


@dataclass(frozen=True, slots=True)
class Add(Node):
    terms: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Mul(Node):
    factors: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Pow(Node):
    base: Node
    exp: Node


@dataclass(frozen=True, slots=True)
class Func(Node):
    """A known function: ``sqrt``, ``root``, ``sin``, ``log``, ``factorial``, ``binom``, ..."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Apply(Node):
    """An unknown function applied to arguments: ``f(x)``. Evaluated as an opaque function."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Percent(Node):
    """``x%``: compared as ``x`` or as ``x/100`` (see `compare`)."""

    arg: Node


@dataclass(frozen=True, slots=True)
class PlusMinus(Node):
    """``a ± b`` (``a`` is None for a leading ``±b``): the set ``{a+b, a-b}``."""

    a: Node | None
    b: Node


@dataclass(frozen=True, slots=True)
class BaseNum(Node):
    """``1011_2``: digits written in another base."""

    digits: str
    base: int


@dataclass(frozen=True, slots=True)
class Seq(Node):
    """A collection. ``kind``: ``tuple`` (ordered, in parentheses), ``set`` (``\\{...\\}``),
    ``list`` (bare commas: unordered against a set or list, ordered against a tuple) or
    ``ratio`` (``a:b``)."""

    kind: str
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Interval(Node):
    lo: Node
    hi: Node
    lo_closed: bool
    hi_closed: bool


@dataclass(frozen=True, slots=True)
class Union(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Matrix(Node):
    rows: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True, slots=True)
class Rel(Node):
    """A chain of relations: ``parts[0] ops[0] parts[1] ops[1] parts[2] ...``.

    ``ops`` are ``=``, ``<``, ``<=``, ``>``, ``>=``, ``!=`` or ``in``.
    """

    parts: tuple[Node, ...]
    ops: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Text(Node):
    """Words: compared after case and spacing normalisation."""

    text: str


def children(node: Node) -> list[Node]:
    """The direct sub-nodes of a node (matrix cells included)."""
    out: list[Node] = []
    slots: tuple[str, ...] = getattr(type(node), "__slots__", ())
    for slot in slots:
        value = getattr(node, slot)
        if isinstance(value, Node):
            out.append(value)
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Node):
                    out.append(item)
                elif isinstance(item, tuple):
                    out.extend(x for x in item if isinstance(x, Node))
    return out


def walk(node: Node) -> Iterator[Node]:
    """Every node of a tree, depth first, without recursion (deep trees cannot overflow)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(children(current))


def render(node: Node | None) -> str:
    """A compact, readable form of a node for `Score.info` (not a round-trippable syntax)."""
    if node is None:
        return "?"
    match node:
        case Num(value, places):
            if places is not None:
                return str(float(value)) if places else str(value)
            return str(value)
        case Sym(name) | Const(name):
            return name
        case Add(terms):
            return "(" + " + ".join(render(t) for t in terms) + ")"
        case Mul(factors):
            return "*".join(render(f) for f in factors)
        case Pow(base, exp):
            return f"{render(base)}^{render(exp)}"
        case Func(name, args) | Apply(name, args):
            return f"{name}(" + ", ".join(render(a) for a in args) + ")"
        case Percent(arg):
            return f"{render(arg)}%"
        case PlusMinus(a, b):
            return f"{render(a) if a is not None else ''}±{render(b)}"
        case BaseNum(digits, base):
            return f"{digits}_{base}"
        case Seq(kind, items):
            inner = ", ".join(render(i) for i in items)
            return {
                "tuple": f"({inner})",
                "set": f"{{{inner}}}",
                "ratio": ":".join(render(i) for i in items),
            }.get(kind, inner)
        case Interval(lo, hi, lc, hc):
            return f"{'[' if lc else '('}{render(lo)}, {render(hi)}{']' if hc else ')'}"
        case Union(items):
            return " ∪ ".join(render(i) for i in items)
        case Matrix(rows):
            return "[" + "; ".join(", ".join(render(c) for c in row) for row in rows) + "]"
        case Rel(parts, ops):
            out = render(parts[0])
            for op, part in zip(ops, parts[1:], strict=True):
                out += f" {op} {render(part)}"
            return out
        case Text(text):
            return repr(text)
    return type(node).__name__

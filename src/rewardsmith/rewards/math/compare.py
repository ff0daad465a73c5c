"""Equivalence of two parsed answers: the entry point and the dispatch on their shapes.

How the parts fit. `equivalent` reads integer-parameter declarations (``k \\in \\mathbb{Z}``)
off both answers and starts the recursion; `_dispatch` looks at the two trees and hands them
to the comparer for their shape, and every comparer recurses through it (via
`compare_decision.Context`):

- text (``\\text{Evelyn}``): here, case and spacing ignored;
- relations (equations, inequalities): `compare_relations`;
- matrices, tuples, sets, lists, ratios, intervals, unions: `compare_collections`;
- scalars (percentages, degrees, parameter families, rounded decimals): `compare_values`,
  which asks `compare_numeric` for the value itself.

The order of checks is the order of cost: structural equality of the trees, exact rational
arithmetic, then numeric evaluation (complex floats at fixed pseudo-random points for the free
variables, mpmath when floats overflow or underflow), then, for what none of these can
evaluate, sympy (`symbolic`). Each check names itself in the returned path. A comparison that
cannot be settled within the cost bounds returns `Undecided`; nothing is raised to say so
(`evaluate`'s own errors past its bounds are caught where they occur).

Rules that are policy rather than mathematics (documented in docs/rewards/math.md):

- ``28%`` matches ``28`` and ``0.28``.
- A decimal matches a value when both round to the same ``precision`` decimals (``1/3`` vs
  ``0.333333``) or agree to ``rel_tol``. Other values must be equal: a float agreement is
  confirmed at 40 digits, unless ``rel_tol > 0`` asks for approximate equality.
- ``x = 5`` matches ``5`` when ``x`` is a name (an assignment), not when the left side is an
  expression (``2x + z = 1`` does not match ``1``).
- A bare list (``1, 2``) is unordered against a set or another list and ordered against a
  tuple; ``a ± b`` is the set ``{a+b, a-b}``.
- An inequality matches the interval it describes; when the gold answer is a set and the
  answer is a relation this needs ``relation_as_set`` (the question asked for a set).
"""

from __future__ import annotations

from typing import Final

from rewardsmith.rewards.math.compare_collections import collection, matrix
from rewardsmith.rewards.math.compare_decision import Context, Decided, Outcome, Tolerance
from rewardsmith.rewards.math.compare_relations import relation
from rewardsmith.rewards.math.compare_values import scalar
from rewardsmith.rewards.math.nodes import Const, Mul, Node, Rel, Seq, Sym, Text
from rewardsmith.rewards.math.shapes import expand_nested_pm, is_collection, matrix_value

__all__ = ["equivalent"]

_INTEGER_SETS: Final = frozenset({"Z", "N"})


def equivalent(gold: Node, answer: Node, tol: Tolerance) -> Outcome:
    """Whether two answers are equivalent and the check that decided it (`Decided`), or
    `Undecided` when the values are too large to evaluate and differ as written.

    Example:
        >>> from rewardsmith.rewards.math.parser import parse_math
        >>> equivalent(parse_math(r"\\frac{1}{2}"), parse_math("0.5"), Tolerance())
        Decided(equal=True, path='exact')
    """
    if gold == answer:
        return Decided(True, "structural")
    gold, gold_declared = _declarations(gold)
    answer, answer_declared = _declarations(answer)
    ctx = Context(tol, gold_declared | answer_declared, _dispatch)
    return _dispatch(ctx, gold, answer, "exact")


def _dispatch(ctx: Context, g: Node, a: Node, path: str) -> Outcome:
    if g == a:
        return Decided(True, path)
    if isinstance(g, Text) or isinstance(a, Text):
        return Decided(_text_key(g) is not None and _text_key(g) == _text_key(a), "text")
    if isinstance(g, Rel) or isinstance(a, Rel):
        return relation(ctx, g, a)
    g, a = expand_nested_pm(g), expand_nested_pm(a)
    g2, a2 = matrix_value(g), matrix_value(a)
    if g2 is not None or a2 is not None:
        return matrix(ctx, g2 or g, a2 or a)
    if is_collection(g) or is_collection(a):
        return collection(ctx, g, a)
    return scalar(ctx, g, a, path)


def _declarations(node: Node) -> tuple[Node, frozenset[str]]:
    """``x = \\pi/3 + 2k\\pi, k \\in \\mathbb{Z}`` as the family and the declared names."""
    if not (isinstance(node, Seq) and node.kind == "list"):
        return node, frozenset()
    kept: list[Node] = []
    names: set[str] = set()
    for item in node.items:
        if (
            isinstance(item, Rel)
            and item.ops == ("in",)
            and isinstance(item.parts[0], Sym)
            and isinstance(item.parts[1], Sym)
            and item.parts[1].name in _INTEGER_SETS
        ):
            names.add(item.parts[0].name)
        else:
            kept.append(item)
    if not names or not kept:
        return node, frozenset()
    return (kept[0] if len(kept) == 1 else Seq("list", tuple(kept))), frozenset(names)


def _text_key(node: Node) -> str | None:
    """Words compared without case, spacing and punctuation (``x`` and ``\\text{x}`` alike)."""
    if isinstance(node, Text):
        return "".join(ch for ch in node.text.lower() if ch.isalnum())
    if isinstance(node, Sym):
        return "".join(ch for ch in node.name.lower() if ch.isalnum())
    if isinstance(node, Mul) and all(isinstance(f, Sym) for f in node.factors):
        return "".join(f.name.lower() for f in node.factors if isinstance(f, Sym))
    if isinstance(node, Const) and node.name in ("e", "i"):
        return node.name
    return None

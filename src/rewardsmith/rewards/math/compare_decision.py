"""The decision record of `compare`: what a comparison is asked under and what it answers.

`Tolerance` goes in; an `Outcome` comes out: `Decided` (equal or not, and the check that
decided, reported as ``Verdict.path``) or `Undecided` (the values cannot be settled within
the cost bounds). Both are plain values, returned up the recursion, never raised.

The comparers of structures and values recurse into each other through `Context.eq`, so no
comparer module imports the dispatcher in `compare` (the dependency points one way). The
reported path is the last check that named itself, threaded through as an argument: each
comparer takes the path so far and returns the path it leaves (``path`` in, ``Decided.path``
out). `Context.quiet_eq` asks a question on the side (is this element one of those?) whose
path is dropped and whose `Undecided` counts as "not equal".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeAlias

import msgspec

from rewardsmith.rewards.math.nodes import Node

__all__ = ["Context", "Decided", "Outcome", "Tolerance", "Undecided", "all_equal", "settled"]


# Frozen structs rather than dataclasses: a few are built for every answer compared, and a
# struct costs ~0.1 µs to build against ~0.5-1 µs for a frozen dataclass.


class Tolerance(msgspec.Struct, frozen=True):
    """How strictly two values must agree; see `MathConfig` for each field."""

    precision: int = 6
    rel_tol: float = 0.0
    strict: bool = True
    relation_as_set: bool = False
    percent: bool = True
    use_sympy: bool = True
    approximate: bool = True


class Decided(msgspec.Struct, frozen=True):
    """Equal or not, and the name of the check that decided (``exact``, ``numeric``, ...)."""

    equal: bool
    path: str


class Undecided(msgspec.Struct, frozen=True):
    """Neither equal nor provably different within the cost bounds (e.g. ``9999!`` vs ``x``)."""

    reason: str


Outcome: TypeAlias = Decided | Undecided


def settled(outcome: Outcome) -> bool:
    """True when a comparer may return ``outcome`` as it is: equal, or cannot decide.

    A "not equal" is not settled: the caller may try another reading (its path is kept).
    """
    return isinstance(outcome, Undecided) or outcome.equal


class Context(msgspec.Struct, frozen=True):
    """What every comparer of one `equivalent` call shares: the tolerance, the names declared
    integer parameters (``k \\in \\mathbb{Z}``), and the dispatcher it recurses through."""

    tol: Tolerance
    declared: frozenset[str]
    dispatch: Callable[[Context, Node, Node, str], Outcome]

    def eq(self, g: Node, a: Node, path: str) -> Outcome:
        """Compare two sub-answers; ``path`` is the path so far (kept if no check names itself)."""
        return self.dispatch(self, g, a, path)

    def quiet_eq(self, g: Node, a: Node) -> bool:
        """Equal for certain: a side question whose path is dropped and whose `Undecided` is
        "no" (matching the elements of two sets, spotting duplicates)."""
        outcome = self.dispatch(self, g, a, "")
        return isinstance(outcome, Decided) and outcome.equal


def all_equal(ctx: Context, pairs: Iterable[tuple[Node, Node]], path: str) -> Outcome:
    """Every pair equal, in order, stopping at the first that is not (or cannot be decided)."""
    for g, a in pairs:
        outcome = ctx.eq(g, a, path)
        if not isinstance(outcome, Decided) or not outcome.equal:
            return outcome
        path = outcome.path
    return Decided(True, path)

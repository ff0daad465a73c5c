"""Equivalence of two parsed answers.

The order of checks is the order of cost: structural equality of the trees, exact rational
arithmetic, then numeric evaluation (complex floats at fixed pseudo-random points for the
free variables, mpmath when floats overflow or underflow), then, for what none of these can
evaluate, sympy (`symbolic`). Each check names itself in the returned path.

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

import random
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.rewards.math.evaluate import (
    EvalError,
    TooLarge,
    exact,
    free_symbols,
    has_decimal,
    numeric,
    numeric_mp,
)
from rewardsmith.rewards.math.nodes import (
    Apply,
    BaseNum,
    Const,
    Func,
    Interval,
    Mul,
    Node,
    Num,
    Percent,
    Pow,
    Rel,
    Seq,
    Sym,
    Text,
    Union,
    walk,
)
from rewardsmith.rewards.math.relations import (
    INEQUALITIES,
    as_zero_form,
    assignment_values,
    bound_variables,
    collapse_chain,
    is_constant,
    is_target,
    relation_to_set,
    rename_symbols,
    unwrap_in,
)
from rewardsmith.rewards.math.shapes import (
    as_interval,
    as_matrix,
    base_eq,
    exact_set,
    expand_nested_pm,
    flatten_pm,
    has_non_scalar,
    infinity_sign,
    is_collection,
    is_set_like,
    matrix_value,
    pm_to_set,
)

__all__ = ["Tolerance", "equivalent"]

MAX_ITEMS: Final = 128
"""Largest collection compared element by element (matching is quadratic)."""

_MINUS_ONE: Final = Num(Fraction(-1))
_SCREEN_TOL: Final = 1e-9
"""Relative difference beyond which float values are certainly different."""


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How strictly two values must agree; see `MathConfig` for each field."""

    precision: int = 6
    rel_tol: float = 0.0
    strict: bool = True
    relation_as_set: bool = False
    percent: bool = True
    use_sympy: bool = True
    approximate: bool = True


class Undecided(RewardsmithError):
    """Neither equal nor provably different within the cost bounds (e.g. ``9999!`` vs ``x``)."""


def equivalent(gold: Node, answer: Node, tol: Tolerance) -> tuple[bool, str]:
    """Whether two answers are equivalent, and the check that decided it.

    Raises:
        Undecided: the values are too large to evaluate and differ as written.

    Example:
        >>> from rewardsmith.rewards.math.parser import parse_math
        >>> equivalent(parse_math(r"\\frac{1}{2}"), parse_math("0.5"), Tolerance())
        (True, 'exact')
    """
    if gold == answer:
        return True, "structural"
    gold, gold_declared = _declarations(gold)
    answer, answer_declared = _declarations(answer)
    return _Comparer(tol, gold_declared | answer_declared).eq(gold, answer, top=True)


PARAMETER_NAMES: Final = frozenset({"k", "n", "m", "t", "j", "l"})
"""Names read as an integer parameter of a solution family (``\\pi/3 + 2k\\pi``) without a
declaration; any name declared with ``\\in \\mathbb{Z}`` is one too."""
_INTEGER_SETS: Final = frozenset({"Z", "N"})


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


class _Comparer:
    def __init__(self, tol: Tolerance, declared: frozenset[str] = frozenset()) -> None:
        self.tol = tol
        self.declared = declared
        self.path = "exact"
        self.both_rational = False

    def eq(self, g: Node, a: Node, top: bool = False) -> tuple[bool, str]:
        result = self._eq(g, a, top)
        return result, self.path

    # -- dispatch ---------------------------------------------------------------------------
    def _eq(self, g: Node, a: Node, top: bool = False) -> bool:
        if g == a:
            return True
        if isinstance(g, Text) or isinstance(a, Text):
            self.path = "text"
            return _text_key(g) is not None and _text_key(g) == _text_key(a)
        if isinstance(g, Rel) or isinstance(a, Rel):
            return self._relation(g, a)
        g, a = expand_nested_pm(g), expand_nested_pm(a)
        g2, a2 = matrix_value(g), matrix_value(a)
        if g2 is not None or a2 is not None:
            return self._matrix(g2 or g, a2 or a)
        if is_collection(g) or is_collection(a):
            return self._collection(g, a)
        return self._scalar(g, a)

    # -- relations --------------------------------------------------------------------------
    def _relation(self, g: Node, a: Node) -> bool:
        self.path = "relation"
        g, a = unwrap_in(collapse_chain(g)), unwrap_in(collapse_chain(a))
        g_rel, a_rel = isinstance(g, Rel), isinstance(a, Rel)
        if g_rel and a_rel:
            assert isinstance(g, Rel) and isinstance(a, Rel)
            return self._rel_rel(g, a)
        if not g_rel and not a_rel:
            return self._eq(g, a)
        rel, other = (g, a) if g_rel else (a, g)
        assert isinstance(rel, Rel)
        if rel.ops == ("=",) and (
            is_target(rel.parts[0]) or (is_constant(rel.parts[0]) and is_constant(rel.parts[1]))
        ):
            # "x = 5" and "2 + 3 = 5" both state 5; "2x + z = 1" states an equation, not 1.
            return self._eq(rel.parts[1], other) if g_rel else self._eq(other, rel.parts[1])
        if is_set_like(other):
            if not g_rel and not self.tol.relation_as_set:
                return False  # the question asked for a set; a relation is another format
            if (
                not g_rel
                and isinstance(other, Seq)
                and other.kind == "tuple"
                and not any(infinity_sign(item) for item in other.items)
            ):
                return False  # a gold (1, 3) may be a point: 1 < x < 3 does not state it
            as_set = relation_to_set(rel)
            if as_set is None:
                return False
            return self._eq(as_set, other) if g_rel else self._eq(other, as_set)
        return False

    def _rel_rel(self, g: Rel, a: Rel) -> bool:
        if len(g.ops) == 1 and len(a.ops) == 1:
            go, ao = g.ops[0], a.ops[0]
            if go == "=" and ao == "=":
                if is_target(g.parts[0]) and is_target(a.parts[0]):
                    if g.parts[0] == a.parts[0]:
                        return self._eq(g.parts[1], a.parts[1])
                    bound = bound_variables(g.parts[0], a.parts[0])
                    leaked = set(bound.values()) - set(bound) & free_symbols(a.parts[1])
                    if bound and not leaked:
                        # f(t) = 2t states the same function as f(x) = 2x
                        return self._eq(g.parts[1], rename_symbols(a.parts[1], bound))
                    if (
                        Sym("y") in (g.parts[0], a.parts[0])
                        and _graph_name(g.parts[0], g.parts[1])
                        and _graph_name(a.parts[0], a.parts[1])
                    ):
                        # y = 2x + 1 and f(x) = 2x + 1 state the same function of x
                        return self._eq(g.parts[1], a.parts[1])
                return self._proportional(g, a, sign_matters=False)
            if go in INEQUALITIES and ao in INEQUALITIES:
                return self._proportional(g, a, sign_matters=True)
            if go == "!=" and ao == "!=":
                return self._proportional(g, a, sign_matters=False)
            return False
        gs, as_ = relation_to_set(g), relation_to_set(a)
        if gs is not None and as_ is not None:
            return self._eq(gs, as_)
        if g.ops != a.ops or len(g.parts) != len(a.parts):
            return False
        return all(self._eq(x, y) for x, y in zip(g.parts, a.parts, strict=True))

    def _proportional(self, g: Rel, a: Rel, sign_matters: bool) -> bool:
        """``L1 op R1`` vs ``L2 op R2``: is ``L1-R1`` a constant multiple of ``L2-R2``?"""
        fg, og = as_zero_form(g)
        fa, oa = as_zero_form(a)
        if fg is None or fa is None:
            return False
        if sign_matters and og != oa:
            return False
        self.path = "numeric"
        rename = self._rename(fg, fa)
        if rename:
            fa = rename_symbols(fa, rename)
        names = sorted(free_symbols(fg) | free_symbols(fa))
        ratio: complex | None = None
        checked = 0
        for env in _points(names):
            try:
                vg, va = numeric(fg, env), numeric(fa, env)
            except EvalError:
                continue
            if abs(va) < 1e-12 or abs(vg) < 1e-12:
                if abs(va) < 1e-12 and abs(vg) < 1e-12:
                    checked += 1
                    continue
                return False
            r = vg / va
            if ratio is None:
                ratio = r
            elif abs(r - ratio) > 1e-8 * max(abs(r), abs(ratio)):
                return False
            checked += 1
        if checked == 0:
            return False
        if ratio is None:
            return True
        if sign_matters:
            return abs(ratio.imag) < 1e-9 and ratio.real > 0
        return True

    # -- collections ------------------------------------------------------------------------
    def _collection(self, g: Node, a: Node) -> bool:
        self.path = "collection"
        g, a = pm_to_set(g), pm_to_set(a)
        if isinstance(g, Interval | Union) and self.tol.relation_as_set:
            a = _relations_as_union(a) or a  # "x < 1 or x > 2" for (-inf, 1) u (2, inf)
        elif isinstance(a, Interval | Union):
            g = _relations_as_union(g) or g
        if isinstance(g, Interval) or isinstance(a, Interval):
            gi, ai = as_interval(g), as_interval(a)
            if gi is None or ai is None:
                if isinstance(g, Union) or isinstance(a, Union):
                    return self._union(g, a)
                return False
            return self._interval(gi, ai)
        if isinstance(g, Union) or isinstance(a, Union):
            return self._union(g, a)
        g_seq, a_seq = isinstance(g, Seq), isinstance(a, Seq)
        if g_seq and a_seq:
            assert isinstance(g, Seq) and isinstance(a, Seq)
            return self._seq(g, a)
        seq, other = (g, a) if g_seq else (a, g)
        assert isinstance(seq, Seq)
        if seq.kind == "ratio" and len(seq.items) == 2 and not has_non_scalar(other):
            # 7:3 states the number 7/3 (a ratio question answered with a fraction)
            if _zero_or_unknown(seq.items[0]) or _zero_or_unknown(seq.items[1]):
                return False
            quotient = Mul((seq.items[0], Pow(seq.items[1], _MINUS_ONE)))
            same = self._eq(quotient, other) if g_seq else self._eq(other, quotient)
            self.path = "ratio"
            return same
        if len(seq.items) == 1 and seq.kind in ("set", "list"):
            return self._eq(seq.items[0], other) if g_seq else self._eq(other, seq.items[0])
        if len(seq.items) > MAX_ITEMS:
            return False  # many values are not one value
        if seq.kind in ("set", "list") and len(seq.items) > 1:
            # {3, 3} written as a set is one value
            distinct = self._distinct(seq.items)
            if len(distinct) == 1:
                return self._eq(distinct[0], other) if g_seq else self._eq(other, distinct[0])
        return False

    def _seq(self, g: Seq, a: Seq) -> bool:
        if len(g.items) > MAX_ITEMS or len(a.items) > MAX_ITEMS:
            raise Undecided("collection too large to compare")
        g_assign, a_assign = assignment_values(g), assignment_values(a)
        if (g_assign is None) != (a_assign is None):
            # "p=5, q=2; p=7, q=2" against "(5, 2), (7, 2)": compare the values assigned
            g_values: Node = g_assign or g
            a_values: Node = a_assign or a
            if not isinstance(g_values, Seq) or not isinstance(a_values, Seq):
                return self._eq(g_values, a_values)
            g, a = g_values, a_values
        kinds = {g.kind, a.kind}
        if kinds == {"ratio"}:
            if len(g.items) == len(a.items) and all(
                self._eq(x, y) for x, y in zip(g.items, a.items, strict=True)
            ):
                return True
            if len(g.items) == len(a.items) and not any(
                _zero_or_unknown(x) for x in (*g.items, *a.items)
            ):
                # 2:4 is the ratio 1:2 and 2:4:6 is 1:2:3 (each term times the other's first);
                # but 12:00 is not 1:00 (zeros are not ratios)
                same = all(
                    self._eq(Mul((gi, a.items[0])), Mul((ai, g.items[0])))
                    for gi, ai in zip(g.items[1:], a.items[1:], strict=True)
                )
                self.path = "ratio"
                return same
            return False
        if "ratio" in kinds:
            return False
        if "tuple" in kinds:
            if len(g.items) != len(a.items):
                return False
            if kinds == {"tuple", "set"}:
                return False
            return all(self._eq(x, y) for x, y in zip(g.items, a.items, strict=True))
        # set/list against set/list: unordered, duplicates ignored
        fast = exact_set(g.items), exact_set(a.items)
        if fast[0] is not None and fast[1] is not None:
            self.path = "exact"
            return fast[0] == fast[1]
        gd, ad = self._distinct(g.items), self._distinct(a.items)
        if len(gd) != len(ad):
            return False
        return self._match_all(gd, ad)

    def _distinct(self, items: tuple[Node, ...]) -> list[Node]:
        out: list[Node] = []
        for item in items:
            for other in flatten_pm(item):
                if not any(other == seen or self._quiet_eq(other, seen) for seen in out):
                    out.append(other)
        return out

    def _match_all(self, gs: list[Node], as_: list[Node]) -> bool:
        used = [False] * len(as_)
        for x in gs:
            for j, y in enumerate(as_):
                if not used[j] and self._quiet_eq(x, y):
                    used[j] = True
                    break
            else:
                return False
        return True

    def _quiet_eq(self, g: Node, a: Node) -> bool:
        path = self.path
        try:
            return self._eq(g, a)
        except Undecided:
            return False
        finally:
            self.path = path

    def _union(self, g: Node, a: Node) -> bool:
        gi = list(g.items) if isinstance(g, Union) else [g]
        ai = list(a.items) if isinstance(a, Union) else [a]
        if len(gi) != len(ai):
            return False
        return self._match_all(gi, ai)

    def _interval(self, g: Interval, a: Interval) -> bool:
        if (g.lo_closed, g.hi_closed) != (a.lo_closed, a.hi_closed):
            return False
        return self._endpoint(g.lo, a.lo) and self._endpoint(g.hi, a.hi)

    def _endpoint(self, g: Node, a: Node) -> bool:
        gi, ai = infinity_sign(g), infinity_sign(a)
        if gi or ai:
            return gi == ai
        return self._eq(g, a)

    def _matrix(self, g: Node, a: Node) -> bool:
        self.path = "matrix"
        gm, am = as_matrix(g), as_matrix(a)
        if gm is None or am is None:
            return False
        if len(gm) != len(am) or len(gm[0]) != len(am[0]):
            return False
        return all(
            self._eq(x, y)
            for gr, ar in zip(gm, am, strict=True)
            for x, y in zip(gr, ar, strict=True)
        )

    # -- scalars ----------------------------------------------------------------------------
    def _scalar(self, g: Node, a: Node) -> bool:
        if isinstance(g, Percent) or isinstance(a, Percent):
            return self._percent(g, a)
        if isinstance(g, BaseNum) or isinstance(a, BaseNum):
            return base_eq(g, a)
        if _is_degrees(g) != _is_degrees(a):
            deg, other = (g, a) if _is_degrees(g) else (a, g)
            assert isinstance(deg, Func)
            if _mentions_pi(other):
                # 90° against pi/2: the answer is in radians, convert the degrees
                radians = Mul((deg.args[0], Const("pi"), Num(Fraction(1, 180))))
                return self._eq(radians, other) if deg is g else self._eq(other, radians)
            return self._eq(deg.args[0], other) if deg is g else self._eq(other, deg.args[0])
        gi, ai = infinity_sign(g), infinity_sign(a)
        if gi or ai:
            self.path = "structural"
            return gi == ai
        if has_non_scalar(g) or has_non_scalar(a):
            # "-[0, 1)" or "2 * (1, 2)": arithmetic on a container is not a number
            self.path = "structural"
            return False
        decimal = has_decimal(g) or has_decimal(a)
        if self._equal_value(g, a, decimal):
            return True
        if not self.both_rational and self._same_family(g, a):
            self.path = "parameter"
            return True
        if decimal and self.tol.approximate:
            if isinstance(g, Num) and g.places and _rounds_to(g, a):
                self.path = "rounded_gold"
                return True
            if isinstance(a, Num) and a.places and _rounds_to(a, g):
                self.path = "rounded_answer"
                return True
        return False

    def _equal_value(self, g: Node, a: Node, decimal: bool) -> bool:
        too_large = False
        try:
            eg, ea = exact(g), exact(a)
        except TooLarge:
            eg = ea = None
            too_large = True
        # two rationals have no free variables: no parameter family to compare (a cheap skip)
        self.both_rational = eg is not None and ea is not None
        if eg is not None and ea is not None:
            self.path = "exact"
            if eg == ea:
                return True
            if decimal:
                self.path = "rounded"
                return self._rounded_eq(eg, ea)
            return False
        return self._numeric(g, a, decimal, too_large)

    def _same_family(self, g: Node, a: Node) -> bool:
        """``\\pi/3 + 2k\\pi`` vs ``\\pi/3 + 2t\\pi``: one integer parameter each, renamed.

        When the parameter is declared (``k \\in \\mathbb{Z}``) or the family is periodic
        in ``\\pi``, the two are compared as sets: ``c + s k`` equals ``c' + s' k`` when
        ``|s| = |s'|`` and ``(c' - c) / s`` is an integer (``7\\pi/3 + 2k\\pi`` is
        ``\\pi/3 + 2k\\pi``). Without either, only a renaming is accepted: ``2n - 1`` as a
        formula for the n-th term is not ``2n + 1``.
        """
        fg, fa = free_symbols(g), free_symbols(a)
        if len(fg) != 1 or len(fa) != 1:
            return False
        (p,), (q,) = fg, fa
        params = PARAMETER_NAMES | self.declared
        if p not in params or q not in params:
            return False
        as_set = bool({p, q} & self.declared) or (_mentions_pi(g) and _mentions_pi(a))
        if p != q and not as_set:
            return self._quiet_eq(g, rename_symbols(a, {q: p}))
        if not as_set:
            return False
        try:
            vg = [numeric_mp(g, {p: complex(i)}) for i in range(4)]
            va = [numeric_mp(a, {q: complex(i)}) for i in range(4)]
        except EvalError:
            return False
        sg, sa = vg[1] - vg[0], va[1] - va[0]
        tiny = 1e-25
        if abs(sg) < tiny or abs(abs(sg) - abs(sa)) > tiny * abs(sg):
            return False
        if any(
            abs(v[i + 1] - v[i] - s) > tiny * abs(s)
            for v, s in ((vg, sg), (va, sa))
            for i in range(3)
        ):
            return False  # not affine in the parameter
        steps = (va[0] - vg[0]) / sg
        return bool(abs(steps.imag) < tiny and abs(steps.real - round(float(steps.real))) < 1e-20)

    def _percent(self, g: Node, a: Node) -> bool:
        if isinstance(g, Percent) and isinstance(a, Percent):
            return self._eq(g.arg, a.arg)
        pct, other = (g, a) if isinstance(g, Percent) else (a, g)
        assert isinstance(pct, Percent)
        if not self.tol.percent:
            return self._scalar(Mul((pct.arg, Num(Fraction(1, 100)))), other)
        if self._quiet_eq(pct.arg, other):
            return True
        scaled = Mul((pct.arg, Num(Fraction(1, 100))))
        return self._eq(scaled, other) if pct is g else self._eq(other, scaled)

    def _rounded_eq(self, x: Fraction | complex, y: Fraction | complex) -> bool:
        p = self.tol.precision
        if isinstance(x, Fraction) and isinstance(y, Fraction):
            scale = 10**p
            if round(x * scale) == round(y * scale):
                return True
            return abs(x - y) <= Fraction(self.tol.rel_tol) * max(abs(x), abs(y))
        x, y = complex(x), complex(y)
        if abs(x.imag) > 1e-12 or abs(y.imag) > 1e-12:
            return abs(x - y) <= 10.0**-p * max(1.0, abs(x))
        if round(x.real, p) == round(y.real, p):
            return True
        return abs(x - y) <= max(self.tol.rel_tol * max(abs(x), abs(y)), 10.0**-p / 2 * 1.000001)

    def _rename(self, g: Node, a: Node) -> dict[str, str]:
        """With ``strict=False``, the answer's variables are renamed to the gold's (f(x) = f(y))."""
        if self.tol.strict:
            return {}
        gs, as_ = sorted(free_symbols(g)), sorted(free_symbols(a))
        if len(gs) != len(as_) or gs == as_:
            return {}
        return dict(zip(as_, gs, strict=True))

    def _numeric(self, g: Node, a: Node, decimal: bool, too_large: bool) -> bool:
        self.path = "numeric"
        rename = self._rename(g, a)
        if rename:
            a = rename_symbols(a, rename)
        names = sorted(free_symbols(g) | free_symbols(a))
        checked = 0
        needs_mp = too_large
        for env in _points(names):
            try:
                vg, va = numeric(g, env), numeric(a, env)
            except TooLarge:
                needs_mp = True
                break
            except EvalError:
                continue
            if decimal:
                if not self._rounded_eq(vg, va):
                    return False
            else:
                scale = max(abs(vg), abs(va))
                if scale < 1e-9:
                    needs_mp = True  # cancellation or genuinely tiny values: floats cannot tell
                    break
                if abs(vg - va) > (self.tol.rel_tol or _SCREEN_TOL) * scale:
                    return False
            checked += 1
            if not names:
                break
        if needs_mp:
            return self._numeric_mp(g, a, names, decimal, too_large)
        if checked:
            if not decimal and not self.tol.rel_tol:
                # Floats agree to ~9 digits; equality is confirmed at 40 digits, so that
                # sqrt(x^2+1) + 10^9 is not sqrt(x^2+1) + 10^9 + 1.
                return self._numeric_mp(g, a, names, decimal=False)
            return True
        return self._symbolic(g, a)

    def _numeric_mp(
        self, g: Node, a: Node, names: list[str], decimal: bool, too_large: bool = False
    ) -> bool:
        self.path = "numeric_mp"
        checked = 0
        for env in _points(names):
            try:
                vg, va = numeric_mp(g, env), numeric_mp(a, env)
            except TooLarge as exc:
                raise Undecided(str(exc)) from exc
            except EvalError:
                continue
            diff, scale = abs(vg - va), max(abs(vg), abs(va))
            if decimal:
                if (
                    diff > 10.0**-self.tol.precision / 2 * 1.000001
                    and diff > self.tol.rel_tol * scale
                ):
                    return False
            elif diff > scale * 1e-30 and diff > 1e-35:
                return False
            checked += 1
            if not names:
                break
        if checked:
            if too_large and not decimal:
                # Agreeing to 30 digits is not equality for numbers with millions of digits
                # (10^{10^{10}} vs 10^{10^{10}} + 1): different is provable, equal is not.
                raise Undecided("values too large to compare exactly agree to 30 digits")
            return True
        return self._symbolic(g, a)

    def _symbolic(self, g: Node, a: Node) -> bool:
        if not self.tol.use_sympy:
            return False
        from rewardsmith.rewards.math.symbolic import sympy_equal

        self.path = "sympy"
        verdict = sympy_equal(g, a)
        if verdict is None:
            raise Undecided("no numeric value and sympy could not decide")
        return verdict


_MIN_DIGITS: Final = 3
_MIN_DIGITS_MARKED: Final = 2


def _rounds_to(decimal: Num, other: Node) -> bool:
    """Whether ``other`` (an exact value: ``2\\sqrt{3}``, ``\\pi/4``, ``1/3``) rounds to
    ``decimal`` (``3.46``, ``0.79``) at the decimal's own number of places.

    The decimal needs at least 3 significant digits, or 2 when it is written as an
    approximation (``\\approx 0.79``): ``0.33`` may be exactly 33/100, and ``0.3`` does not
    state 1/3 (the same rule on either side). A rational with a terminating decimal
    expansion is never rounded: ``3/8`` is exactly ``0.375``, so a gold ``0.38`` means another
    number. Values with free variables are not compared this way.
    """
    places = decimal.places or 0
    if not 1 <= places <= 15 or isinstance(other, Num):
        return False  # a literal against a literal is compared as written
    if has_decimal(other) or free_symbols(other):
        return False
    scaled = abs(decimal.value) * 10**places
    if len(str(int(scaled)).lstrip("0")) < (_MIN_DIGITS_MARKED if decimal.approx else _MIN_DIGITS):
        return False
    half = Fraction(1, 2 * 10**places)
    try:
        value = exact(other)
    except TooLarge:
        return False
    if value is not None:
        denominator = value.denominator
        for prime in (2, 5):
            while denominator % prime == 0:
                denominator //= prime
        return denominator != 1 and abs(value - decimal.value) <= half
    try:
        precise = numeric_mp(other, {}, digits=30)
    except EvalError:
        return False
    # mpmath numbers (mpf and mpc) both have .real and .imag
    if abs(precise.imag) > 1e-25:
        return False
    ctx = precise.context
    target = precise.real - ctx.mpf(decimal.value.numerator) / decimal.value.denominator
    return bool(abs(target) <= ctx.mpf(half.numerator) / half.denominator * (1 + 1e-20))


def _graph_name(target: Node, value: Node) -> bool:
    """``y`` or ``f(x)`` naming a function of the variables of ``value`` (``y = 2x + 1``)."""
    if isinstance(target, Sym):
        return target.name == "y" and "y" not in free_symbols(value)
    if isinstance(target, Apply) and all(isinstance(arg, Sym) for arg in target.args):
        return {arg.name for arg in target.args if isinstance(arg, Sym)} >= free_symbols(value)
    return False


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


def _text_key(node: Node) -> str | None:
    if isinstance(node, Text):
        return "".join(ch for ch in node.text.lower() if ch.isalnum())
    if isinstance(node, Sym):
        return "".join(ch for ch in node.name.lower() if ch.isalnum())
    if isinstance(node, Mul) and all(isinstance(f, Sym) for f in node.factors):
        return "".join(f.name.lower() for f in node.factors if isinstance(f, Sym))
    if isinstance(node, Const) and node.name in ("e", "i"):
        return node.name
    return None


def _is_degrees(node: Node) -> bool:
    return isinstance(node, Func) and node.name == "degrees"


def _mentions_pi(node: Node) -> bool:
    return any(n == Const("pi") for n in walk(node))


_POINT_COUNT: Final = 4
_RNG_SEED: Final = 20240611


def _points(names: list[str]) -> list[dict[str, complex]]:
    """Fixed pseudo-random real points in [0.4, 2.4] (positive: roots and logs stay real)."""
    if not names:
        return [{}]
    rng = random.Random(_RNG_SEED + len(names))
    return [{name: complex(0.4 + 2 * rng.random()) for name in names} for _ in range(_POINT_COUNT)]

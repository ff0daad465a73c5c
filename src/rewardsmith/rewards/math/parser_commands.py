"""The LaTeX command table: what each ``\\command`` reads as.

Relation and operator commands (``\\le``, ``\\cdot``) are tables the expression grammar
consults between operands. `read_command` reads the rest where an operand starts: constants
(``\\pi``, ``\\infty``), Greek letters and unknown commands as names, function application
(``\\sin 2x``, ``\\log_2 8``, ``\\sin^{-1} x``), structures (``\\frac``, ``\\sqrt``, delimiters:
`parser_structures`), and decoration commands (``\\boxed``, ``\\mathbf``) that are read
through to their argument.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from rewardsmith.rewards.math.nodes import (
    Const,
    Func,
    Interval,
    Mul,
    Node,
    Num,
    PlusMinus,
    Pow,
    Seq,
    Sym,
)
from rewardsmith.rewards.math.parser_cursor import Grammar
from rewardsmith.rewards.math.parser_structures import (
    read_abs_command,
    read_angle_tuple,
    read_floor,
    read_fraction,
    read_sqrt,
)
from rewardsmith.rewards.math.tokens import FUNCTIONS

__all__ = ["APPLY_LETTERS", "OP_CMDS", "REL_CMDS", "read_command"]

REL_CMDS: Final = {
    "le": "<=",
    "leq": "<=",
    "leqslant": "<=",
    "leqq": "<=",
    "ge": ">=",
    "geq": ">=",
    "geqslant": ">=",
    "geqq": ">=",
    "lt": "<",
    "gt": ">",
    "ne": "!=",
    "neq": "!=",
    "approx": "~",
    "simeq": "~",
    "equiv": "=",
    "in": "in",
    "to": "=",
    "Rightarrow": "=>",
    "implies": "=>",
    "iff": "=>",
    "Longrightarrow": "=>",
    "rightarrow": "=",
}
"""Relation commands and the relation each one states."""

OP_CMDS: Final = {"cdot": "*", "times": "*", "ast": "*", "div": "/", "colon": ":"}
"""Operator commands and the operator each one is."""

APPLY_LETTERS: Final = frozenset("fghFGHPQ")
"""Letters read as functions before ``(``: ``f(x)`` is an application, ``a(b+c)`` a product."""

_CONST_CMDS: Final = {"pi": "pi", "infty": "inf", "infinity": "inf", "imath": "i", "e": "e"}

_IGNORED_CMDS: Final = frozenset(
    {
        "boxed",
        "fbox",
        "displaystyle",
        "mathbb",
        "mathcal",
        "mathfrak",
        "vec",
        "overline",
        "underline",
        "hat",
        "bar",
        "tilde",
        "widehat",
        "overrightarrow",
        "ensuremath",
        "mathop",
        "label",
        "nonumber",
        "notag",
        "color",
        "textcolor",
    }
)
"""Decoration: read through to the argument (``\\vec{v}`` is ``v``)."""

_GREEK: Final = frozenset(
    {
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Xi",
        "Pi",
        "Sigma",
        "Phi",
        "Psi",
        "Omega",
        "ell",
    }
)

_ALL_REALS: Final = (("op", "{"), ("letter", "R"), ("op", "}"))


def read_command(p: Grammar, name: str) -> Node:
    """The operand that starts with ``\\name`` (the command token is already taken)."""
    if name == "frac":
        return read_fraction(p)
    if name == "binom":
        return Func("binom", (p.parse_group(), p.parse_group()))
    if name == "sqrt":
        return read_sqrt(p)
    if name in _CONST_CMDS:
        return Const(_CONST_CMDS[name])
    if name in ("pm", "mp"):
        return PlusMinus(None, p.parse_power())
    if name in ("lfloor", "lceil"):
        return read_floor(p, name)
    if name in ("lvert", "vert", "mid"):
        return read_abs_command(p)
    if name in ("langle",):
        return read_angle_tuple(p)
    if name in FUNCTIONS:
        return _read_function(p, name)
    if name in _GREEK:
        return Sym(name)
    if name == "mathbb" and tuple(p.peek(k) for k in range(3)) == _ALL_REALS:
        p.i += 3  # \mathbb{R}: every real number
        return Interval(Mul((Num(Fraction(-1)), Const("inf"))), Const("inf"), False, False)
    if name in _IGNORED_CMDS:
        if p.at_op("{"):
            return p.parse_group()
        return p.parse_power()
    if name == "emptyset" or name == "varnothing":
        return Seq("set", ())
    if name in ("dots", "ldots", "cdots"):
        return Sym("...")
    # An unknown command is a name (\zzz): compared by name like a variable.
    return Sym(name)


def _read_function(p: Grammar, name: str) -> Node:
    """``\\sin x``, ``\\sin(x)``, ``\\log_2 8``, ``\\sin^2 x``; ``\\sin^{-1}`` is arcsin.

    Without brackets the argument runs over the implicit product that follows
    (``\\sin 2x`` is ``sin(2x)``), up to text, another function or a bracket.
    """
    power: Node | None = None
    base: Node | None = None
    if name == "log" and p.at_op("_"):
        p.i += 1
        base = p.parse_group()
    if p.at_op("^"):
        p.i += 1
        power = p.parse_postfix_atom()
    if p.at_op("("):
        p.i += 1
        arg = p.parse_list(stop=(")",))
        p.expect_op(")")
    elif p.at_op("{"):
        arg = p.parse_group()
    else:
        factors = [p.parse_power()]
        while (
            p.starts_implicit()
            and p.peek()[0] != "text"
            and not (p.peek()[0] == "cmd" and p.peek()[1] in FUNCTIONS)
            and not p.at_op("(", "|")
        ):
            factors.append(p.parse_power())
        arg = factors[0] if len(factors) == 1 else Mul(tuple(factors))
    args = arg.items if isinstance(arg, Seq) and arg.kind == "list" else (arg,)
    if base is not None:
        node: Node = Func("logb", (args[0], base))
    elif name == "lg":
        node = Func("logb", (args[0], Num(Fraction(10))))
    else:
        node = Func(name, tuple(args))
    if power is not None:
        if power == Num(Fraction(-1)) and name in ("sin", "cos", "tan"):
            return Func("arc" + name, tuple(args))
        node = Pow(node, power)
    return node

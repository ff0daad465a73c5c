"""A recursive-descent parser from cleaned LaTeX / plain math to the answer AST (`nodes`).

It reads the notation final answers are written in: numbers (thousands separators,
decimals), fractions, radicals, powers, factorials, functions, constants, plus-minus,
percentages, tuples, sets, intervals and unions, matrices, relations and chains of them,
``\\text{}`` words and subscripted names. It is not a full LaTeX parser: what it cannot read
raises `ParseError`, and the verifier then falls back to comparing normalised text.

Known failure modes: implicit multiplication is guessed (``f(x)`` is a function application
for ``f, g, h``, a product otherwise); ``\\sin 2x`` is ``sin(2x)``; a comma between groups of
exactly three digits at bracket depth zero is a thousands separator (``1,000`` is 1000 but
``[1,000]`` is a list).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from rewardsmith.rewards.math.nodes import (
    Add,
    Apply,
    BaseNum,
    Const,
    Func,
    Interval,
    Matrix,
    Mul,
    Node,
    Num,
    Percent,
    PlusMinus,
    Pow,
    Rel,
    Seq,
    Sym,
    Text,
    Union,
)
from rewardsmith.rewards.math.relations import relation_to_set
from rewardsmith.rewards.math.tokens import (
    FUNCTIONS,
    VALUE_WITH_UNIT,
    ParseError,
    convert_separators,
    text_kind,
    tokenize,
)

__all__ = ["MAX_DEPTH", "ParseError", "parse_math", "tokenize"]

MAX_DEPTH: Final = 60
"""Deepest nesting the parser follows; deeper input is refused (no recursion blow-up)."""


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

_REL_CMDS: Final = {
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

_OP_CMDS: Final = {"cdot": "*", "times": "*", "ast": "*", "div": "/", "colon": ":"}

_APPLY_LETTERS: Final = frozenset("fghFGHPQ")

_MATRIX_ENVS: Final = frozenset(
    {"pmatrix", "bmatrix", "matrix", "vmatrix", "Bmatrix", "smallmatrix", "array", "Vmatrix"}
)


_CONST_CMDS: Final = {"pi": "pi", "infty": "inf", "infinity": "inf", "imath": "i", "e": "e"}


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.i = 0
        self.depth = 0
        self.abs_depth = 0

    # -- token helpers ----------------------------------------------------------------------
    def peek(self, offset: int = 0) -> tuple[str, str]:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def at_op(self, *values: str) -> bool:
        kind, value = self.peek()
        return kind == "op" and value in values

    def expect_op(self, value: str) -> None:
        if value == "}" and self.peek()[0] == "eof":
            return  # a brace left open at the very end (a truncated gold answer) closes there
        if not self.at_op(value):
            raise ParseError(f"expected {value!r}, found {self.peek()[1]!r}")
        self.i += 1

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("answer is nested too deeply")

    # -- grammar ----------------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.parse_list(stop=())
        if self.peek()[0] != "eof":
            raise ParseError(f"unexpected {self.peek()[1]!r}")
        return node

    def parse_list(self, stop: tuple[str, ...]) -> Node:
        items: list[Node] = []
        while True:
            while self.at_op(",", ";"):
                self.i += 1
            if self.peek()[0] == "eof" or self.at_op(*stop):
                break
            items.append(self.parse_relation())
            if not self.at_op(",", ";"):
                break
        if not items:
            raise ParseError("empty answer")
        return items[0] if len(items) == 1 else Seq("list", tuple(items))

    def rel_op(self) -> str | None:
        kind, value = self.peek()
        if kind == "op" and value in ("=", "<", ">", "<=", ">=", "!=", "=>", "==", "->"):
            return {"==": "=", "->": "="}.get(value, value)
        if kind == "cmd" and value in _REL_CMDS:
            return _REL_CMDS[value]
        return None

    def parse_relation(self) -> Node:
        parts = [self.parse_ratio()]
        ops: list[str] = []
        while (op := self.rel_op()) is not None:
            self.i += 1
            if op == "=>":  # "a = b => c": keep what follows the implication
                parts, ops = [self.parse_ratio()], []
                continue
            ops.append(op)
            parts.append(self.parse_ratio())
        return parts[0] if not ops else Rel(tuple(parts), tuple(ops))

    def parse_ratio(self) -> Node:
        items = [self.parse_union()]
        while self.at_op(":"):
            self.i += 1
            items.append(self.parse_union())
        return items[0] if len(items) == 1 else Seq("ratio", tuple(items))

    def parse_union(self) -> Node:
        items = [self.parse_sum()]
        while self.peek() in (("cmd", "cup"), ("letter", "U")) and self.peek(1)[1] in "([lset":
            self.i += 1
            items.append(self.parse_sum())
        return items[0] if len(items) == 1 else Union(tuple(items))

    def parse_sum(self) -> Node:
        self.enter()
        terms: list[Node] = []
        pm: list[Node] = []
        sign = ""
        if self.at_op("+", "-") or self.peek() in (("cmd", "pm"), ("cmd", "mp")):
            sign = self.take()[1]
        while True:
            term = self.parse_term()
            if sign == "-":
                term = _neg(term)
            if sign in ("pm", "mp"):
                pm.append(term)
            else:
                terms.append(term)
            if self.at_op("+", "-") or self.peek() in (("cmd", "pm"), ("cmd", "mp")):
                sign = self.take()[1]
                continue
            break
        self.depth -= 1
        base: Node | None = None
        if terms:
            base = terms[0] if len(terms) == 1 else Add(tuple(terms))
        if pm:
            spread = pm[0] if len(pm) == 1 else Add(tuple(pm))
            return PlusMinus(base, spread)
        assert base is not None
        return base

    def parse_term(self) -> Node:
        from_text = self.peek()[0] == "text"
        factors = [self.parse_unary()]
        while True:
            kind, value = self.peek()
            if kind == "op" and value in ("*", "/"):
                self.i += 1
                nxt = self.parse_unary()
                factors.append(nxt if value == "*" else Pow(nxt, Num(Fraction(-1))))
            elif kind == "cmd" and value in _OP_CMDS and _OP_CMDS[value] in "*/":
                self.i += 1
                nxt = self.parse_unary()
                factors.append(nxt if _OP_CMDS[value] == "*" else Pow(nxt, Num(Fraction(-1))))
            elif self.starts_implicit():
                if kind == "text" or kind == "word":
                    # Words after a value are units ("15 cm", "3 \text{ apples}"): dropped,
                    # except number words that scale it ("4 dozen" is 48).
                    self.i += 1
                    if _QUALIFIERS.intersection(value.lower().replace(",", " ").split()):
                        # "5 \text{ or more}", "5 at most": a bound, not the value
                        raise ParseError("a value qualified by the words after it")
                    scale = _multiplier(value)
                    if scale is not None:
                        factors.append(Num(Fraction(scale)))
                    nxt_kind = self.peek()[0]
                    if (
                        nxt_kind in ("num", "sci", "letter", "cmd", "begin")
                        and self.starts_implicit()
                    ):
                        # "5 \text{ to } 10" is not 5 times 10: words between two values
                        raise ParseError("words between two values")
                    continue
                nxt = self.parse_power()
                if len(factors) == 1 and _is_mixed_number(factors[0], nxt):
                    # "2\frac{1}{3}" is the mixed number 7/3, not 2/3
                    factors[0] = Add((factors[0], nxt))
                    continue
                factors.append(nxt)
            else:
                break
        if len(factors) > 1 and from_text and _is_neutral_prose(factors[0]):
            # "\text{There are } 5 \text{ apples}": words before a value that do not qualify
            # it ("at least", "not", "about" do) are dropped like the unit after it.
            factors = factors[1:]
        return factors[0] if len(factors) == 1 else Mul(tuple(factors))

    def starts_implicit(self) -> bool:
        kind, value = self.peek()
        if kind in ("num", "sci", "letter", "begin", "word"):
            return True
        if kind == "text":
            return text_kind(value) != "sep"
        if kind == "cmd":
            return (
                value not in _REL_CMDS
                and value not in _OP_CMDS
                and value
                not in ("pm", "mp", "cup", "cap", "setminus", "rfloor", "rceil", "right", "end")
            )
        if kind == "op":
            if value == "|":
                return self.abs_depth == 0
            return value in ("(", "{", "lset")
        return False

    def parse_unary(self) -> Node:
        if self.at_op("-"):
            self.i += 1
            return _neg(self.parse_unary())
        if self.at_op("+"):
            self.i += 1
            return self.parse_unary()
        return self.parse_power()

    def parse_power(self) -> Node:
        self.enter()
        base = self.parse_postfix()
        if self.at_op("^"):
            self.i += 1
            if self.at_op("-"):
                self.i += 1
                exp = _neg(self.parse_postfix_atom())
            else:
                exp = self.parse_postfix_atom()
            base = Pow(base, exp)
            base = self.parse_suffixes(base)
        self.depth -= 1
        return base

    def parse_postfix_atom(self) -> Node:
        """An exponent: a group, or one number / letter / command.

        ``x^21`` is ``x^{21}`` here, not TeX's ``x^2 \\cdot 1``: in model output an unbraced
        multi-digit exponent means the whole number (``2^10`` is 1024).
        """
        kind, value = self.peek()
        if kind == "num":
            self.i += 1
            return _number(value)
        return self.parse_primary()

    def parse_postfix(self) -> Node:
        return self.parse_suffixes(self.parse_primary())

    def parse_suffixes(self, node: Node) -> Node:
        while True:
            if self.at_op("!"):
                self.i += 1
                node = Func("factorial", (node,))
            elif self.at_op("%"):
                self.i += 1
                node = Percent(node)
            elif self.at_op("°"):
                self.i += 1
                node = Func("degrees", (node,))
            elif self.at_op("'"):
                self.i += 1
                node = Sym(node.name + "'") if isinstance(node, Sym) else node
            elif self.at_op("_"):
                self.i += 1
                sub = self.read_subscript()
                if isinstance(node, Num) and node.places is None and sub.isdigit():
                    node = BaseNum(str(node.value), int(sub))
                elif isinstance(node, Sym | Const):
                    node = Sym(f"{node.name}_{sub}")
                elif isinstance(node, Func) and node.name == "log":
                    node = node
                # other subscripts (on a bracket) carry no value: ignored
            else:
                return node

    def read_subscript(self) -> str:
        kind, value = self.take()
        if kind == "op" and value == "{":
            parts: list[str] = []
            depth = 1
            while True:
                kind, value = self.take()
                if kind == "eof":
                    raise ParseError("unclosed subscript")
                if kind == "op" and value == "{":
                    depth += 1
                elif kind == "op" and value == "}":
                    depth -= 1
                    if depth == 0:
                        break
                parts.append(value)
            return "".join(parts).replace(" ", "")
        if kind == "num":
            if len(value) > 1:  # x_12 is x_1 * 2 in TeX, but people mean x_{12}
                return value
            return value
        return value

    def parse_group(self) -> Node:
        """A ``{...}`` argument, or a single token (``\\frac12``)."""
        if self.at_op("{"):
            self.i += 1
            node = self.parse_list(stop=("}",))
            self.expect_op("}")
            return node
        kind, value = self.peek()
        if kind == "num" and len(value) > 1 and "." not in value:
            self.i += 1
            self.toks.insert(self.i, ("num", value[1:]))
            return _number(value[0])
        return self.parse_power()

    def parse_primary(self) -> Node:
        self.enter()
        try:
            return self._primary()
        finally:
            self.depth -= 1

    def _primary(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return _number(value)
        if kind == "sci":
            mantissa, _, exponent = value.lower().partition("e")
            base = _number(mantissa)
            scaled = base.value * Fraction(10) ** int(exponent)
            return Num(
                scaled,
                None
                if scaled.denominator == 1 and base.places is None
                else max(0, (base.places or 0) - int(exponent)),
            )
        if kind == "letter":
            if self.at_op("(") and (
                value in _APPLY_LETTERS or (value.isupper() and self._single_letter_argument())
            ):
                self.i += 1
                args = self.parse_list(stop=(")",))
                self.expect_op(")")
                items = args.items if isinstance(args, Seq) and args.kind == "list" else (args,)
                return Apply(value, tuple(items))
            if value == "i":
                return Const("i")
            if value == "e":
                return Const("e")
            return Sym(value)
        if kind == "word":
            return Text(value)
        if kind == "text":
            return self.text_node(value)
        if kind == "begin":
            return self.parse_env(value)
        if kind == "op":
            return self.parse_bracketed(value)
        if kind == "cmd":
            return self.parse_command(value)
        raise ParseError(f"unexpected {value or kind!r}")

    def _single_letter_argument(self) -> bool:
        """``W(n)``: an upper-case name applied to one variable reads as a function."""
        return self.peek(1)[0] == "letter" and self.peek(2) == ("op", ")")

    def text_node(self, content: str) -> Node:
        which = text_kind(content)
        if which == "math":
            inner = _Parser(tokenize(content))
            inner.depth = self.depth
            return inner.parse()
        if which == "value_unit":
            found = VALUE_WITH_UNIT.fullmatch(content.strip())
            assert found is not None
            number, words = found.group(1).replace(",", ""), found.group(2)
            if _QUALIFIERS.intersection(words.lower().split()):
                return Text(content.strip())  # "5 or more" is a bound, not the value
            value: Node = _number(number)
            scale = _multiplier(words)
            return Mul((value, Num(Fraction(scale)))) if scale is not None else value
        if which == "empty":
            if self.starts_implicit():
                return self.parse_power()
            return Text("")
        return Text(content.strip())

    def parse_bracketed(self, value: str) -> Node:
        if value == "{":
            node = self.parse_list(stop=("}",))
            self.expect_op("}")
            return node
        if value == "lset":
            if self.at_op("rset"):
                self.i += 1
                return Seq("set", ())
            divider = self._set_builder_divider()
            if divider is not None:
                return self.parse_set_builder(divider)
            node = self.parse_list(stop=("rset",))
            self.expect_op("rset")
            items = node.items if isinstance(node, Seq) and node.kind == "list" else (node,)
            return Seq("set", tuple(items))
        if value in ("(", "["):
            node = self.parse_list(stop=(")", "]"))
            close = self.take()
            if close[0] != "op" or close[1] not in (")", "]"):
                raise ParseError("unclosed bracket")
            items = node.items if isinstance(node, Seq) and node.kind == "list" else (node,)
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
            self.abs_depth += 1
            try:
                inner = self.parse_sum()
            finally:
                self.abs_depth -= 1
            self.expect_op("|")
            return Func("abs", (inner,))
        raise ParseError(f"unexpected {value!r}")

    def _set_builder_divider(self) -> int | None:
        """Index of the ``:`` / ``|`` / ``\\mid`` of ``\\{x : x \\le 4\\}``, or None.

        Only a divider at the set's own bracket depth, after a short head (``x`` or
        ``x \\in \\mathbb{R}``), counts: ``\\{1:2, 3\\}`` stays a set of ratios.
        """
        depth = 0
        for j in range(self.i, min(len(self.toks), self.i + 12)):
            kind, value = self.toks[j]
            if kind == "op" and value in ("(", "[", "{", "lset"):
                depth += 1
            elif kind == "op" and value in (")", "]", "}", "rset"):
                if depth == 0:
                    return None
                depth -= 1
            elif depth == 0 and (
                (kind == "op" and value in (":", "|"))
                or (kind == "cmd" and value in ("mid", "colon"))
            ):
                head = self.toks[self.i : j]
                return j if head and head[0][0] in ("letter", "cmd") and j - self.i <= 8 else None
            elif depth == 0 and kind == "op" and value in (",", ";"):
                return None
        return None

    def parse_set_builder(self, divider: int) -> Node:
        """``\\{x : x \\le 4\\}``: the set its condition describes (an interval when the
        condition is an inequality in one unknown, else the condition itself)."""
        self.i = divider + 1
        condition = self.parse_list(stop=("rset",))
        self.expect_op("rset")
        if isinstance(condition, Rel):
            described = relation_to_set(condition)
            if described is not None:
                return described
        return condition

    def parse_command(self, name: str) -> Node:
        if name == "frac":
            num = self.parse_group()
            den = self.parse_group()
            return Mul((num, Pow(den, Num(Fraction(-1)))))
        if name == "binom":
            return Func("binom", (self.parse_group(), self.parse_group()))
        if name == "sqrt":
            if self.at_op("["):
                self.i += 1
                index = self.parse_list(stop=("]",))
                self.expect_op("]")
                return Func("root", (self.parse_group(), index))
            return Func("sqrt", (self.parse_group(),))
        if name in _CONST_CMDS:
            return Const(_CONST_CMDS[name])
        if name in ("pm", "mp"):
            return PlusMinus(None, self.parse_power())
        if name in ("lfloor", "lceil"):
            inner = self.parse_sum()
            closer = self.take()
            if closer[0] != "cmd" or closer[1] not in ("rfloor", "rceil"):
                raise ParseError("unclosed floor/ceiling")
            return Func("floor" if name == "lfloor" else "ceil", (inner,))
        if name in ("lvert", "vert", "mid"):
            self.abs_depth += 1
            try:
                inner = self.parse_sum()
            finally:
                self.abs_depth -= 1
            closer = self.take()
            if closer not in (("cmd", "rvert"), ("cmd", "vert"), ("cmd", "mid"), ("op", "|")):
                raise ParseError("unclosed absolute value")
            return Func("abs", (inner,))
        if name in ("langle",):
            node = self.parse_list(stop=())
            if self.peek() == ("cmd", "rangle"):
                self.i += 1
            items = node.items if isinstance(node, Seq) and node.kind == "list" else (node,)
            return Seq("tuple", tuple(items))
        if name in FUNCTIONS:
            return self.parse_function(name)
        if name in _GREEK:
            return Sym(name)
        if name == "mathbb" and [self.peek(k) for k in range(3)] == [
            ("op", "{"),
            ("letter", "R"),
            ("op", "}"),
        ]:
            self.i += 3  # \mathbb{R}: every real number
            return Interval(Mul((Num(Fraction(-1)), Const("inf"))), Const("inf"), False, False)
        if name in _IGNORED_CMDS:
            if self.at_op("{"):
                return self.parse_group()
            return self.parse_power()
        if name == "emptyset" or name == "varnothing":
            return Seq("set", ())
        if name in ("dots", "ldots", "cdots"):
            return Sym("...")
        # An unknown command is a name (\zzz): compared by name like a variable.
        return Sym(name)

    def parse_function(self, name: str) -> Node:
        power: Node | None = None
        base: Node | None = None
        if name == "log" and self.at_op("_"):
            self.i += 1
            base = self.parse_group()
        if self.at_op("^"):
            self.i += 1
            power = self.parse_postfix_atom()
        if self.at_op("("):
            self.i += 1
            arg = self.parse_list(stop=(")",))
            self.expect_op(")")
        elif self.at_op("{"):
            arg = self.parse_group()
        else:
            factors = [self.parse_power()]
            while (
                self.starts_implicit()
                and self.peek()[0] != "text"
                and not (self.peek()[0] == "cmd" and self.peek()[1] in FUNCTIONS)
                and not self.at_op("(", "|")
            ):
                factors.append(self.parse_power())
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

    def parse_env(self, env: str) -> Node:
        if env not in _MATRIX_ENVS:
            node = self.parse_list(stop=())
            if self.peek()[0] == "end":
                self.i += 1
            return node
        rows: list[tuple[Node, ...]] = []
        row: list[Node] = []
        while True:
            kind, value = self.peek()
            if kind == "eof":
                raise ParseError(f"unclosed {env}")
            if kind == "end":
                self.i += 1
                break
            if kind == "op" and value == "&":
                self.i += 1
                continue
            if kind == "op" and value == "rowsep":
                self.i += 1
                if row:
                    rows.append(tuple(row))
                row = []
                continue
            row.append(self.parse_sum())
            if not (self.at_op("&", "rowsep") or self.peek()[0] == "end"):
                raise ParseError("bad matrix cell")
        if row:
            rows.append(tuple(row))
        if not rows or len({len(r) for r in rows}) != 1:
            raise ParseError("ragged matrix")
        node = Matrix(tuple(rows))
        if env == "vmatrix":
            return Func("det", (node,))
        return node


_MULTIPLIERS: Final = {
    "dozen": 12,
    "hundred": 100,
    "thousand": 1000,
    "million": 10**6,
    "billion": 10**9,
    "trillion": 10**12,
}
_QUALIFIERS: Final = frozenset(
    [
        "not",
        "no",
        "never",
        "neither",
        "nor",
        "least",
        "most",
        "than",
        "between",
        "about",
        "approximately",
        "around",
        "nearly",
        "almost",
        "roughly",
        "under",
        "over",
        "more",
        "less",
        "fewer",
        "except",
        "or",
        "either",
        "maybe",
        "perhaps",
        "possibly",
        "up",
        "below",
        "above",
        "within",
        "if",
        "unless",
        "only",
        "exceed",
        "exceeds",
        "greater",
        "smaller",
        "larger",
        "bigger",
    ]
)


def _multiplier(words: str) -> int | None:
    """The factor a unit-position word scales a value by ("dozen" is 12), or None."""
    first = words.strip().split(" ", 1)[0].lower() if words.strip() else ""
    return _MULTIPLIERS.get(first)


def _is_neutral_prose(node: Node) -> bool:
    """Words that introduce a value without qualifying it ("There are", "we get")."""
    if not isinstance(node, Text) or not node.text.strip():
        return False
    words = node.text.lower().replace(",", " ").replace(":", " ").split()
    return (
        all(w.isalpha() for w in words)
        and not _QUALIFIERS.intersection(words)
        and _multiplier(node.text) is None
    )


def _is_mixed_number(whole: Node, frac: Node) -> bool:
    """An integer literal followed by a fraction of integer literals: ``2\\frac{1}{3}``."""
    if not (isinstance(whole, Num) and whole.places is None and whole.value.denominator == 1):
        return False
    if not (isinstance(frac, Mul) and len(frac.factors) == 2):
        return False
    num, den = frac.factors
    return (
        isinstance(num, Num)
        and num.places is None
        and num.value > 0
        and isinstance(den, Pow)
        and isinstance(den.base, Num)
        and den.base.places is None
        and den.exp == Num(Fraction(-1))
        and den.base.value > num.value
    )


def _number(text: str) -> Num:
    if "." in text:
        whole, _, frac = text.partition(".")
        return Num(
            Fraction(int(whole or "0") * 10 ** len(frac) + int(frac or "0"), 10 ** len(frac)),
            len(frac),
        )
    return Num(Fraction(int(text)))


def _neg(node: Node) -> Node:
    if isinstance(node, Num):
        return Num(-node.value, node.places)
    return Mul((Num(Fraction(-1)), node))


def parse_math(text: str) -> Node:
    """Parse cleaned answer text into a node; raises `ParseError` when it is not math we read.

    Example:
        >>> from rewardsmith.rewards.math.nodes import render
        >>> render(parse_math(r"\\frac{1}{2}"))
        '1*2^-1'
        >>> render(parse_math("[0, 1)"))
        '[0, 1)'
    """
    tokens = convert_separators(tokenize(text))
    if len(text) > 2 and not tokens:
        raise ParseError("nothing to parse")
    try:
        return _Parser(tokens).parse()
    except RecursionError as exc:  # pragma: no cover - MAX_DEPTH should stop this first
        raise ParseError("answer is nested too deeply") from exc

"""A recursive-descent parser from cleaned LaTeX / plain math to the answer AST (`nodes`).

It reads the notation final answers are written in: numbers (thousands separators,
decimals), fractions, radicals, powers, factorials, functions, constants, plus-minus,
percentages, tuples, sets, intervals and unions, matrices, relations and chains of them,
``\\text{}`` words and subscripted names. It is not a full LaTeX parser: what it cannot read
raises `ParseError`, and the verifier then falls back to comparing normalised text.

How the parts fit. `tokens` splits the text into ``(kind, value)`` tokens. This module holds
the expression grammar, loosest binding first: list (``,``) > relation (``=``, ``<``) >
ratio (``:``) > union (``\\cup``) > sum > term (explicit and implicit products) > unary sign
> power > postfix marks (``!``, ``%``, ``°``, subscripts) > primary. A primary that is more
than a token is read by a helper module, which recurses back through the rules that
`parser_cursor.Grammar` names:

- `parser_cursor`: the position in the tokens and the nesting bound;
- `parser_numbers`: number literals, exact;
- `parser_structures`: brackets, sets, intervals, ``\\frac``, ``\\sqrt``, matrices;
- `parser_commands`: the ``\\command`` table and function application;
- `parser_prose`: words around a value (units, ``dozen``, ``at least``).

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
from rewardsmith.rewards.math.parser_commands import APPLY_LETTERS, OP_CMDS, REL_CMDS, read_command
from rewardsmith.rewards.math.parser_cursor import MAX_DEPTH, Grammar
from rewardsmith.rewards.math.parser_numbers import is_mixed_number, negate, number, scientific
from rewardsmith.rewards.math.parser_prose import (
    is_neutral_prose,
    read_words_after_value,
    value_with_unit,
)
from rewardsmith.rewards.math.parser_structures import read_bracketed, read_env
from rewardsmith.rewards.math.tokens import ParseError, convert_separators, text_kind, tokenize

__all__ = ["MAX_DEPTH", "ParseError", "parse_math", "tokenize"]

_RELATION_OPS: Final = {
    **{op: op for op in ("=", "<", ">", "<=", ">=", "!=", "=>")},
    "==": "=",
    "->": "=",
}
"""Relation operators as written and the relation each states."""
_NOT_IMPLICIT_CMDS: Final = frozenset(
    {"pm", "mp", "cup", "cap", "setminus", "rfloor", "rceil", "right", "end"}
)
"""Commands that end a product: signs, set operators and closing delimiters."""


class _Parser(Grammar):
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
        if kind == "op" and value in _RELATION_OPS:
            return _RELATION_OPS[value]
        if kind == "cmd" and value in REL_CMDS:
            return REL_CMDS[value]
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
                term = negate(term)
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
            elif kind == "cmd" and value in OP_CMDS and OP_CMDS[value] in "*/":
                self.i += 1
                nxt = self.parse_unary()
                factors.append(nxt if OP_CMDS[value] == "*" else Pow(nxt, Num(Fraction(-1))))
            elif self.starts_implicit():
                if kind == "text" or kind == "word":
                    # Words after a value are units ("15 cm", "3 \text{ apples}"): dropped,
                    # except number words that scale it ("4 dozen" is 48).
                    scale = read_words_after_value(self, value)
                    if scale is not None:
                        factors.append(scale)
                    continue
                nxt = self.parse_power()
                if len(factors) == 1 and is_mixed_number(factors[0], nxt):
                    # "2\frac{1}{3}" is the mixed number 7/3, not 2/3
                    factors[0] = Add((factors[0], nxt))
                    continue
                factors.append(nxt)
            else:
                break
        if len(factors) > 1 and from_text and is_neutral_prose(factors[0]):
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
                value not in REL_CMDS and value not in OP_CMDS and value not in _NOT_IMPLICIT_CMDS
            )
        if kind == "op":
            if value == "|":
                return self.abs_depth == 0  # inside |...| a bar closes, it does not multiply
            return value in ("(", "{", "lset")
        return False

    def parse_unary(self) -> Node:
        if self.at_op("-"):
            self.i += 1
            return negate(self.parse_unary())
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
                exp = negate(self.parse_postfix_atom())
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
            return number(value)
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
                # other subscripts (on a bracket or a function) carry no value: ignored
            else:
                return node

    def parse_group(self) -> Node:
        """A ``{...}`` argument, or a single token (``\\frac12``)."""
        if self.at_op("{"):
            self.i += 1
            node = self.parse_list(stop=("}",))
            self.expect_op("}")
            return node
        kind, value = self.peek()
        if kind == "num" and len(value) > 1 and "." not in value:
            # \frac12 is \frac{1}{2}: split the number token, leave the rest for the next group
            self.i += 1
            self.toks.insert(self.i, ("num", value[1:]))
            return number(value[0])
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
            return number(value)
        if kind == "sci":
            return scientific(value)
        if kind == "letter":
            if self.at_op("(") and (
                value in APPLY_LETTERS or (value.isupper() and self._single_letter_argument())
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
            return read_env(self, value)
        if kind == "op":
            return read_bracketed(self, value)
        if kind == "cmd":
            return read_command(self, value)
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
            return value_with_unit(content)
        if which == "empty":
            if self.starts_implicit():
                return self.parse_power()
            return Text("")
        return Text(content.strip())


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

"""The parser's position in the token list, and the grammar rules other modules recurse into.

`Cursor` holds the tokens (``(kind, value)`` pairs from `tokens.tokenize`), the position and
two depths: ``depth`` bounds nesting (`MAX_DEPTH`, so hostile input cannot exhaust the
stack) and ``abs_depth`` tells a closing ``|`` from an opening one. `Grammar` names the rules
of `parser` that the readers of LaTeX structures and commands call back into; `parser`'s
`_Parser` defines them, so those modules never import `parser` (no cycle).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Final

from rewardsmith.rewards.math.nodes import Node
from rewardsmith.rewards.math.tokens import ParseError

__all__ = ["MAX_DEPTH", "Cursor", "Grammar"]

MAX_DEPTH: Final = 60
"""Deepest nesting the parser follows; deeper input is refused (no recursion blow-up)."""


class Cursor:
    """A position in a token list, with the nesting depths the grammar keeps."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.i = 0
        self.depth = 0
        self.abs_depth = 0

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

    def read_subscript(self) -> str:
        """The raw text of a subscript: ``{...}`` joined without spaces, or one token."""
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
        # x_12 is x_1 * 2 in TeX, but people mean x_{12}: a number token is taken whole
        return value


class Grammar(Cursor, ABC):
    """The rules of `parser._Parser` that structures, commands and prose recurse into."""

    @abstractmethod
    def parse_list(self, stop: tuple[str, ...]) -> Node:
        """Comma- or semicolon-separated items up to one of ``stop`` (not consumed)."""

    @abstractmethod
    def parse_sum(self) -> Node:
        """Terms joined by ``+``, ``-``, ``\\pm``."""

    @abstractmethod
    def parse_power(self) -> Node:
        """One factor with its exponent and postfix marks (``x^2``, ``5!``)."""

    @abstractmethod
    def parse_group(self) -> Node:
        """A ``{...}`` argument, or a single token (``\\frac12``)."""

    @abstractmethod
    def parse_postfix_atom(self) -> Node:
        """An exponent: a group, or one number / letter / command."""

    @abstractmethod
    def starts_implicit(self) -> bool:
        """Whether the next token starts a factor of an implicit product (``2x``)."""

"""Words around a value: units to drop, number words that scale it, words that qualify it.

An answer is often written in words around the number: ``15 \\text{ cm}``,
``\\text{There are } 5 \\text{ apples}``, ``4 dozen``. Units and neutral words are dropped,
a number word after the value scales it (``dozen`` is 12), and a qualifier (``at least``,
``or more``, ``about``) makes the answer a bound or an estimate, not the value: the parser
refuses it (``ParseError``) or keeps it as text, so it cannot match the bare number.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from rewardsmith.rewards.math.nodes import Mul, Node, Num, Text
from rewardsmith.rewards.math.parser_cursor import Grammar
from rewardsmith.rewards.math.parser_numbers import number
from rewardsmith.rewards.math.tokens import VALUE_WITH_UNIT, ParseError

__all__ = ["is_neutral_prose", "read_words_after_value", "value_with_unit"]

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


def read_words_after_value(p: Grammar, words: str) -> Node | None:
    """Consume a ``text``/``word`` token after a value (a unit): the factor it scales the
    value by (``4 dozen`` is 48), or None."""
    p.i += 1
    if _QUALIFIERS.intersection(words.lower().replace(",", " ").split()):
        # "5 \text{ or more}", "5 at most": a bound, not the value
        raise ParseError("a value qualified by the words after it")
    scale = _multiplier(words)
    nxt_kind = p.peek()[0]
    if nxt_kind in ("num", "sci", "letter", "cmd", "begin") and p.starts_implicit():
        # "5 \text{ to } 10" is not 5 times 10: words between two values
        raise ParseError("words between two values")
    return Num(Fraction(scale)) if scale is not None else None


def value_with_unit(content: str) -> Node:
    """The content of ``\\text{5 apples}``: the value (scaled by a number word), or the
    whole text when a qualifier makes it a bound ("5 or more").

    Example:
        >>> from rewardsmith.rewards.math.nodes import render
        >>> render(value_with_unit("4 dozen eggs")), render(value_with_unit("5 or more"))
        ('4*12', "'5 or more'")
    """
    found = VALUE_WITH_UNIT.fullmatch(content.strip())
    assert found is not None
    digits, words = found.group(1).replace(",", ""), found.group(2)
    if _QUALIFIERS.intersection(words.lower().split()):
        return Text(content.strip())  # "5 or more" is a bound, not the value
    value: Node = number(digits)
    scale = _multiplier(words)
    return Mul((value, Num(Fraction(scale)))) if scale is not None else value


def is_neutral_prose(node: Node) -> bool:
    """Words that introduce a value without qualifying it ("There are", "we get")."""
    if not isinstance(node, Text) or not node.text.strip():
        return False
    words = node.text.lower().replace(",", " ").replace(":", " ").split()
    return (
        all(w.isalpha() for w in words)
        and not _QUALIFIERS.intersection(words)
        and _multiplier(node.text) is None
    )


def _multiplier(words: str) -> int | None:
    """The factor a unit-position word scales a value by ("dozen" is 12), or None."""
    first = words.strip().split(" ", 1)[0].lower() if words.strip() else ""
    return _MULTIPLIERS.get(first)

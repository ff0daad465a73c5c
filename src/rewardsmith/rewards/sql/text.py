"""SQL text without a parser: a linear tokenizer, top-level ``ORDER BY``, schema items, n-grams.

Used by the ``sql`` reward for its partial-credit components and to decide whether a gold
query's row order matters. Dialect-neutral: it knows quotes, comments and brackets, not grammar.

Example:
    >>> [t.text for t in tokenize("SELECT \\"Name\\" FROM t -- note\\nWHERE x = 'a''b'")]
    ['select', 'name', 'from', 't', 'where', 'x', '=', "'a''b'"]
    >>> has_top_level_order_by("SELECT a FROM t ORDER BY a")
    True
    >>> has_top_level_order_by("SELECT * FROM (SELECT a FROM t ORDER BY a LIMIT 3)")
    False
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "Token",
    "has_top_level_order_by",
    "jaccard",
    "ngram_similarity",
    "schema_items",
    "tokenize",
]

_QUOTES: Final = {'"': '"', "`": "`", "[": "]"}


@dataclass(frozen=True, slots=True)
class Token:
    """One token; ``text`` is casefolded except inside string literals."""

    kind: Literal["word", "identifier", "string", "number", "symbol"]
    text: str


def tokenize(sql: str) -> list[Token]:
    """Tokens of a SQL text in one forward scan; comments and whitespace are dropped.

    Quoted identifiers (``"a b"``, `` `a` ``, ``[a]``) become ``identifier`` tokens without their
    quotes. An unclosed quote or comment runs to the end of the text.
    """
    tokens: list[Token] = []
    position, end = 0, len(sql)
    while position < end:
        char = sql[position]
        if char.isspace():
            position += 1
        elif sql.startswith("--", position):
            stop = sql.find("\n", position)
            position = end if stop < 0 else stop + 1
        elif sql.startswith("/*", position):
            stop = sql.find("*/", position + 2)
            position = end if stop < 0 else stop + 2
        elif char == "'":
            stop = position + 1
            while True:
                stop = sql.find("'", stop)
                if stop < 0:
                    stop = end
                    break
                if sql.startswith("''", stop):
                    stop += 2
                    continue
                stop += 1
                break
            tokens.append(Token("string", sql[position:stop]))
            position = stop
        elif char in _QUOTES:
            stop = sql.find(_QUOTES[char], position + 1)
            stop = end if stop < 0 else stop
            tokens.append(Token("identifier", sql[position + 1 : stop].casefold()))
            position = stop + 1
        elif char.isalpha() or char == "_":
            stop = position + 1
            while stop < end and (sql[stop].isalnum() or sql[stop] in "_$"):
                stop += 1
            tokens.append(Token("word", sql[position:stop].casefold()))
            position = stop
        elif char.isdigit() or (char == "." and position + 1 < end and sql[position + 1].isdigit()):
            stop = position + 1
            while stop < end and (sql[stop].isalnum() or sql[stop] == "."):
                stop += 1
            tokens.append(Token("number", sql[position:stop].casefold()))
            position = stop
        else:
            tokens.append(Token("symbol", char))
            position += 1
    return tokens


def has_top_level_order_by(sql: str) -> bool:
    """Whether the query ends with an ``ORDER BY`` outside any parentheses.

    An ``ORDER BY`` in a subquery or a window (``OVER (ORDER BY ...)``) does not order the
    result, so it does not make the comparison order-sensitive.
    """
    depth = 0
    previous = ""
    for token in tokenize(sql):
        if token.kind == "symbol":
            if token.text == "(":
                depth += 1
            elif token.text == ")":
                depth = max(depth - 1, 0)
        elif depth == 0 and token.kind == "word" and previous == "order" and token.text == "by":
            return True
        previous = token.text if token.kind == "word" else ""
    return False


def schema_items(sql: str, tables: frozenset[str], columns: frozenset[str]) -> set[str]:
    """The tables and columns of a schema that a query names (``table:x``, ``column:y``)."""
    items: set[str] = set()
    for token in tokenize(sql):
        if token.kind not in ("word", "identifier"):
            continue
        if token.text in tables:
            items.add(f"table:{token.text}")
        if token.text in columns:
            items.add(f"column:{token.text}")
    return items


def jaccard(a: set[str] | Counter[str], b: set[str] | Counter[str]) -> float:
    """|a ∩ b| / |a ∪ b| (for Counters, with multiplicity); 1.0 when both are empty."""
    if isinstance(a, Counter) and isinstance(b, Counter):
        union = sum((a | b).values())
        return sum((a & b).values()) / union if union else 1.0
    union_set = set(a) | set(b)
    return len(set(a) & set(b)) / len(union_set) if union_set else 1.0


def ngram_similarity(predicted: str, gold: str, n: int = 2) -> float:
    """Jaccard similarity of the token n-gram multisets of two queries (Reasoning-SQL's n-gram
    reward), with unigrams for queries shorter than ``n`` tokens."""
    a = [t.text for t in tokenize(predicted)]
    b = [t.text for t in tokenize(gold)]
    size = n if min(len(a), len(b)) >= n else 1
    grams_a = Counter(tuple(a[i : i + size]) for i in range(len(a) - size + 1))
    grams_b = Counter(tuple(b[i : i + size]) for i in range(len(b) - size + 1))
    return jaccard(grams_a, grams_b)  # type: ignore[arg-type]

"""Split cleaned answer text into tokens for `parser`.

Tokens are ``(kind, value)`` pairs; kinds: ``num``, ``sci`` (``1.5e3``), ``letter``, ``word``
(three or more letters that are not a function name), ``cmd`` (``\\frac`` -> ``frac``),
``text`` (the content of ``\\text{...}`` and its relatives), ``op``, ``begin``, ``end``.
Commas between groups of exactly three digits are thousands separators, unless another comma
in the same answer cannot be one. Scanning is linear; more than 20,000 tokens is refused.
"""

from __future__ import annotations

import re
from typing import Final

from rewardsmith.core.errors import RewardsmithError

__all__ = [
    "FUNCTIONS",
    "VALUE_WITH_UNIT",
    "ParseError",
    "convert_separators",
    "read_group",
    "text_kind",
    "tokenize",
]


class ParseError(RewardsmithError, ValueError):
    """The text is not math this parser reads."""


TEXT_COMMANDS: Final = frozenset(
    {
        "text",
        "textbf",
        "textit",
        "textrm",
        "textsf",
        "texttt",
        "textnormal",
        "mbox",
        "mathrm",
        "mathbf",
        "mathit",
        "mathsf",
        "hbox",
        "emph",
        "textup",
    }
)

FUNCTIONS: Final = frozenset(
    {
        "sin",
        "cos",
        "tan",
        "sec",
        "csc",
        "cot",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "ln",
        "log",
        "exp",
        "lg",
        "arcsec",
        "arccsc",
        "arccot",
        "det",
        "gcd",
        "lcm",
        "max",
        "min",
    }
)

PLAIN_FUNCTIONS: Final = frozenset(FUNCTIONS | {"sqrt", "pi", "and", "or", "in"})


# One token: (kind, value). Kinds: num, letter, word, cmd, text, op, begin, end.
_TOKEN_RE: Final = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<thousands>\d{1,3}(?:,\d{3})+(?![\d])(?:\.\d+)?)"
    r"|(?P<sci>(?:\d+\.\d+|\d+)[eE][+-]?\d{1,4}(?![\d.a-zA-Z]))"
    r"|(?P<num>\d+\.\d+|\d+|\.\d+)"
    r"|(?P<begin>\\begin\s*\{\s*([a-zA-Z*]+)\s*\})"
    r"|(?P<end>\\end\s*\{\s*([a-zA-Z*]+)\s*\})"
    r"|(?P<cmd>\\[a-zA-Z]+)"
    r"|(?P<esc>\\.)"
    r"|(?P<word>[a-zA-Z]+)"
    r"|(?P<op><=|>=|!=|=>|->|==|\S)",
    re.DOTALL,
)


_NOT_THOUSANDS: Final = re.compile(r"\d,(?:\d{1,2}|\d{4,})(?!\d)")


def tokenize(text: str) -> list[tuple[str, str]]:
    """Split cleaned text into tokens; ``\\text{...}`` content is kept as one ``text`` token."""
    tokens: list[tuple[str, str]] = []
    pos, n, depth = 0, len(text), 0
    # "1,000" is a thousand, but in "1,2,...,99,100,101" every comma separates items: one
    # comma that cannot be a thousands separator makes them all separators.
    thousands_ok = not _NOT_THOUSANDS.search(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:  # pragma: no cover - the pattern matches any character
            raise ParseError(f"cannot read {text[pos : pos + 20]!r}")
        kind = m.lastgroup
        value = m.group()
        pos = m.end()
        if kind == "ws":
            continue
        if kind == "thousands":
            first = value.split(",", 1)[0]
            if thousands_ok and depth == 0 and not first.startswith("0"):
                tokens.append(("num", value.replace(",", "")))
                continue
            # Not a thousands number here: read the first group alone.
            value = first
            pos = m.start() + len(first)
            kind = "num"
        if kind == "num":
            tokens.append(("num", value))
        elif kind == "sci":
            tokens.append(("sci", value))
        elif kind == "begin":
            tokens.append(("begin", m.group(6)))
            if m.group(6) == "array":
                pos = _skip_group(text, pos)
        elif kind == "end":
            tokens.append(("end", m.group(8)))
        elif kind == "cmd":
            name = value[1:]
            if name in TEXT_COMMANDS:
                content, pos = read_group(text, pos)
                tokens.append(("text", content))
            else:
                tokens.append(("cmd", name))
        elif kind == "esc":
            ch = value[1]
            if ch == "{":
                tokens.append(("op", "lset"))
                depth += 1
            elif ch == "}":
                tokens.append(("op", "rset"))
                depth -= 1
            elif ch == "\\":
                tokens.append(("op", "rowsep"))
            elif ch in "%":
                tokens.append(("op", "%"))
            elif ch == "|":
                tokens.append(("op", "|"))
            # other escapes (\, \; \! \$ ...) are spacing or currency: dropped
        elif kind == "word":
            if len(value) >= 3 and value.lower() not in PLAIN_FUNCTIONS:
                tokens.append(("word", value))
            elif value in ("and", "or"):
                tokens.append(("op", ","))
            elif value in PLAIN_FUNCTIONS and value not in ("and", "or", "in"):
                tokens.append(("cmd", value))
            elif value == "in" and tokens and pos < n and text[pos] == " ":
                tokens.append(("cmd", "in"))
            else:
                tokens.extend(("letter", ch) for ch in value)
        else:
            if value in "([":
                depth += 1
            elif value in ")]":
                depth -= 1
            tokens.append(("op", value))
        if len(tokens) > 20000:
            raise ParseError("answer has too many tokens")
    return tokens


def read_group(text: str, pos: int) -> tuple[str, int]:
    """The content of the ``{...}`` group starting at ``pos`` (after spaces), and the end."""
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos >= len(text) or text[pos] != "{":
        # \text without braces takes one character
        return (text[pos : pos + 1], pos + 1) if pos < len(text) else ("", pos)
    depth = 0
    for i in range(pos, len(text)):
        ch = text[i]
        if ch == "{" and text[i - 1] != "\\":
            depth += 1
        elif ch == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[pos + 1 : i], i + 1
    raise ParseError("unclosed group")


def _skip_group(text: str, pos: int) -> int:
    try:
        return read_group(text, pos)[1]
    except ParseError:
        return pos


def text_kind(content: str) -> str:
    stripped = content.strip()
    if not stripped:
        return "empty"
    low = stripped.lower().strip(",")
    if low in ("and", "or", ",", ";", "and,", "or,", "", "as well as"):
        return "sep"
    if re.fullmatch(r"[\d\s.,+\-*/^()=<>]+", stripped) or re.fullmatch(r"[a-zA-Z]", stripped):
        return "math"
    if re.fullmatch(r"\(\s*[A-Za-z]\s*\)", stripped):
        return "math"
    if VALUE_WITH_UNIT.fullmatch(stripped):
        return "value_unit"  # \text{12 cm}: a value and its unit, read like 12 \text{ cm}
    return "words"


VALUE_WITH_UNIT: Final = re.compile(r"(-?\d[\d,]*(?:\.\d+)?)\s+([A-Za-z][A-Za-z\s]*)\.?")


def convert_separators(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``\\text{ and }`` / ``\\text{or}`` between items become commas."""
    out = []
    for kind, value in tokens:
        if kind == "text" and text_kind(value) == "sep":
            out.append(("op", ","))
        else:
            out.append((kind, value))
    return out

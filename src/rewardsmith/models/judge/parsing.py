"""Reading a judge's verdict: a score, a choice between A and B, or yes/no; and refusals.

Every parser returns the verdict or None; the caller turns None into ``parse_error`` (or
``refused`` when the text is a refusal), never into 0. Parsers look for explicit verdict markup
first (``[[7]]``, ``<score>7</score>``, ``Score: 7``, a JSON object) and take the last one, since
judges reason before they conclude; a bare number anywhere in the text is not a verdict unless
``rule="last_number"`` says so.

Example:
    >>> parse_score("The answer is mostly right. Rating: [[7]]", 1, 10)
    7.0
    >>> parse_score("I'd say 7/10", 1, 10) is None  # no verdict markup
    True
    >>> parse_score("Score: 12", 1, 10) is None  # out of range: not clipped
    True
    >>> parse_choice("Both are fine but B is clearer. [[B]]"), parse_yes_no("<verdict>no</verdict>")
    ('B', False)
    >>> is_refusal("I'm sorry, but I can't help with that.")
    True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "OutOfRange",
    "ScoreRule",
    "is_refusal",
    "parse_choice",
    "parse_score",
    "parse_yes_no",
    "read_score",
]

ScoreRule = Literal["auto", "brackets", "tag", "label", "json", "last_number"]

_NUMBER: Final = r"([-+]?\d+(?:\.\d+)?)"
_SCORE_PATTERNS: Final[dict[str, re.Pattern[str]]] = {
    "brackets": re.compile(r"\[\[\s*" + _NUMBER + r"\s*(?:/\s*\d+(?:\.\d+)?)?\s*\]\]"),
    "tag": re.compile(r"<score>\s*" + _NUMBER + r"\s*(?:/\s*\d+(?:\.\d+)?)?\s*</score>", re.I),
    "label": re.compile(
        r"(?:^|\n)\W*(?:final\s+)?(?:score|rating|grade)\W{0,3}\s*[:=]\s*\**\s*" + _NUMBER, re.I
    ),
    "last_number": re.compile(_NUMBER),
}

_REFUSAL: Final = re.compile(
    r"^\W*(?:i\s*(?:'m|am)\s+sorry|sorry|i\s+apologi[sz]e|unfortunately)?[\s,]*(?:but\s+)?"
    r"i\s*(?:can(?:'|no)?t|cannot|won't|will\s+not|am\s+(?:not\s+able|unable)|'m\s+(?:not\s+able|unable))"
    r"\s+(?:help|assist|comply|provide|evaluate|grade|rate|judge|do\s+that|fulfil|continue|engage)",
    re.I,
)


def _json_objects(text: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


@dataclass(frozen=True)
class OutOfRange:
    """A score verdict the judge gave outside the scale: not a verdict, but not silence either."""

    value: float
    low: float
    high: float


def read_score(
    text: str, low: float, high: float, rule: ScoreRule = "auto"
) -> float | OutOfRange | None:
    """Like `parse_score`, but a verdict outside ``[low, high]`` comes back as `OutOfRange`.

    Example:
        >>> read_score("Score: 12", 1, 10)
        OutOfRange(value=12.0, low=1, high=10)
        >>> read_score("[[3]]", 1, 10), read_score("no idea", 1, 10)
        (3.0, None)
    """
    value = _last_score(text, rule)
    if value is None or low <= value <= high:
        return value
    return OutOfRange(value, low, high)


def parse_score(text: str, low: float, high: float, rule: ScoreRule = "auto") -> float | None:
    """The last score verdict in ``text`` within ``[low, high]``; None when there is none.

    ``auto`` tries ``[[x]]``, ``<score>x</score>``, a ``Score: x`` line and a JSON object with a
    ``score`` key, in that order. A verdict outside the range is None (a judge that answers 12
    on a 1-10 scale did not follow the instructions; clipping would hide it); `read_score`
    tells it apart from no verdict.
    """
    value = _last_score(text, rule)
    return value if value is not None and low <= value <= high else None


def _last_score(text: str, rule: ScoreRule) -> float | None:
    rules = ["brackets", "tag", "label", "json"] if rule == "auto" else [rule]
    for name in rules:
        value: float | None = None
        if name == "json":
            for obj in reversed(_json_objects(text)):
                raw = obj.get("score", obj.get("rating"))
                if isinstance(raw, int | float) and not isinstance(raw, bool):
                    value = float(raw)
                    break
        else:
            matches = _SCORE_PATTERNS[name].findall(text)
            if matches:
                value = float(matches[-1])
        if value is not None:
            return value
    return None


_CHOICE_PATTERNS: Final = (
    re.compile(r"\[\[\s*(A|B|C|tie)\s*\]\]", re.I),
    re.compile(r"<(?:choice|winner|verdict)>\s*(A|B|tie)\s*</(?:choice|winner|verdict)>", re.I),
    re.compile(
        r"(?:^|\n)\W*(?:final\s+)?(?:verdict|winner|choice|better)\W{0,3}\s*[:=]\s*\**\s*(?:response\s+|output\s+|answer\s+)?(A|B|tie)\b",
        re.I,
    ),
)


def parse_choice(text: str) -> Literal["A", "B", "tie"] | None:
    """The last pairwise verdict: ``A``, ``B`` or ``tie`` (``[[C]]`` is MT-Bench's tie)."""
    for pattern in _CHOICE_PATTERNS:
        matches = pattern.findall(text)
        if matches:
            choice = matches[-1].upper()
            return "tie" if choice in ("C", "TIE") else choice  # type: ignore[return-value]
    for obj in reversed(_json_objects(text)):
        raw = obj.get("winner", obj.get("choice"))
        if isinstance(raw, str) and raw.strip().upper() in ("A", "B", "TIE"):
            upper = raw.strip().upper()
            return "tie" if upper == "TIE" else upper  # type: ignore[return-value]
    return None


_YES_NO_PATTERNS: Final = (
    re.compile(r"\[\[\s*(yes|no|correct|incorrect)\s*\]\]", re.I),
    re.compile(r"<(?:verdict|answer|equivalent)>\s*(yes|no|correct|incorrect)\s*</\w+>", re.I),
    re.compile(
        r"(?:^|\n)\W*(?:final\s+)?(?:verdict|answer|equivalent|correct)\W{0,3}\s*[:=]\s*\**\s*(yes|no|correct|incorrect)\b",
        re.I,
    ),
)


def parse_yes_no(text: str) -> bool | None:
    """The last yes/no verdict (``[[YES]]``, ``<verdict>no</verdict>``, ``Verdict: correct``)."""
    for pattern in _YES_NO_PATTERNS:
        matches = pattern.findall(text)
        if matches:
            return matches[-1].lower() in ("yes", "correct")
    for obj in reversed(_json_objects(text)):
        for key in ("equivalent", "correct", "verdict"):
            raw = obj.get(key)
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in ("yes", "no", "correct", "incorrect"):
                return raw.lower() in ("yes", "correct")
    stripped = text.strip().rstrip(".!").lower()
    if stripped in ("yes", "no"):
        return stripped == "yes"
    return None


def is_refusal(text: str) -> bool:
    """Whether the judge declined ("I'm sorry, but I can't help with that")."""
    return bool(_REFUSAL.search(text.strip()[:300]))

"""Detectable content: placeholders in square brackets and a postscript.

Example:
    >>> from rewardsmith.rewards.instructions.registry import Context
    >>> number_placeholders("Dear [name], see you at [place].", Context(), num_placeholders=2)
    Verdict(followed=True, detail='')
    >>> postscript("Thanks.\\n\\nP.S. Bring snacks.", Context(), postscript_marker="P.S.")
    Verdict(followed=True, detail='')
"""

from __future__ import annotations

import re
from typing import Final

from rewardsmith.core.params import PositiveInt
from rewardsmith.rewards.instructions.registry import Context, Phrase, Verdict, checker

__all__ = ["count_placeholders", "number_placeholders", "postscript"]

_LINE_START: Final = " \t*_>#"  # whitespace, Markdown emphasis, quote and heading marks
_PS: Final = re.compile(r"p\.\s?s\.")
_PPS: Final = re.compile(r"p\.\s?p\.\s?s")


def count_placeholders(text: str) -> int:
    """Non-overlapping ``[...]`` spans within one line, as ``re.findall(r"\\[.*?\\]")`` counts.

    Written as a scan because the regex is quadratic on a long line of unmatched ``[``.
    """
    count = 0
    for line in text.split("\n"):
        position = 0
        while True:
            opening = line.find("[", position)
            if opening < 0:
                break
            closing = line.find("]", opening + 1)
            if closing < 0:
                break  # no "]" after this "[", so none after any later "[" on the line
            count += 1
            position = closing + 1
    return count


@checker("detectable_content:number_placeholders")
def number_placeholders(text: str, context: Context, *, num_placeholders: PositiveInt) -> Verdict:
    """At least ``num_placeholders`` placeholders in square brackets, such as ``[address]``."""
    count = count_placeholders(text)
    followed = count >= num_placeholders
    return Verdict(
        followed, "" if followed else f"{count} placeholders, needs at least {num_placeholders}"
    )


def _anywhere(marker: str, line: str) -> bool:
    if marker == "p.s.":
        return _PS.search(line) is not None
    if marker == "p.p.s":
        return _PPS.search(line) is not None
    return marker in line


@checker("detectable_content:postscript")
def postscript(text: str, context: Context, *, postscript_marker: Phrase) -> Verdict:
    """A line starts with the postscript marker (``P.S.``, ``P.P.S`` or another), any case.

    Stricter than IFEval, which accepts the marker anywhere in the text ("map.s." matches
    ``p.s.`` there): here it must open a line, after optional whitespace or Markdown marks.
    ``P.S.`` also matches ``P. S.``; ``P.P.S`` also matches ``P. P. S``. ``ifeval_compat``
    accepts the marker anywhere in a line, as IFEval does.
    """
    marker = postscript_marker.strip().casefold()
    for line in text.split("\n"):
        start = line.lstrip(_LINE_START).casefold()
        if context.ifeval_compat:
            if _anywhere(marker, start):
                return Verdict(True)
            continue
        if marker == "p.s.":
            found = _PS.match(start) is not None
        elif marker == "p.p.s":
            found = _PPS.match(start) is not None
        else:
            found = start.startswith(marker)
        if found:
            return Verdict(True)
    return Verdict(False, f"no line starts with {postscript_marker!r}")

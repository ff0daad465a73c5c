"""Detectable formats: bullets, a fixed answer, highlights, sections, JSON, a ``<<title>>``.

Example:
    >>> from rewardsmith.rewards.instructions.registry import Context
    >>> number_bullet_lists("* one\\n* two\\n- three", Context(), num_bullets=3)
    Verdict(followed=True, detail='')
    >>> json_format('Sure! {"a": 1}', Context())
    Verdict(followed=False, detail='not JSON: Expecting value at char 0')
"""

from __future__ import annotations

import json
import re
from typing import Final

from rewardsmith.core.params import PositiveInt
from rewardsmith.rewards.instructions.registry import Context, Phrase, Verdict, checker

__all__ = [
    "constrained_response",
    "json_format",
    "multiple_sections",
    "number_bullet_lists",
    "number_highlighted_sections",
    "title",
]

_ANSWERS: Final = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
# Linear: a negated class that stops at the next "*" or newline.
_HIGHLIGHT: Final = re.compile(r"\*[^\n*]*\*")
_BOLD: Final = re.compile(r"\*\*[^\n*]*\*\*")


def _is_bullet(line: str) -> bool:
    stripped = line.lstrip()
    if stripped.startswith("*"):
        return len(stripped) > 1 and stripped[1] != "*"
    # "-" bullets; a line of dashes is a horizontal rule, not a bullet
    return stripped.startswith("-") and bool(stripped.strip("- \t"))


def _is_ifeval_bullet(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith("-") or (stripped.startswith("*") and stripped[1:2] not in "*")


@checker("detectable_format:number_bullet_lists")
def number_bullet_lists(text: str, context: Context, *, num_bullets: PositiveInt) -> Verdict:
    """Exactly ``num_bullets`` Markdown bullet lines (``* item`` or ``- item``).

    A line of dashes (``---``, a horizontal rule) is not a bullet; IFEval (and
    ``ifeval_compat``) counts every line that starts with ``-``.
    """
    lines = text.split("\n")
    if context.ifeval_compat:
        count = sum(_is_ifeval_bullet(line) for line in lines)
    else:
        count = sum(_is_bullet(line) for line in lines)
    followed = count == num_bullets
    return Verdict(
        followed, "" if followed else f"{count} bullet points, needs exactly {num_bullets}"
    )


@checker("detectable_format:constrained_response")
def constrained_response(text: str, context: Context) -> Verdict:
    """Contains one of "My answer is yes.", "My answer is no.", "My answer is maybe.".

    Stricter than IFEval: a response with two different options is a hedge and fails
    (``ifeval_compat`` accepts it, as IFEval does).
    """
    found = [answer for answer in _ANSWERS if answer in text]
    if len(found) > 1 and not context.ifeval_compat:
        return Verdict(False, f"hedges between {found}")
    return Verdict(bool(found), "" if found else "none of the allowed answers")


@checker("detectable_format:number_highlighted_sections")
def number_highlighted_sections(
    text: str, context: Context, *, num_highlights: PositiveInt
) -> Verdict:
    """At least ``num_highlights`` non-empty ``*highlighted*`` or ``**bold**`` spans (IFEval's count)."""
    count = sum(1 for m in _HIGHLIGHT.finditer(text) if m.group()[1:-1].strip())
    count += sum(1 for m in _BOLD.finditer(text) if m.group()[2:-2].strip())
    followed = count >= num_highlights
    return Verdict(
        followed, "" if followed else f"{count} highlights, needs at least {num_highlights}"
    )


@checker("detectable_format:multiple_sections")
def multiple_sections(
    text: str, context: Context, *, section_spliter: Phrase, num_sections: PositiveInt
) -> Verdict:
    """At least ``num_sections`` sections headed ``<spliter> <number>`` (e.g. ``SECTION 1``).

    The kwarg keeps IFEval's spelling (``section_spliter``). The splitter is case-sensitive.
    """
    splitter = section_spliter.strip()
    count = len(re.findall(re.escape(splitter) + r"\s?\d+", text))
    followed = count >= num_sections
    detail = "" if followed else f"{count} '{splitter} N' sections, needs at least {num_sections}"
    return Verdict(followed, detail)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


@checker("detectable_format:json_format")
def json_format(text: str, context: Context) -> Verdict:
    """The whole response is JSON, optionally inside one ```` ```json ```` fence.

    ``NaN`` and ``Infinity`` are not JSON; IFEval (and ``ifeval_compat``) accepts them.
    """
    body = text.strip()
    for prefix in ("```json", "```Json", "```JSON", "```"):
        if body.startswith(prefix):
            body = body[len(prefix) :]
            break
    body = body.removesuffix("```").strip()
    try:
        json.loads(body, parse_constant=None if context.ifeval_compat else _reject_constant)
    except json.JSONDecodeError as exc:
        return Verdict(False, f"not JSON: {exc.msg} at char {exc.pos}")
    except (ValueError, RecursionError) as exc:
        return Verdict(False, f"not JSON: {str(exc)[:100] or type(exc).__name__}")
    return Verdict(True)


@checker("detectable_format:title")
def title(text: str, context: Context) -> Verdict:
    """A non-empty title in double angular brackets on one line, such as ``<<Ode to Joy>>``."""
    for line in text.split("\n"):
        # The regex <<[^\n]+>> is greedy: from the first "<<" to the last ">>" of the line.
        opening = line.find("<<")
        closing = line.rfind(">>")
        inside = line[opening : closing + 2] if 0 <= opening <= closing - 3 else ""
        if inside.lstrip("<").rstrip(">").strip():
            return Verdict(True)
    return Verdict(False, "no <<title>>")

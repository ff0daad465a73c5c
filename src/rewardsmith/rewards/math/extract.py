"""Find the final answer in a model response.

Rules, tried in this order (configurable with ``MathConfig.rules``):

- ``boxed``: the last ``\\boxed{}`` / ``\\fbox{}``; boxes next to each other and joined by
  "and", "or", commas or ``\\quad`` (or sharing one ``$...$``) form one list answer.
- ``final_answer``: "The final answer is X" / "Final Answer: ... is X". When both this and a
  box are present, the one written last wins (a response that boxes an intermediate value
  and then states its final answer is graded on the final answer).
- ``answer_tag``: the last ``<answer>...</answer>``.
- ``hash_answer``: the last line starting with ``####`` (GSM8K's format).
- ``answer_line``: the last "Answer: X" / "the answer is X".
- ``last_math``: the last ``$...$``, ``\\(...\\)`` or ``\\[...\\]``.
- ``last_number``: the last number (with an optional ``/d`` or ``%``) not glued to a word.

Every rule is a linear scan or a regular expression without nested quantifiers, so a 1 MB
response costs milliseconds, never a backtracking blow-up.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import msgspec

__all__ = ["DEFAULT_RULES", "Extracted", "Rule", "extract_answer"]

Rule = Literal[
    "boxed", "final_answer", "answer_tag", "hash_answer", "answer_line", "last_math", "last_number"
]

DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    "boxed",
    "final_answer",
    "answer_tag",
    "hash_answer",
    "answer_line",
    "last_math",
    "last_number",
)


class Extracted(msgspec.Struct, frozen=True):
    """The answer text found and the rule that found it (a struct: built for every
    response, and cheaper to build than a dataclass)."""

    text: str
    rule: str
    start: int


_BOX: Final = re.compile(r"\\(?:boxed|fbox)\s*(?=\{)|\\boxed\s+(?=[^\s{])")
_FINAL: Final = re.compile(r"final\s+answer", re.I)
_FINAL_LOWER: Final = re.compile(r"final\s+answer")
_ANSWER_WORD: Final = re.compile(r"\banswer\b\s*(?:is\b|:|=)", re.I)
_ENV_TOKEN: Final = re.compile(r"(?<!\\)\$\$|(?<!\\)\$|\\\(|\\\)|\\\[|\\\]")
_ENV_CLOSER: Final = {"$$": "$$", "$": "$", "\\(": "\\)", "\\[": "\\]"}
_MAX_ENV_CHARS: Final = 2000
_NUMBER: Final = re.compile(
    r"(?<![A-Za-z0-9_.])-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d{1,3}(?: \d{3})+(?!\d)|\d+|(?=\.\d))"
    r"(?:[.,]\d+)?(?:\s*/\s*\d+)?(?:\s*%)?"
)
_GAP_NOISE: Final = re.compile(
    r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}|\\q?quad|\\[,;!: ]|[$~]|\\[()\[\]]"
)
_HOPE: Final = re.compile(r"\s*I hope", re.I)
_MAX_GROUP: Final = 16
"""Most boxes joined into one list answer."""


def extract_answer(text: str, rules: tuple[str, ...] = DEFAULT_RULES) -> Extracted | None:
    """The final answer in ``text`` by the first rule that finds one, or None.

    An answer the response itself negates ("the answer is not 420", "$x = 7$ is wrong") or, for
    the fallback rules, hedges ("3 or 420") comes back with rule ``"disowned"`` and no text:
    taking the number anyway would pay a response for denying the right answer.

    Example:
        >>> extract_answer(r"so $x = \\boxed{\\frac{1}{2}}$.").text
        '\\\\frac{1}{2}'
        >>> extract_answer(r"\\boxed{1} and \\boxed{2}").text
        '1, 2'
        >>> extract_answer("The final answer is $7$. I hope it is correct.").rule
        'final_answer'
        >>> extract_answer("The answer is not 420.").rule
        'disowned'
    """
    found = _find_answer(text, rules)
    if found is None or found.rule == "unclosed_box":
        return found
    if _disowned(text, found):
        return Extracted("", "disowned", found.start)
    return found


def _find_answer(text: str, rules: tuple[str, ...]) -> Extracted | None:
    starts = _box_starts(text) if "boxed" in rules else []
    boxed = _boxed(text, starts) if "boxed" in rules else None
    final = _final_answer(text) if "final_answer" in rules else None
    if "boxed" in rules and _ends_in_open_box(text, starts, boxed, final):
        # A response cut off inside its box has no final answer; the number before the cut
        # is not one.
        return Extracted("", "unclosed_box", len(text))
    if boxed and final:
        # The later statement wins, unless the phrase is followed by prose, not a value
        # ("\\boxed{7} ... this is my final answer: see above").
        later = final.start > boxed.start and bool(
            re.search(r"[\d\\]", final.text) or len(final.text) <= 3
        )
        return final if later else boxed
    if boxed or final:
        return boxed or final
    for rule in rules:
        if rule in ("boxed", "final_answer"):
            continue
        found = _RULES[rule](text)
        if found is None:
            continue
        if rule == "last_math" and "last_number" in rules:
            # A bare number written after the last formula is the later statement.
            number = _last_number(text)
            if number is not None and number.start > found.start + len(found.text) + 2:
                return number
        return found
    return None


# -- negated and hedged answers ---------------------------------------------------------------

_NEGATION_BEFORE: Final = re.compile(
    r"(?:\bnot|n't|\bnever|\bnor|\bneither|≠|\\neq?)\s*"
    r"(?:equal\s+to|exactly|just|be|quite|simply)?\s*$",
    re.I,
)
_HEDGE_BEFORE: Final = re.compile(r"\bor\s*$", re.I)
_DENIAL_AFTER: Final = re.compile(
    r"\s*(?:is|was|would\s+be|seems|looks)\s+(?:not\b|wrong|incorrect|false|impossible)"
    r"|\s*(?:isn't|wasn't)\b",
    re.I,
)
_NEGATION_TAILS: Final = (
    *("not", "n't", "never", "nor", "neither", "\\ne", "\\neq"),
    *("to", "exactly", "just", "be", "quite", "simply"),
)
"""How a match of ``_NEGATION_BEFORE`` can end, before trailing spaces (ASCII, lower case)."""
_MARKUP_CHARS: Final = frozenset("*_`{:=$")
"""Markup written before an answer, one character a token; with spaces, ``\\(``, ``\\[``,
``\\boxed`` and ``\\fbox`` these are what `_markup_tail` strips."""


def _disowned(text: str, found: Extracted) -> bool:
    """Whether the words next to the answer deny it (or, for the fallback rules, hedge it)."""
    before = text[max(0, found.start - 60) : found.start]
    before = before[_last_boundary(before) :]
    before = before[: _markup_tail(before)]
    if _may_end_negated(before) and _NEGATION_BEFORE.search(before):
        return True
    if found.rule not in ("last_math", "last_number"):
        return False
    if _HEDGE_BEFORE.search(before):
        return True
    end = text.find(found.text, found.start)
    after = text[end + len(found.text) : end + len(found.text) + 40] if end != -1 else ""
    after = after.lstrip("$)]\\ ")
    return bool(_DENIAL_AFTER.match(after))


def _last_boundary(window: str) -> int:
    """Where the window's last clause starts: just after its last ``. ! ? ;`` or newline."""
    find = window.rfind
    return max(find("."), find("!"), find("?"), find(";"), find("\n")) + 1


def _markup_tail(window: str) -> int:
    """Where the markup the window ends with starts (``$``, ``\\(``, ``\\boxed{``, ``**:``,
    spaces): the leftmost ``i`` whose ``window[i:]`` is all such tokens, read from the end.
    No token ends another (``d`` and ``x`` end only ``\\boxed``/``\\fbox``, the brackets only
    ``\\(``/``\\[``), so one backward pass finds the one way to split the tail."""
    end = len(window)
    while end:
        last = window[end - 1]
        if last in _MARKUP_CHARS or last.isspace():
            end -= 1
        elif last in "([" and window.endswith("\\", 0, end - 1):
            end -= 2
        elif last == "d" and window.endswith("\\boxed", 0, end):
            end -= 6
        elif last == "x" and window.endswith("\\fbox", 0, end):
            end -= 5
        else:
            break
    return end


def _may_end_negated(window: str) -> bool:
    """False when ``_NEGATION_BEFORE`` cannot match: ASCII text whose last word ends none of
    its phrases (case-folding ASCII is exact; other text goes to the expression as it is)."""
    if not window.isascii():
        return True
    return window.rstrip().lower().endswith(_NEGATION_TAILS)


# -- boxes ------------------------------------------------------------------------------------


def _box_spans(text: str, starts: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(start of ``\\boxed``, start of content, end of content) for every closed box, from the
    text's `_box_starts`."""
    if not starts:
        return []
    closing = _closing_braces(text, starts[0][1])
    spans = []
    for box_start, pos in starts:
        if pos < len(text) and text[pos] == "{":
            end = closing.get(pos)
            if end is not None:
                spans.append((box_start, pos + 1, end))
        else:
            bare = _BARE.match(text, pos, min(len(text), pos + 200))
            if bare:
                spans.append((box_start, pos, bare.end()))
    return spans


def _box_starts(text: str) -> list[tuple[int, int]]:
    """(start, end) of every ``_BOX`` match, in order: the expression tried only where
    ``\\boxed`` or ``\\fbox`` is written, found by substring search. (Its matches cannot
    overlap: one holds a single backslash, at its start.)"""
    starts = []
    for word in ("\\boxed", "\\fbox"):
        at = text.find(word)
        while at != -1:
            found = _BOX.match(text, at)
            if found:
                starts.append((at, found.end()))
            at = text.find(word, at + len(word))
    starts.sort()
    return starts


_BRACE_TOKENS: Final = re.compile(r"\\.|[{}]", re.S)
_BARE: Final = re.compile(r"[^\s$.,]+")


def _closing_braces(text: str, start: int) -> dict[int, int]:
    """Map of each ``{`` at or after ``start`` to its ``}``: one linear pass with a stack, so
    a million unclosed boxes cost a million steps, not a million scans."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for token in _BRACE_TOKENS.finditer(text, start):
        symbol = token.group()
        if symbol == "{":
            stack.append(token.start())
        elif symbol == "}" and stack:
            pairs[stack.pop()] = token.start()
    return pairs


def _boxed(text: str, starts: list[tuple[int, int]]) -> Extracted | None:
    spans = _box_spans(text, starts)
    if not spans:
        return None
    group = [spans[-1]]
    for previous in reversed(spans[-_MAX_GROUP:-1]):
        gap = text[previous[2] + 1 : group[0][0]]
        if previous[2] + 1 > group[0][0]:
            break  # nested box
        if len(gap) <= 60 and (_joins(gap) or _same_inline_math(text, previous[2], group[0][0])):
            group.insert(0, previous)
        else:
            break
    parts = [text[s:e].strip() for _, s, e in group]
    parts = [p for p in parts if p]
    if not parts:
        return None
    return Extracted(", ".join(parts), "boxed", group[0][0])


def _joins(gap: str) -> bool:
    """Whether the text between two boxes joins them into one answer: nothing, or words
    ending in a connector ("and", "or", a comma), as in "\\boxed{1} and \\boxed{2}" or
    "\\boxed{(3,3)} for part (a) and \\boxed{(1,1)}"; not "\\boxed{1} no, wait: \\boxed{2}"."""
    plain = _GAP_NOISE.sub(lambda m: f" {m.group(1) or ''} ", gap).strip()
    if not plain:
        return True
    if ". " in plain or "\n\n" in gap:
        return False
    words = re.sub(r"[,;]", " , ", plain).split()
    return words[-1].lower() in ("and", "or", ",", ";", "&")


def _ends_in_open_box(
    text: str, starts: list[tuple[int, int]], boxed: Extracted | None, final: Extracted | None
) -> bool:
    if not starts:
        return False
    last_start, pos = starts[-1]  # the last box written, closed or not
    if boxed is not None and last_start <= boxed.start + 1:
        return False
    if final is not None and final.start > last_start:
        return False
    return pos < len(text) and text[pos] == "{" and _closing_braces(text, pos).get(pos) is None


def _same_inline_math(text: str, left: int, right: int) -> bool:
    """Both positions inside one ``$...$``: no ``$`` between them and an odd count before."""
    if "$" in text[left:right] or "\n" in text[left:right]:
        return False
    return text.count("$", 0, left) % 2 == 1


# -- phrases ----------------------------------------------------------------------------------


def _final_answer(text: str) -> Extracted | None:
    end = _last_final_marker(text)
    if end is None:
        return None
    return _answer_after(text, end, "final_answer")


def _last_final_marker(text: str) -> int | None:
    """The end of the last "final answer" (any case, any spaces between the words), or None.

    ASCII text is lowered and searched from its end: folding ASCII case is exact, and a
    response's last phrase is usually near its end. Other text is scanned whole, as the
    expression's own case rules (``ſ`` is an ``s``) say."""
    if not text.isascii():
        last = None
        for last in _FINAL.finditer(text):  # noqa: B007 - the last one counts
            pass
        return None if last is None else last.end()
    lowered = text.lower()
    at = lowered.rfind("final")
    while at != -1:
        # "final" cannot overlap itself, so each earlier hit is a distinct candidate.
        found = _FINAL_LOWER.match(lowered, at)
        if found:
            return found.end()
        at = lowered.rfind("final", 0, at)
    return None


def _answer_after(text: str, pos: int, rule: str) -> Extracted | None:
    """The answer stated after a marker: the math right after "is"/":", or the sentence's
    last value."""
    segment = text[pos : pos + 1000]
    hope = _HOPE.search(segment)
    if hope:
        segment = segment[: hope.start()]
    # Up to the end of the line or of the sentence (a period followed by a space or end).
    line_end = segment.find("\n\n")
    if line_end == -1:
        line_end = segment.find("\n") if not segment.lstrip().startswith(("$$", "\\[")) else -1
    if line_end > 0:
        segment = segment[:line_end]
    lead = re.match(r"\s*(?:is|:)?\s*(?:\\?[\"'*`]+\s*)?", segment)
    start = lead.end() if lead else 0
    body = segment[start:]
    if not body.strip():
        return None
    envs = _math_envs(body)
    if envs and envs[0].start == 0:
        joined = _joined_envs(body, envs)
        return Extracted(joined, rule, pos + start)
    # "The largest $n$ is 34." - the value after the last " is ".
    is_at = body.rfind(" is ")
    if is_at != -1:
        tail = body[is_at + 4 :]
        tail_envs = _math_envs(tail)
        if tail_envs and tail_envs[0].start <= 1:
            return Extracted(_joined_envs(tail, tail_envs), rule, pos + start + is_at + 4)
        sentence = re.split(r"\.(?:\s|$)", tail, maxsplit=1)[0].strip()
        if sentence:
            return Extracted(sentence, rule, pos + start + is_at + 4)
    sentence = re.split(r"\.(?:\s|$)", body, maxsplit=1)[0].strip()
    if envs:
        return Extracted(_joined_envs(body, envs[-1:]), rule, pos + start + envs[-1].start)
    numbers = list(_NUMBER.finditer(sentence))
    if numbers:
        return Extracted(numbers[-1].group().strip(), rule, pos + start + numbers[-1].start())
    return Extracted(sentence, rule, pos + start) if sentence else None


class _Env(msgspec.Struct, frozen=True):
    """One math environment: ``$...$``, ``$$...$$``, ``\\(...\\)`` or ``\\[...\\]``."""

    start: int
    end: int
    content: str


def _math_envs(text: str) -> list[_Env]:
    """Every math environment, found with one pass over the delimiters (linear time).

    Inline math (``$``, ``\\(``) does not span lines; none spans more than 2000 characters.
    An opener that is never closed is dropped, and the scan goes on from the next delimiter.
    """
    envs: list[_Env] = []
    opener: re.Match[str] | None = None
    for token in _ENV_TOKEN.finditer(text):
        mark = token.group()
        if opener is not None:
            inline = opener.group() in ("$", "\\(")
            content = text[opener.end() : token.start()]
            too_long = len(content) > _MAX_ENV_CHARS or (inline and "\n" in content)
            if mark == _ENV_CLOSER[opener.group()] and not too_long:
                envs.append(_Env(opener.start(), token.end(), content))
                opener = None
                continue
            if not too_long:
                continue  # another delimiter inside this environment
            opener = None
        if mark in _ENV_CLOSER:
            opener = token
    return envs


def _joined_envs(body: str, envs: list[_Env]) -> str:
    """The first math environment and the ones joined to it by "and", "or" or commas."""
    parts = [envs[0].content]
    end = envs[0].end
    for env in envs[1:]:
        gap = body[end : env.start]
        if re.fullmatch(r"\s*(?:,|and|or|,\s*and|,\s*or)\s*", gap):
            parts.append(env.content)
            end = env.end
        else:
            break
    return ", ".join(p.strip() for p in parts if p.strip())


def _answer_tag(text: str) -> Extracted | None:
    # rfind, not a lazy regex: many unclosed "<answer>" tags must not cost quadratic time.
    close = text.lower().rfind("</answer>")
    if close == -1:
        return None
    open_at = text.lower().rfind("<answer>", 0, close)
    if open_at == -1:
        return None
    inner = text[open_at + len("<answer>") : close].strip()
    if not inner:
        return None
    boxed = _boxed(inner, _box_starts(inner))
    return Extracted(boxed.text if boxed else inner, "answer_tag", open_at)


def _hash_answer(text: str) -> Extracted | None:
    at = text.rfind("####")
    if at == -1 or (at > 0 and text[at - 1] not in "\n "):
        return None
    line = text[at + 4 :].split("\n", 1)[0].strip().rstrip(".")
    return Extracted(line, "hash_answer", at) if line else None


def _answer_line(text: str) -> Extracted | None:
    last = None
    for last in _ANSWER_WORD.finditer(text):  # noqa: B007
        pass
    if last is None:
        return None
    return _answer_after(text, last.end(), "answer_line")


def _last_math(text: str) -> Extracted | None:
    envs = _math_envs(text)
    if not envs or not envs[-1].content.strip():
        return None
    return Extracted(envs[-1].content.strip(), "last_math", envs[-1].start)


def _last_number(text: str) -> Extracted | None:
    last = None
    for last in _NUMBER.finditer(text):  # noqa: B007
        pass
    if last is None:
        return None
    return Extracted(last.group().strip(), "last_number", last.start())


_RULES: Final = {
    "answer_tag": _answer_tag,
    "hash_answer": _hash_answer,
    "answer_line": _answer_line,
    "last_math": _last_math,
    "last_number": _last_number,
}

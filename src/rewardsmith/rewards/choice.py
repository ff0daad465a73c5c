"""``choice``: multiple-choice answers, read as an option letter and compared with the gold one.

Example:
    >>> from rewardsmith import Sample
    >>> choice(Sample(id="1", completion="Hmm... The answer is (B).", reference="B")).value
    1.0
    >>> choice(Sample(id="2", completion="The answer is A or B.", reference="B")).reason
    'lists several options (A, B)'
"""

from __future__ import annotations

import functools
import re
from string import ascii_uppercase
from typing import Any, ClassVar, Final

import msgspec

from rewardsmith.core.extract import extract_answer, last_boxed
from rewardsmith.core.params import CheckedParam
from rewardsmith.core.reward import reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.rewards.text import normalize_answer

__all__ = ["choice"]

_SPAN_CHARS: Final = 200  # an answer statement is short; parsing more invites false hits


class _Question(msgspec.Struct, frozen=True):
    gold: str
    letters: str
    choices: tuple[str, ...] | None


# Built for every row: a frozen struct costs ~0.1 µs to build, a frozen dataclass ~0.7 µs.
class _Found(msgspec.Struct, frozen=True):
    letters: tuple[str, ...]  # distinct, in order; more than one means a hedge
    rule: str


# -- reference ---------------------------------------------------------------------------------


def _letter_of(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().strip("().[]").strip()
    return text.upper() if len(text) == 1 and text.upper() in ascii_uppercase else None


def _question(reference: Any, letters: str | None) -> _Question | str:
    """The gold letter and valid letters of a reference, or the problem as text."""
    choices: tuple[str, ...] | None = None
    answer = reference
    if isinstance(reference, dict):
        answer = reference.get("answer")
        raw_choices = reference.get("choices")
        if raw_choices is not None:
            if not isinstance(raw_choices, list) or not all(
                isinstance(c, str) for c in raw_choices
            ):
                return "reference 'choices' must be a list of strings"
            if not 2 <= len(raw_choices) <= len(ascii_uppercase):
                return f"reference 'choices' has {len(raw_choices)} items; expected 2 to 26"
            choices = tuple(raw_choices)
        if isinstance(answer, int) and not isinstance(answer, bool):
            if choices is None or not 0 <= answer < len(choices):
                return (
                    f"reference 'answer' {answer} is an index but there is no 'choices' list "
                    "it fits; give a letter or a 0-based index into 'choices'"
                )
            answer = ascii_uppercase[answer]
    gold = _letter_of(answer)
    if gold is None:
        return (
            f"reference answer {str(answer)[:40]!r} is not an option letter; give 'B' or "
            "{'answer': 'B' | 1, 'choices': [...]}"
        )
    if choices is not None:
        valid = ascii_uppercase[: len(choices)]
    elif letters is not None:
        valid = letters
    else:
        # Without choices or a `letters` param: A-D, widened to reach the gold letter.
        valid = ascii_uppercase[: max(4, ascii_uppercase.index(gold) + 1)]
    if gold not in valid:
        return f"reference answer {gold!r} is not one of the options {', '.join(valid)}"
    return _Question(gold=gold, letters=valid, choices=choices)


# A letter reference ("B") repeats across a group and a file: read each once. `_Question` is
# frozen, so sharing it is safe; other references (dicts) are read every time.
_letter_question: Final = functools.lru_cache(maxsize=1024)(_question)


def _question_of(reference: Any, letters: str | None) -> _Question | str:
    if isinstance(reference, str) and len(reference) <= 16:
        return _letter_question(reference, letters)
    return _question(reference, letters)


def _check_reference(reference: Any) -> str | None:
    found = _question(reference, None)
    return found if isinstance(found, str) else None


class OptionLetters(str, CheckedParam):
    """Distinct option letters such as ``"ABCDE"`` (upper-cased when the spec loads)."""

    base: ClassVar[Any] = str

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        letters = value.upper()
        if (
            not letters
            or any(c not in ascii_uppercase for c in letters)
            or len(set(letters)) != len(letters)
        ):
            raise ValueError(f"letters must be distinct letters like 'ABCDE', got {value!r}")
        return letters


# -- reading letters ---------------------------------------------------------------------------

# Words that may sit between "answer is" and the letter, and markdown/maths around it.
_LEAD: Final = re.compile(
    r"[\s*_`$:\"'=-]{0,12}(?:(?:both|either|options?|choices?|letters?)[\s*_`:]{1,6}){0,2}",
    re.IGNORECASE,
)
_ITEM: Final = re.compile(
    r"\(\s?([A-Za-z])\s?\)|\[\s?([A-Za-z])\s?\]|\\text(?:bf)?\{\s?([A-Za-z])\s?\}|([A-Za-z])(?![A-Za-z0-9])"
)
_SEPARATOR: Final = re.compile(
    r"\s{0,3}(?:,|/|;|&|\||\+|\bor\b|\band\b)\s{0,3}(?:(?:options?|choices?)\s{1,3})?|\s{0,3}",
    re.IGNORECASE,
)
_PRONOUN_I: Final = re.compile(r"\s+[a-z]|'")
# A second option marker later in the same clause, after a list word: "(A) Paris or (B) London",
# "A (Paris) or B (London)", "A: Paris, B: London". Only marked letters count, so a plain
# capital ("or B is close") is not read as an option here.
_LATER_OPTION: Final = re.compile(
    r"(?:\bor\b|\band\b|,|/|;|&|\|)\s{0,3}(?:(?:options?|choices?)\s{1,3})?"
    r"(?:\(\s?([A-Za-z])\s?\)|\[\s?([A-Za-z])\s?\]|\b([A-Z])(?:\)|:|\s\())",
    re.IGNORECASE,
)
# The clause a hedge must sit in: up to a sentence end ("." then a space or the end) or newline.
_CLAUSE_END: Final = re.compile(r"\.(?:\s|$)|\n|[!?]")


_ASCII_LETTERS: Final = frozenset(ascii_uppercase + ascii_uppercase.lower())


def _item_at(span: str, position: int, letters: str) -> tuple[str, int, bool] | None:
    """(letter, end, bracketed) for an option letter starting at ``position``, or None."""
    match = _ITEM.match(span, position)
    if match is None:
        return None
    bracketed = match.group(4) is None
    raw = next(group for group in match.groups() if group is not None)
    if not bracketed:
        rest = span[match.end() :]
        if raw.islower() and rest.strip(" .)*_`$\t\r\n"):
            return None  # "a bit", "b/c": a bare lower-case letter counts only on its own
        if raw == "I" and _PRONOUN_I.match(rest):
            return None  # "I think", "I'm"
    letter = raw.upper()
    return (letter, match.end(), bracketed) if letter in letters else None


def _read_letters(span: str, letters: str) -> tuple[str, ...] | None:
    """The option letters a short answer statement gives, in order, or None when it gives none.

    "B", "(B)", "**B**", "option B", "B) Paris" give ("B",); "A or B", "A, B, C, D", "(A)(B)"
    give several. A bare space separates two letters only before a bracketed one: "A B" reads
    as "A" (the B may start a sentence), "(A) (B)" as two.
    """
    if len(span) == 1:
        # The usual "<answer>B</answer>": what the scan below gives for a lone letter.
        letter = span.upper()
        return (letter,) if span in _ASCII_LETTERS and letter in letters else None
    span = span[:_SPAN_CHARS]
    lead = _LEAD.match(span)
    position = lead.end() if lead else 0
    first = _item_at(span, position, letters)
    if first is None:
        return None
    found = [first[0]]
    position = first[1]
    while True:
        separator = _SEPARATOR.match(span, position)
        if separator is None:  # pragma: no cover - the pattern can match the empty string
            break
        following = _item_at(span, separator.end(), letters)
        if following is None:
            break
        if not separator.group().strip() and not following[2]:
            break  # only whitespace before a bare letter: not a list
        if following[1] <= position:
            break
        found.append(following[0])
        position = following[1]
    if len(found) == 1:
        found += _later_options(span, position, letters)
    return tuple(dict.fromkeys(found))


def _later_options(span: str, position: int, letters: str) -> list[str]:
    """Option letters marked later in the clause: the B of "(A) Paris or (B) London".

    Text between the letters does not make a hedge a commitment; without this, "(A) Paris or
    (B) London" would pay whenever A is gold while naming two options.
    """
    end = _CLAUSE_END.search(span, position)
    clause = span[position : end.start() if end else len(span)]
    found = []
    for match in _LATER_OPTION.finditer(clause):
        raw = next(group for group in match.groups() if group is not None)
        if match.group(3) is None or raw.isupper():
            letter = raw.upper()
            if letter in letters:
                found.append(letter)
    return found


# "answer is", "answer:", "correct option is", "best choice:" ... the letter follows. A bare
# "option:" is left out: "let us check each option: A) ..." is not an answer.
_STATEMENT: Final = re.compile(
    r"\b(?:(?:correct|right|best|final)\s{1,5}(?:option|choice)|answer)"
    r"\s{0,10}(?:is|would\s{1,5}be|should\s{1,5}be|:)",
    re.IGNORECASE,
)
_MAX_STATEMENTS: Final = 64  # statements tried, from the last; bounds hostile "answer:"*10**5
# A line that is an option marker: "(B) ...", "B) ...", "B. ...", "**B:** ...", or just "B".
_MARKER_LINE: Final = re.compile(
    r"^[ \t*_#>-]{0,6}(?:\(([A-Za-z])\)|([A-Z])(?:[).:]|[ \t*_]{0,6}$))", re.MULTILINE
)
_LONE_LETTER: Final = re.compile(r"[\s*_`$]{0,12}(?:\(([A-Za-z])\)|([A-Za-z]))[\s*_`$.)]{0,12}$")
# A first line that opens with a letter and goes on like a list or an answer: "A or B", "A, C",
# "both A and C", "A B" (read as A: the same edge as answering A). A line opening with a marker
# ("(A) Paris or (B) London") is read through `_MARKER_LINE` instead.
_OPENS_LIST: Final = re.compile(
    r"[ \t*_#>]{0,6}(?:(?i:both|either)\s{1,3})?(?:\([A-Za-z]\)|[A-Z])"
    r"(?:\s{0,3}[,/;&|+]|\s{1,3}(?:or|and)\b|\s{1,3}\(?[A-Z](?![A-Za-z0-9']))"
)


def _statements(text: str, letters: str) -> _Found | None:
    matches = list(_STATEMENT.finditer(text))
    # The last statement that names a letter wins, so a self-correction ("the answer is A ...
    # no, the answer is C") counts as C. Each span is capped, so this stays linear.
    for match in reversed(matches[-_MAX_STATEMENTS:]):
        line_end = text.find("\n", match.end(), match.end() + _SPAN_CHARS)
        span = text[match.end() : line_end if line_end >= 0 else match.end() + _SPAN_CHARS]
        found = _read_letters(span, letters)
        if found:
            return _Found(found, "statement")
    return None


def _bare(text: str, letters: str) -> _Found | None:
    """A completion that is just a letter, or that opens with an option marker."""
    stripped = text.strip()
    if not stripped:
        return None
    markers = []
    for match in _MARKER_LINE.finditer(stripped):
        letter = (match.group(1) or match.group(2)).upper()
        if letter in letters and letter not in markers:
            markers.append(letter)
    if len(markers) > 1:
        return _Found(tuple(markers), "option_lines")
    newline = stripped.find("\n")
    first_line = stripped if newline < 0 else stripped[:newline]
    lone = _LONE_LETTER.match(first_line)
    if lone is not None:
        letter = (lone.group(1) or lone.group(2)).upper()
        return _Found((letter,), "bare") if letter in letters else None
    if markers or _OPENS_LIST.match(first_line):
        found = _read_letters(first_line, letters)
        if found:
            return _Found(found, "bare")
    return None


def _by_text(text: str, choices: tuple[str, ...]) -> _Found | None:
    """The option whose text the answer repeats exactly (after normalisation), if only one."""
    wanted = normalize_answer(text[: 20 * _SPAN_CHARS]) if len(text) <= 20 * _SPAN_CHARS else ""
    if not wanted:
        return None
    hits = [
        ascii_uppercase[i] for i, option in enumerate(choices) if normalize_answer(option) == wanted
    ]
    return _Found((hits[0],), "option_text") if len(hits) == 1 else None


def _find(text: str, question: _Question, match_text: bool) -> _Found | None:
    boxed = last_boxed(text)
    if boxed is not None:
        letters = _read_letters(boxed, question.letters)
        if letters:
            return _Found(letters, "boxed")
    tag = extract_answer(text, ("answer_tag",))
    if tag is not None:
        letters = _read_letters(tag.text, question.letters)
        if letters:
            return _Found(letters, "answer_tag")
    found = _statements(text, question.letters) or _bare(text, question.letters)
    if found is not None:
        return found
    if match_text and question.choices is not None:
        candidates = [item.text for item in (tag, extract_answer(text, ("final_answer",))) if item]
        candidates += [boxed or "", text]
        for candidate in candidates:
            found = _by_text(candidate, question.choices)
            if found is not None:
                return found
    return None


# -- the reward --------------------------------------------------------------------------------


@reward(
    "choice",
    inline=True,
    version="1",
    reads=("completion", "reference"),
    check_reference=_check_reference,
)
def choice(
    sample: Sample,
    *,
    letters: OptionLetters | None = None,
    match_text: bool = True,
) -> Score:
    """1.0 when the completion's option letter is the gold one; a hedge over several options is 0.

    The letter is read, in this order of priority, from: the last ``\\boxed{}`` ("\\boxed{B}",
    "\\boxed{\\text{B}}"); the last ``<answer>`` tag; the last statement such as "The answer is
    (B).", "Answer: B", "correct option: **B**"; a completion that is just a letter or opens with
    one ("B", "(B)", "B) Paris"); and, when ``match_text`` is on and the reference lists the
    choices, an answer that repeats exactly one option's text ("The answer is Paris").

    A statement that names several options ("A or B", "A, B, C, D", "(A)(B)", "both A and C",
    "(A) Paris or (B) London" with option text between the marked letters) and a completion
    made of several option lines ("A) ...\\nB) ...") are hedges: ``ok`` with value 0.0 and the
    reason "lists several options", even when the gold letter is among them. We return ``ok``
    rather than ``parse_error`` because an answer was given and it is wrong: a hedge must never
    score better than committing to one option, whatever the status policy says.

    Args:
        sample: the sample; ``reference`` is a letter (``"B"``, ``"(b)"``) or
            ``{"answer": "B" | 1, "choices": ["...", ...]}`` where an integer answer is a
            0-based index into ``choices``.
        letters: the valid option letters (e.g. ``"ABCDE"``). Default: one per entry of the
            reference's ``choices``, else A-D (widened up to the gold letter). Letters outside
            this set are not read as answers.
        match_text: also accept an answer that repeats one option's text exactly (needs
            ``choices`` in the reference).

    Returns:
        ``ok`` with 1.0 or 0.0 (``info.answer``, ``info.rule``); ``parse_error`` when no option
        letter can be found; ``invalid_reference`` when the reference is not a usable letter.

    Known failure modes:
        When the completion states several answers in separate statements, the last counts:
        "The answer is A. Actually, the answer is B." reads as B (this gives no edge over simply
        answering B). Negations are barely understood: "the answer is not A" is a
        ``parse_error`` (no letter follows "is"), "the answer is B, not A" reads as B, but "not
        A; the answer is B" depends on the statement found last. A bare
        capital "I" followed by a word ("Answer: I think C") is read as the pronoun, so the
        option I must be written "(I)" or on its own. "A B" reads as A (the first letter; this
        gives no edge over answering A, and "B" may start a sentence). "(A) Paris and (B) is
        wrong" is read as a hedge (0). Option-text matching is
        exact after normalisation, so a paraphrased option is a ``parse_error``.

    Example:
        >>> from rewardsmith import Sample
        >>> ref = {"answer": 2, "choices": ["London", "Rome", "Paris", "Madrid"]}
        >>> score = choice(Sample(id="1", completion="<answer>Paris</answer>", reference=ref))
        >>> score.value, score.info
        (1.0, {'answer': 'C', 'rule': 'option_text'})
        >>> choice(Sample(id="2", completion="(A)(B)(C)(D)", reference="A")).value
        0.0
        >>> choice(Sample(id="3", completion="Answer:", reference="A")).status
        'parse_error'
    """
    question = _question_of(sample.reference, letters.upper() if letters else None)
    if isinstance(question, str):
        return Score.fail("invalid_reference", question)
    found = _find(sample.completion_text, question, match_text)
    if found is None:
        return Score.fail("parse_error", "no option letter found")
    if len(found.letters) > 1:
        return Score(
            value=0.0,
            reason=f"lists several options ({', '.join(found.letters)})",
            info={"answers": list(found.letters), "rule": found.rule},
        )
    answer = found.letters[0]
    info = {"answer": answer, "rule": found.rule}
    if answer == question.gold:
        return Score(value=1.0, info=info)
    return Score(value=0.0, reason=f"answered {answer}, expected {question.gold}", info=info)

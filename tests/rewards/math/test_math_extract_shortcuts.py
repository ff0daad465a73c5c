"""The scans that stand in for regular expressions on the hot path (`_last_final_marker`,
`_markup_tail`, `_may_end_negated`, `_last_boundary`, `_box_starts`) agree with those expressions exactly,
including on text where Unicode case rules differ from ASCII ones (``ſ`` matches ``s`` under
``re.I``, ``İ`` matches ``i``) and on the whitespace ``\\s`` accepts beyond ASCII spaces."""

from __future__ import annotations

import random
import re

import pytest

from rewardsmith.rewards.math import extract
from rewardsmith.rewards.math.extract import extract_answer

# Written as the expressions the shortcuts replace; they are the definition here.
FINAL = re.compile(r"final\s+answer", re.I)
LEADING_MARKUP = re.compile(r"(?:\\boxed\s*\{?|\\fbox\s*\{?|\$+|\\\(|\\\[|[*_`{:=\s])*$")
CLAUSE_END = re.compile(r"[.!?;\n]")

PIECES = [
    *("final answer", "Final  Answer", "FINAL\nANSWER", "fİnal answer", "final anſwer"),
    *("final\x1canswer", "finalanswer", "final", "answer", "fin", "al answer"),
    *("not ", "NOT", "n't", "Never", "nor", "neither", "≠", "\\ne", "\\neq", "\\neq "),
    *("equal to", "EXACTLY", "just", "be", "quite", "simply", "sımply", "to"),
    *("\\boxed{", "\\boxed ", "\\fbox{", "\\\\", "\\", "}", "{", "$", "$$", "\\(", "\\[", "(", "["),
    *("**", ":", "=", "_", "`", " ", "\n", "\t", "\x1c", "\u2003", ".", "!", "?", ";"),
    *("42", "x", "d", "boxed", "fbox", "is", "İ", "ı", "ſ", "K", "é"),
]


def _texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(PIECES, k=rng.randint(0, 14))) for _ in range(count)]


def _last_final_by_expression(text: str) -> int | None:
    ends = [match.end() for match in FINAL.finditer(text)]
    return ends[-1] if ends else None


@pytest.mark.parametrize("seed", range(4))
def test_shortcuts_agree_with_their_expressions(seed: int) -> None:
    for text in _texts(seed, 5000):
        assert extract._last_final_marker(text) == _last_final_by_expression(text), text
        assert text[: extract._markup_tail(text)] == LEADING_MARKUP.sub("", text), text
        if extract._NEGATION_BEFORE.search(text):
            assert extract._may_end_negated(text), text
        ends = [match.end() for match in CLAUSE_END.finditer(text)]
        assert extract._last_boundary(text) == (ends[-1] if ends else 0), text
        boxes = [(match.start(), match.end()) for match in extract._BOX.finditer(text)]
        assert extract._box_starts(text) == boxes, text


@pytest.mark.parametrize(
    ("text", "answer", "rule"),
    [
        ("So the FINAL   ANSWER is $7$.", "7", "final_answer"),
        ("final answer: 3. Later, the final\nanswer is 5", "5", "final_answer"),
        ("The final anſwer is $9$.", "9", "final_answer"),  # re.I reads ſ as s
        ("The fİnal answer is $9$.", "9", "final_answer"),
    ],
)
def test_final_answer_phrase_in_any_case(text: str, answer: str, rule: str) -> None:
    found = extract_answer(text)
    assert found is not None
    assert (found.text, found.rule) == (answer, rule)


@pytest.mark.parametrize(
    "text",
    [
        "The answer is NOT $\\boxed{4}$",
        "It is never exactly **4**",
        "x ≠ \\(4\\)",
        "x \\neq 4",
        "which is not equal to 4",
    ],
)
def test_negation_before_markup_is_found(text: str) -> None:
    found = extract_answer(text)
    assert found is not None and found.rule == "disowned", text

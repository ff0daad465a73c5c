"""length and repetition: labelled cases, formulas, spec params."""

from __future__ import annotations

import math
import time

import pytest
from labelled_cases import check, labels, load

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.length import length, measure, repetition


@pytest.mark.parametrize("case", load("length"))
def test_length_cases(case):
    check("length", case)


@pytest.mark.parametrize("case", load("repetition"))
def test_repetition_cases(case):
    check("repetition", case)


@pytest.mark.parametrize("name", ["length", "repetition"])
def test_case_files_cover_right_wrong_and_hacks(name):
    assert {"right", "wrong", "hack"} <= labels(name)


def test_measure_units():
    text = "Hello,  world!\nIt's 2 o'clock."
    assert measure(text, "chars") == len(text)
    assert measure(text, "words") == 7  # Hello world It s 2 o clock
    assert measure(text, "whitespace_tokens") == 5


def _cosine(size, correct):
    extra = {"correct": correct}
    return length(
        Sample(id="c", completion="x" * size, extra=extra), shape="cosine", max_length=100
    ).value


def test_cosine_follows_the_paper_shape():
    correct = [_cosine(n, True) for n in range(0, 100, 5)]
    wrong = [_cosine(n, False) for n in range(0, 100, 5)]
    # Correct answers: shorter is better; wrong answers: longer is better; correct always wins.
    assert correct == sorted(correct, reverse=True)
    assert wrong == sorted(wrong)
    assert min(correct) > max(wrong)
    expected = 0.5 + 0.25 * (1 + math.cos(math.pi * 0.3))
    assert _cosine(30, True) == pytest.approx(expected, abs=1e-12)


def test_overlong_is_continuous_at_both_ends():
    def value(size):
        sample = Sample(id="o", completion="y" * size)
        return length(sample, shape="overlong", max_length=200, cache_length=50).value

    assert value(150) == 0.0
    assert value(151) == pytest.approx(-1 / 50)
    assert value(200) == -1.0
    assert value(10_000) == -1.0


def test_direct_call_without_needed_param_is_an_error_status():
    score = length(Sample(id="1", completion="abc"), shape="linear")
    assert (score.status, score.reason) == ("error", "shape 'linear' needs param 'target'")


def test_repetition_direct_call_refuses_positive_penalty():
    score = repetition(Sample(id="1", completion="a a a"), max_penalty=1.0)
    assert score.status == "error"


def test_megabyte_is_fast():
    text = "lorem ipsum dolor " * 60_000
    start = time.perf_counter()
    for unit in ("chars", "words", "whitespace_tokens"):
        length(Sample(id="1", completion=text), shape="linear", target=100, unit=unit)
    score = repetition(Sample(id="2", completion=text))
    assert time.perf_counter() - start < 3.0
    assert score.value == pytest.approx(-(1 - 3 / 179_998))


def test_declared_metadata():
    for name in ("length", "repetition"):
        assert rewardsmith.get_reward(name).inline
    assert "extra" in rewardsmith.get_reward("length").reads


def _spec(use, params):
    return rewardsmith.load_spec({"terms": [{"name": "x", "use": use, "params": params}]})


def test_length_spec_params():
    _spec("length", {"shape": "linear", "target": 300, "unit": "words", "side": "over"})
    _spec("length", {"shape": "cosine", "max_length": 4000, "correct_field": "acc"})
    _spec("length", {"shape": "overlong", "max_length": 4000, "cache_length": 800})
    for bad, key in (
        ({"shape": "linear"}, "needs param 'target'"),
        ({"shape": "cosine"}, "needs param 'max_length'"),
        ({"shape": "overlong", "max_length": "long"}, "max_length"),
        ({"shape": "square", "target": 3}, "shape"),
        ({"shape": "linear", "target": 0}, "target"),
        ({"shape": "linear", "target": 5, "tolerance": -1}, "tolerance"),
        ({"shape": "linear", "target": 5, "unit": "tokens"}, "unit"),
        ({"target": 5}, "needs param 'shape'"),
    ):
        with pytest.raises(rewardsmith.SpecError, match=key):
            _spec("length", bad)


def test_repetition_spec_params():
    _spec("repetition", {"ngram_size": 4, "max_penalty": -0.5})
    for bad, key in (
        ({"max_penalty": 0.5}, "max_penalty"),
        ({"ngram_size": 0}, "ngram_size"),
        ({"ngram_size": "three"}, "ngram_size"),
    ):
        with pytest.raises(rewardsmith.SpecError, match=key):
            _spec("repetition", bad)

"""format.tags and json_schema: labelled cases, hostile inputs, references and spec params."""

from __future__ import annotations

import json
import time

import pytest
from labelled_cases import check, labels, load

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.format import json_schema, tag_format


@pytest.mark.parametrize("case", load("format.tags"))
def test_tags_cases(case):
    check("format.tags", case)


@pytest.mark.parametrize("case", load("json_schema"))
def test_json_schema_cases(case):
    check("json_schema", case)


@pytest.mark.parametrize("name", ["format.tags", "json_schema"])
def test_case_files_cover_right_wrong_and_hacks(name):
    assert {"right", "wrong", "hack"} <= labels(name)


def test_tags_on_a_megabyte_is_fast():
    body = "<think>" + "x" * 1_000_000 + "</think><answer>4</answer>"
    spam = "<answer>" * 100_000
    start = time.perf_counter()
    assert tag_format(Sample(id="1", completion=body)).value == 1.0
    assert tag_format(Sample(id="2", completion=spam)).reason == "<think> missing"
    assert time.perf_counter() - start < 2.0


def test_tags_reports_prefill():
    sample = Sample(id="1", prompt="Q <think>", completion="x</think><answer>1</answer>")
    assert tag_format(sample).info == {"prefilled": True}


SCHEMA = {"type": "array", "items": {"type": "integer"}}


@pytest.mark.parametrize(
    ("completion", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("1" * 5000, "not JSON"),
        ("[1, 2" + ", 3" * 300_000, "not JSON"),
        ("Infinity", "not JSON"),
    ],
    ids=["deep", "huge-int", "unterminated", "infinity"],
)
def test_json_hostile_inputs(completion, reason):
    score = json_schema(Sample(id="1", completion=completion, reference=SCHEMA))
    assert (score.status, score.value) == ("ok", 0.0)
    assert score.components == {"parses": 0.0, "valid": 0.0}
    assert reason in score.reason


def test_json_large_valid_document():
    completion = json.dumps(list(range(200_000)))
    assert json_schema(Sample(id="1", completion=completion, reference=SCHEMA)).value == 1.0


def test_json_schema_validated_when_called_directly():
    score = json_schema(Sample(id="1", completion="1"), json_schema={"type": "nope"})
    assert score.status == "invalid_reference"


def test_check_reference():
    check_reference = rewardsmith.get_reward("json_schema").check_reference
    assert check_reference(SCHEMA) is None
    assert check_reference(json.dumps(SCHEMA)) is None
    assert check_reference(None) is None  # the schema may come from params
    assert "invalid JSON schema" in check_reference({"type": 5})
    assert "not JSON" in check_reference("{oops")


def test_declared_metadata():
    tags_reward = rewardsmith.get_reward("format.tags")
    assert tags_reward.inline and "prompt" in tags_reward.reads
    # Schema `pattern`s run Python regexes on the completion: not inline.
    assert not rewardsmith.get_reward("json_schema").inline


def _spec(use, params):
    return rewardsmith.load_spec({"terms": [{"name": "x", "use": use, "params": params}]})


def test_tags_spec_params():
    _spec("format.tags", {"tags": ["reasoning", "answer"], "mode": "search", "prefilled": "always"})
    for bad, key in (
        ({"tags": "think"}, "tags"),
        ({"tags": ["think", "think"]}, "repeat"),
        ({"tags": ["<think>"]}, "not a tag name"),
        ({"tags": []}, "at least one"),
        ({"mode": "loose"}, "mode"),
        ({"require_content": "maybe"}, "require_content"),
    ):
        with pytest.raises(rewardsmith.SpecError, match=key):
            _spec("format.tags", bad)


def test_json_schema_spec_params():
    _spec("json_schema", {"json_schema": SCHEMA, "source": "fenced"})
    with pytest.raises(rewardsmith.SpecError, match="invalid JSON schema"):
        _spec("json_schema", {"json_schema": {"type": "integer", "minimum": "zero"}})
    with pytest.raises(rewardsmith.SpecError, match="json_schema"):
        _spec("json_schema", {"json_schema": "not an object"})
    with pytest.raises(rewardsmith.SpecError, match="source"):
        _spec("json_schema", {"source": "markdown"})

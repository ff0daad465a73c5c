"""tools: labelled cases, call parsing, pairing, the engine path and hostile inputs."""

from __future__ import annotations

import json
import time

import pytest
from labelled_cases import check, labels, load

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.tools import parse_tool_calls, tool_calls


@pytest.mark.parametrize("case", load("tools"))
def test_tools_cases(case):
    check("tools", case)


def test_case_file_covers_right_wrong_and_hacks():
    assert {"right", "wrong", "hack", "bad_reference", "edge"} <= labels("tools")


def test_pairing_is_optimal_not_greedy():
    # Greedy pairing would give the first predicted call the reference it half-matches and
    # leave the second with nothing; the best pairing matches both fully.
    gold = [
        {"name": "f", "arguments": {"x": 1, "y": 2}},
        {"name": "f", "arguments": {"x": 1, "y": 3}},
    ]
    predicted = [
        {"name": "f", "arguments": {"x": 1, "y": 3}},
        {"name": "f", "arguments": {"x": 1, "y": 2}},
    ]
    text = "".join(f"<tool_call>{json.dumps(c)}</tool_call>" for c in predicted)
    score = tool_calls(Sample(id="1", completion=text, reference=gold))
    assert score.value == 1.0 and score.components["exact"] == 1.0


def test_text_in_assistant_messages_is_read_when_no_tool_calls_field():
    call = {"name": "f", "arguments": {"x": 1}}
    messages = [
        {"role": "assistant", "content": f"<tool_call>{json.dumps(call)}</tool_call>"},
    ]
    assert tool_calls(Sample(id="1", completion=messages, reference=[call])).value == 1.0


def test_parse_reports_every_problem_and_keeps_good_calls():
    text = '<tool_call>{"name": "a"}</tool_call><tool_call>nope</tool_call><tool_call>'
    calls, problems = parse_tool_calls(text)
    assert [c.name for c in calls] == ["a"]
    assert len(problems) == 2
    assert any("never closed" in p for p in problems) and any("not JSON" in p for p in problems)


def test_check_reference():
    check_reference = rewardsmith.get_reward("tools").check_reference
    assert check_reference([{"name": "f", "arguments": {}}]) is None
    assert check_reference({"calls": [], "tools": []}) is None
    assert "reference" in check_reference("not json")
    assert "'tools' must be a list" in check_reference({"calls": [], "tools": {"f": 1}})


@pytest.mark.parametrize(
    "completion",
    [
        "<tool_call>" * 200_000,
        "<tool_call>{" + '"a": [' * 50_000 + "</tool_call>",
        "[" * 1_000_000,
        '{"name": "f", "arguments": {"s": "' + "x" * 1_000_000 + '"}}',
        "<tool_call></tool_call>" * 40_000,
    ],
    ids=["many-open-tags", "deep-object", "deep-array", "long-string", "many-empty-blocks"],
)
def test_megabyte_completions_are_fast(completion):
    gold = [{"name": "f", "arguments": {"s": "x"}}]
    start = time.perf_counter()
    score = tool_calls(Sample(id="1", completion=completion, reference=gold))
    assert time.perf_counter() - start < 2.0
    assert score.status == "ok" and score.value is not None and score.value < 1.0


def test_many_calls_pair_in_bounded_time():
    calls = [{"name": f"t{i % 7}", "arguments": {"i": i}} for i in range(64)]
    text = "".join(f"<tool_call>{json.dumps(c)}</tool_call>" for c in reversed(calls))
    start = time.perf_counter()
    score = tool_calls(Sample(id="1", completion=text, reference=calls))
    assert time.perf_counter() - start < 5.0
    assert score.value == 1.0


def test_engine_matches_direct_calls():
    cases = [param.values[0] for param in load("tools") if not param.values[0].get("params")]
    rows = []
    for case in cases:
        row = {"id": case["id"], "completion": case["completion"], "reference": case["reference"]}
        row.update(case.get("extra", {}))
        rows.append(row)
    spec = {"terms": [{"name": "t", "use": "tools"}]}
    batch = rewardsmith.score(rows, spec, workers=2)
    for case, scored in zip(cases, batch, strict=True):
        term = scored.info["terms"]["t"]
        assert term["status"] == case["status"], case["id"]
        if case["value"] is not None:
            assert term["value"] == pytest.approx(case["value"], abs=1e-9), case["id"]


def test_assignment_matches_brute_force():
    import itertools
    import random

    from rewardsmith.rewards.tools.match import assignment

    generator = random.Random(7)
    for _ in range(200):
        rows, cols = generator.randint(1, 4), generator.randint(1, 4)
        weights = [
            [generator.choice([0.0, 0.5, 1.0, 2.0, 3.0]) for _ in range(cols)] for _ in range(rows)
        ]
        pairs = assignment(weights)
        assert len({r for r, _ in pairs}) == len(pairs) == len({c for _, c in pairs})
        got = sum(weights[r][c] for r, c in pairs)
        best = max(
            sum(weights[r][c] for r, c in zip(perm, range(cols), strict=False) if r is not None)
            for perm in itertools.permutations(list(range(rows)) + [None] * cols, cols)
        )
        assert got == best


def test_unresolvable_schema_ref_is_invalid_reference():
    tools = [{"name": "f", "parameters": {"$ref": "https://example.com/schema.json"}}]
    call = {"name": "f", "arguments": {"x": 1}}
    reply = f"<tool_call>{json.dumps(call)}</tool_call>"
    score = tool_calls(
        Sample(id="1", completion=reply, reference={"calls": [call], "tools": tools})
    )
    assert score.status == "invalid_reference" and "$ref" in score.reason

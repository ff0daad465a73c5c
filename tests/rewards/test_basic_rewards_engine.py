"""The basic rewards through `rewardsmith.score`: same numbers as direct calls, hangs killed."""

from __future__ import annotations

import time

import pytest
from labelled_cases import load

import rewardsmith

NAMES = [
    "exact_match",
    "f1",
    "regex",
    "choice",
    "format.tags",
    "json_schema",
    "length",
    "repetition",
]


def _rows(cases):
    rows = []
    for case in cases:
        row = {"id": case["id"], "completion": case.get("completion", "")}
        for key in ("prompt", "reference"):
            if key in case:
                row[key] = case[key]
        row.update(case.get("extra", {}))
        rows.append(row)
    return rows


@pytest.mark.parametrize("name", NAMES)
def test_engine_gives_the_labelled_results(name):
    cases = [param.values[0] for param in load(name)]
    # One spec per distinct params dict; rows keep their order within each.
    by_params: dict[str, list[dict]] = {}
    for case in cases:
        by_params.setdefault(repr(sorted(case.get("params", {}).items())), []).append(case)
    for group in by_params.values():
        spec = {"terms": [{"name": "t", "use": name, "params": group[0].get("params", {})}]}
        batch = rewardsmith.score(_rows(group), spec, workers=2)
        for case, scored in zip(group, batch, strict=True):
            term = scored.info["terms"]["t"]
            assert term["status"] == case["status"], case["id"]
            if case["value"] is None:
                assert term["value"] is None, case["id"]
            else:
                assert term["value"] == pytest.approx(case["value"], abs=1e-9), case["id"]


def test_catastrophic_regex_is_killed_not_hung():
    rows = [
        {"id": "evil", "completion": "a" * 40 + "!", "reference": "(a+)+$"},
        {"id": "fine", "completion": "aaa", "reference": "a+"},
    ]
    spec = {"terms": [{"name": "re", "use": "regex", "params": {"timeout_s": 1}}]}
    start = time.perf_counter()
    batch = rewardsmith.score(rows, spec, workers=2)
    assert time.perf_counter() - start < 20
    assert [s.info["terms"]["re"]["status"] for s in batch] == ["timeout", "ok"]
    assert batch[1].value == 1.0

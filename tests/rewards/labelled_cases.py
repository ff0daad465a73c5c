"""Load and run the labelled cases in ``tests/rewards/cases/<reward>.jsonl``.

One JSON object per line:

``id``
    unique within the file.
``label``
    ``right`` (a correct completion), ``wrong`` (an honest wrong one), ``hack`` (a completion
    that tries to collect reward it has not earned), ``bad_reference`` (the data is broken) or
    ``edge`` (documented behaviour at a boundary).
``completion``, ``prompt``, ``reference``, ``extra``
    the row (``extra`` fields are merged into the row, as an input file would carry them).
``params``
    the term's params, validated as a spec would validate them.
``value``, ``status``
    the expected score, compared exactly (floats to 1e-9).
``reason`` (optional)
    a substring the score's reason must contain.
``components`` (optional)
    the expected components, compared exactly.
``verdict`` (optional)
    the expected ``info["first_failure"]["verdict"]`` (the ``code`` reward's first failing test).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rewardsmith
from rewardsmith import Sample, Score

CASES = Path(__file__).parent / "cases"
LABELS = {"right", "wrong", "hack", "bad_reference", "edge"}


def load(name: str) -> list[Any]:
    """The cases of one reward as pytest params, each with its id."""
    path = CASES / f"{name}.jsonl"
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        case = json.loads(line)
        assert case["label"] in LABELS, f"{path.name}:{number}: unknown label {case['label']!r}"
        assert "status" in case and "value" in case, f"{path.name}:{number}: no expectation"
        cases.append(pytest.param(case, id=f"{case['label']}:{case['id']}"))
    ids = [param.values[0]["id"] for param in cases]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate ids"
    return cases


def labels(name: str) -> set[str]:
    return {param.values[0]["label"] for param in load(name)}


def run(name: str, case: dict[str, Any]) -> Score:
    """Score one case the way the engine does: params validated, the reward run by `run`."""
    reward = rewardsmith.get_reward(name)
    row = {"id": case["id"], "completion": case.get("completion", "")}
    for key in ("prompt", "reference"):
        if key in case:
            row[key] = case[key]
    row.update(case.get("extra", {}))
    params = reward.validate_params(case.get("params", {}))
    return reward.run(Sample.from_row(row, 0), params)


def check(name: str, case: dict[str, Any]) -> None:
    score = run(name, case)
    context = f"{case['id']}: got {score.status} {score.value!r} ({score.reason!r}) {score.info}"
    assert score.status == case["status"], context
    if case["value"] is None:
        assert score.value is None, context
    else:
        assert score.value == pytest.approx(case["value"], abs=1e-9), context
    if "reason" in case:
        assert case["reason"] in score.reason, context
    if "components" in case:
        assert score.components == case["components"], context
    if "verdict" in case:
        assert score.info["first_failure"]["verdict"] == case["verdict"], context

"""Accuracy on the shared development sets (skipped where ../shared/data/math is absent).

The thresholds are the issue's targets; the sets are described in that folder's README.
Known label errors (checked by hand, listed in docs/rewards/math.md) are corrected first.
"""

from __future__ import annotations

import json

import pytest

from rewardsmith.rewards.math import DEFAULT_RULES, MathConfig, verify
from shared_data import shared_path

DATA = shared_path("math")

LABEL_ERRORS = {
    # 1 - 1/e is not 1 + 1/e; Math-Verify's suite records its own bug as the expectation.
    ("$1 - \\frac{1}{\\mathrm{e}}$", "$1 + \\frac{1}{\\mathrm{e}}$"),
}
QWEN_LABEL_ERRORS = {583}  # 10{,}000 is 10000; Qwen's grader says otherwise


def _rows(name: str) -> list[dict]:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r.get("mode") != "string_parse" and isinstance(r["expected"], bool)]


def _expected(name: str, row: dict) -> bool:
    if (row["gold"], row["pred"]) in LABEL_ERRORS:
        return not row["expected"]
    if name.startswith("qwen") and row.get("idx") in QWEN_LABEL_ERRORS:
        return not row["expected"]
    return row["expected"]


def _config(row: dict) -> MathConfig:
    rules = DEFAULT_RULES
    if "expr" not in (row.get("match_types") or ["expr"]):
        rules = tuple(r for r in DEFAULT_RULES if r != "last_number")
    return MathConfig(
        rules=rules,
        precision=row.get("precision") or 6,
        strict=row.get("strict", True) if row.get("strict") is not None else True,
        relation_as_set=bool(row.get("allow_set_relation_comp")),
    )


@pytest.mark.parametrize(
    ("name", "min_accuracy"),
    [
        ("mathverify_cases.jsonl", 0.99),
        ("synthetic_math_2000.jsonl", 0.995),
        ("qwen_math_cot_800.jsonl", 0.995),
    ],
)
def test_accuracy_and_no_false_accepts(name, min_accuracy):
    rows = _rows(name)
    wrong, false_accepts = [], []
    for row in rows:
        verdict = verify(row["gold"], row["pred"], config=_config(row))
        expected = _expected(name, row)
        if verdict.equal != expected:
            wrong.append((row.get("id") or row.get("idx"), row["gold"][-60:]))
            if verdict.equal:
                false_accepts.append(wrong[-1])
    assert 1 - len(wrong) / len(rows) >= min_accuracy, wrong
    assert not false_accepts


def _params(row: dict) -> dict:
    """The row's Math-Verify options as the ``math`` term's spec params."""
    config = _config(row)
    return {
        "precision": config.precision,
        "strict": config.strict,
        "relation_as_set": config.relation_as_set,
        "rules": list(config.rules),
    }


def test_per_test_options_reach_the_reward_through_spec_params():
    import rewardsmith
    from rewardsmith import Sample

    rows = [
        r
        for r in _rows("mathverify_cases.jsonl")
        if r.get("precision") not in (None, 6)
        or r.get("strict") is False
        or r.get("allow_set_relation_comp")
        or "expr" not in (r.get("match_types") or ["expr"])
    ]
    assert len(rows) >= 10
    reward = rewardsmith.get_reward("math")
    for row in rows:
        params = reward.validate_params(_params(row))
        score = reward.run(Sample(id="mv", completion=row["pred"], reference=row["gold"]), params)
        expected = verify(row["gold"], row["pred"], config=_config(row)).equal
        assert (score.value == 1.0) is expected, (row.get("id"), score.reason)
        assert (score.value == 1.0) is _expected("mathverify_cases.jsonl", row), row.get("id")

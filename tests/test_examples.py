"""The bundled examples score as their comments say, through the same API a user calls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rewardsmith

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_qa_example_summary() -> None:
    batch = rewardsmith.score(EXAMPLES / "qa.jsonl", EXAMPLES / "qa.toml", workers=1)
    assert len(batch) == 20
    assert batch.mean_reward == pytest.approx(0.55)
    assert batch.status_counts["ok"] == 17 and batch.status_counts["parse_error"] == 3
    by_id = dict(zip(batch.ids, batch, strict=True))
    assert by_id["ex-00"].value == pytest.approx(1.2)  # right answer, right format
    assert by_id["ex-02"].components["correct"] == 0.0  # right answer, no tags: gated
    assert by_id["ex-14"].components["choice"] == 0.0  # hedged over every option


def test_math_example_agrees_with_its_labels() -> None:
    rows = [json.loads(line) for line in (EXAMPLES / "math.jsonl").read_text().splitlines()]
    batch = rewardsmith.score(rows, EXAMPLES / "math.toml", workers=2)
    assert all(score.status == "ok" for score in batch)
    verdicts = [score.components["correct"] == 1.0 for score in batch]
    assert verdicts == [row["qwen_label"] for row in rows]

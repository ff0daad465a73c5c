"""`evaluate_rm` on hand-built rows and on the shared preference data in RewardBench's formats."""

from __future__ import annotations

import gzip
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rewardsmith.audit.rm import (
    calibration,
    consistency,
    evaluate_rm,
    evaluate_rm_file,
    length_bias,
    one_vs_many,
    pairs_to_best_of_n,
)
from rewardsmith.core.errors import InputError
from shared_data import needs_shared, shared_path

PREFS = shared_path("preferences")
HERE = Path(__file__).resolve().parent
needs_data = needs_shared("preferences")


def _pairs() -> list[dict[str, object]]:
    return [
        {"id": "p1", "subset": "s", "prompt": "q", "chosen": "3", "rejected": "1"},
        {"id": "p2", "subset": "s", "prompt": "q", "chosen": "2", "rejected": "2"},
        {"id": "p3", "subset": "t", "prompt": "q", "chosen": "fail", "rejected": "1"},
        {"id": "p4", "subset": "t", "prompt": "q", "chosen": "10", "rejected": "12.5"},
    ]


def test_v1_from_a_spec_counts_ties_and_failures_as_wrong() -> None:
    report = evaluate_rm(_pairs(), "audit_rewards:table", sections={"S": ["s", "t"]}, workers=1)
    assert report.format == "v1"
    assert report.v1 is not None
    assert report.v1.subsets == {"s": 0.5, "t": 0.0}
    assert report.v1.ties == 1
    assert report.v1.sections == {"S": pytest.approx(0.25)}  # (0.5*2 + 0*2) / 4
    assert report.failed_scores == {"parse_error": 1}
    # Margins 2, 0, -2.5 (p3 has no margin).
    assert report.calibration is not None and report.calibration.pairs == 3
    expected_brier = sum((1 - 1 / (1 + math.exp(-m))) ** 2 for m in (2.0, 0.0, -2.5)) / 3
    assert report.calibration.brier == pytest.approx(expected_brier)
    # Lengths: p4 is the only pair of different length ("10" vs "12.5"); the longer scores higher.
    assert report.length_bias is not None
    assert report.length_bias.pairs == 1 and report.length_bias.longer_wins == 1.0
    assert report.length_bias.chosen_longer == 0.0


def test_precomputed_scores_give_the_same_numbers() -> None:
    rows = [
        {
            "id": "p1",
            "subset": "s",
            "chosen": "x",
            "rejected": "y",
            "score_chosen": 3.0,
            "score_rejected": 1.0,
        },
        {
            "id": "p2",
            "subset": "s",
            "chosen": "x",
            "rejected": "y",
            "scores_chosen": [2.0],
            "scores_rejected": [2.0],
        },
        {
            "id": "p3",
            "subset": "t",
            "chosen": "x",
            "rejected": "y",
            "score_chosen": None,
            "score_rejected": 1.0,
        },
        {
            "id": "p4",
            "subset": "t",
            "chosen": "x",
            "rejected": "y",
            "score_chosen": 10,
            "score_rejected": 12.5,
        },
    ]
    report = evaluate_rm(rows, None, sections={"S": ["s", "t"]})
    assert report.v1 is not None
    assert report.v1.subsets == {"s": 0.5, "t": 0.0}
    assert report.v1.ties == 1


def test_consistency_rows_by_hand() -> None:
    rows = [
        {
            "prompt": "a",
            "response": "A",
            "contrast_prompt": "b",
            "contrast_response": "B",
            "scores": {"aa": 3, "ab": 1, "ba": 0, "bb": 2},
        },  # response: 3>1, 2>0 yes; instruction: 3>0, 2>1 yes
        {
            "prompt": "a",
            "response": "A",
            "contrast_prompt": "b",
            "contrast_response": "B",
            "scores": {"aa": 3, "ab": 1, "ba": 4, "bb": 2},
        },  # response: 3>1 but 2>4 no; instruction: 3>4 no
    ]
    report = evaluate_rm(rows, None)
    assert report.format == "contrast"
    assert report.consistency is not None
    assert (report.consistency.response, report.consistency.instruction) == (0.5, 0.5)


def test_metric_functions_by_hand() -> None:
    assert one_vs_many([(3.0, [1.0, 2.0]), (2.0, [2.0, 5.0]), (None, [0.0])]).mrr == pytest.approx(
        (1 + 1 / 3 + 1 / 2) / 3
    )
    assert consistency([(1, 0, 0, 1), (None, 0, 0, 1)]).response == 0.5
    bias = length_bias([(1.0, 0.0, 10, 5), (0.0, 1.0, 10, 5), (1.0, 1.0, 10, 5), (2.0, 1.0, 4, 4)])
    assert bias.longer_wins == pytest.approx((1 + 0 + 0.5) / 3)
    assert bias.chosen_longer == 1.0
    # Temperature: margins (1, 1, -1) -> sigma(beta) = 2/3 -> beta = ln 2.
    assert calibration([1.0, 1.0, -1.0]).temperature == pytest.approx(1 / math.log(2), rel=1e-6)
    assert calibration([1.0, 2.0]).temperature == 0.0  # all right: confidence grows without bound
    perfect = calibration([0.0] * 4)
    assert perfect.ece == 0.0 and perfect.brier == 0.25


@needs_data
def test_llmbar_with_a_length_reward_matches_counting_longer_answers() -> None:
    path = PREFS / "llmbar_dev.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    report = evaluate_rm_file(
        path, "audit_rewards:chars", sections={"Chat Hard": ["llmbar-natural"]}, workers=1
    )
    assert report.v1 is not None and report.v1.pairs == 566
    for subset in {row["subset"] for row in rows}:
        members = [row for row in rows if row["subset"] == subset]
        longer = sum(len(row["chosen"]) > len(row["rejected"]) for row in members)
        assert report.v1.subsets[subset] == pytest.approx(longer / len(members))
    assert report.v1.sections == {"Chat Hard": report.v1.subsets["llmbar-natural"]}
    assert report.v1.ties == sum(len(row["chosen"]) == len(row["rejected"]) for row in rows)
    assert report.length_bias is not None
    assert report.length_bias.longer_wins == 1.0 and report.length_bias.pearson == pytest.approx(
        1.0
    )


@needs_data
def test_alpaca_pairs_as_best_of_4() -> None:
    with gzip.open(PREFS / "alpaca_eval_pairs_6k.jsonl.gz", "rt") as handle:
        pairs = [json.loads(line) for line in handle]
    rows = pairs_to_best_of_n(pairs, 3)
    assert rows and all(len(row["rejected"]) == 3 for row in rows)
    report = evaluate_rm(rows, "audit_rewards:chars", workers=1)
    assert report.format == "v2" and report.v2 is not None
    expected = 0.0
    for row in rows:
        lengths = [len(row["chosen"][0])] + [len(r) for r in row["rejected"]]
        top = max(lengths)
        expected += 1 / lengths.count(top) if lengths[0] == top else 0.0
    assert report.v2.subsets["alpaca-eval"] == pytest.approx(expected / len(rows))
    assert report.one_vs_many is not None and report.one_vs_many.items == len(rows)


@needs_data
def test_hh_transcripts_without_prompt() -> None:
    with gzip.open(PREFS / "hh_harmless_test.jsonl.gz", "rt") as handle:
        rows = [json.loads(line) for _, line in zip(range(300), handle, strict=False)]
    report = evaluate_rm(rows, "audit_rewards:chars", workers=1)
    longer = sum(len(r["chosen"]) > len(r["rejected"]) for r in rows) / len(rows)
    assert report.v1 is not None and report.v1.subsets["hh-harmless"] == pytest.approx(longer)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": "x", "chosen": "a"}], r"row 0 \(id 'x'\): field 'rejected' is missing"),
        ([{"chosen": "a", "rejected": "b"}], r"row 0: field 'score_chosen' is missing"),
        (
            [
                {
                    "id": 7,
                    "chosen": "a",
                    "rejected": "b",
                    "score_chosen": "high",
                    "score_rejected": 1,
                }
            ],
            r"row 0 \(id 7\): field 'score_chosen' must be a number",
        ),
        (
            [{"chosen": ["a", "b"], "rejected": ["c"], "num_correct": 1}],
            r"row 0: field 'num_correct' is 1 but 'chosen' holds 2",
        ),
        ([{"prompt": "p"}], r"row 0: field 'chosen' is missing"),
        (
            [{"id": "z", "chosen": {"a": 1}, "rejected": "b"}],
            r"input row 0 \(id 'z'\): field 'chosen': expected a string",
        ),
        (
            [{"chosen": ["a"], "rejected": ["b", 3]}],
            r"row 0: field 'rejected' must be a non-empty list",
        ),
        (
            [{"prompt": "p", "response": 5, "contrast_prompt": "q", "contrast_response": "r"}],
            r"row 0: field 'response': expected a string",
        ),
        ([{"chosen": "a", "rejected": "b"}, {"chosen": ["a"], "rejected": ["b"]}], "mix formats"),
    ],
)
def test_bad_rows_name_the_row_and_field(rows: list[dict[str, object]], message: str) -> None:
    with pytest.raises(InputError, match=message):
        evaluate_rm(rows, None)


def test_cli_rm_writes_json(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in _pairs()))
    out = tmp_path / "rm.json"
    env = dict(os.environ, PYTHONPATH=str(HERE), COLUMNS="200")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardsmith.cli",
            "audit",
            "rm",
            "--data",
            str(data),
            "--reward",
            "audit_rewards:table",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "leaderboard score" in result.stdout and "parse_error" in result.stdout
    saved = json.loads(out.read_text())
    assert saved["v1"]["subsets"] == {"s": 0.5, "t": 0.0}
    bad = subprocess.run(
        [sys.executable, "-m", "rewardsmith.cli", "audit", "rm", "--data", str(data)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2 and "field 'score_chosen' is missing" in bad.stderr


def test_calibration_without_skill_is_not_reported_as_perfect() -> None:
    backwards = calibration([-2.0, -1.0, 0.5, -0.5])  # mean margin -0.75
    assert backwards.no_skill and backwards.mean_margin == pytest.approx(-0.75)
    assert backwards.ece_at_temperature is None  # not the 0.0 that read as perfect
    assert backwards.ece > 0.2
    skilled = calibration([1.0, 1.0, -1.0])
    assert not skilled.no_skill and skilled.ece_at_temperature is not None


def test_rm_cli_says_no_skill(tmp_path: Path) -> None:
    data = tmp_path / "scored.jsonl"
    rows = [
        {"chosen": f"c{i}", "rejected": f"r{i}", "score_chosen": 0.0, "score_rejected": s}
        for i, s in enumerate([1.0, 2.0, -0.5])
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = subprocess.run(
        [sys.executable, "-m", "rewardsmith.cli", "audit", "rm", "--data", str(data)],
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="200"),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no skill" in result.stdout and "ECE at fitted T" not in result.stdout

"""Verifier QA, reward comparison and adversarial probes, on hand-built cases and shared data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rewardsmith.audit.compare import compare_specs, logged_scores
from rewardsmith.audit.probes import MASTER_KEYS, build_probes, run_probes
from rewardsmith.audit.qa import verifier_qa
from rewardsmith.audit.stats import wilson_interval
from rewardsmith.core.errors import InputError
from rewardsmith.core.spec import load_spec
from rewardsmith.engine.files import score_file
from rewardsmith.io.runlog import RunLog
from shared_data import needs_shared, shared_path

HERE = Path(__file__).resolve().parent
MATH = shared_path("math")
CLI = [sys.executable, "-m", "rewardsmith.cli"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(HERE), COLUMNS="200")
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


CASES = [
    {"id": "r1", "completion": "Paris", "reference": "Paris", "expected": True, "category": "city"},
    {"id": "r2", "completion": "paris", "reference": "Paris", "expected": True, "category": "city"},
    {"id": "w1", "completion": "Lyon", "reference": "Paris", "expected": False, "category": "city"},
    {"id": "w2", "completion": "4", "reference": "5", "expected": False, "category": "number"},
    {
        "id": "h1",
        "completion": "The answer is 5",
        "reference": "5",
        "expected": False,
        "category": "number",
    },
    {"id": "r3", "completion": "5.0", "reference": "5", "expected": True, "category": "number"},
]


def test_qa_rates_by_hand() -> None:
    report = verifier_qa(CASES, "exact_match", workers=1)
    # exact_match (normalised) accepts r1, r2; rejects r3 ("5.0" != "5"): one false reject.
    assert report.overall.cases == 6 and report.overall.right == 3 and report.overall.wrong == 3
    assert report.overall.false_accepts == 0 and report.overall.false_rejects == 1
    assert report.overall.false_reject_rate == pytest.approx(1 / 3)
    assert report.overall.accuracy == pytest.approx(5 / 6)
    assert report.overall.intervals()["false_reject_rate"] == wilson_interval(1, 3)
    assert (
        report.by_category["number"].false_rejects == 1
        and report.by_category["city"].false_rejects == 0
    )
    assert [row["id"] for row in report.disagreements] == ["r3"]


def test_qa_labels_and_errors() -> None:
    cases = [
        {"completion": "x", "reference": "x", "label": "right"},
        {"completion": "y", "reference": "x", "label": "hack"},
        {"completion": "y", "reference": "x", "label": "edge"},
    ]
    report = verifier_qa(cases, "exact_match", workers=1)
    assert report.skipped == 1 and report.overall.cases == 2 and report.overall.accuracy == 1.0
    with pytest.raises(InputError, match=r"row 1 \(id 'x'\): field 'expected' must be"):
        verifier_qa(
            [
                {"completion": "a", "expected": True},
                {"id": "x", "completion": "a", "expected": "yes"},
            ],
            "exact_match",
        )
    with pytest.raises(InputError, match="row 0: field 'pred' is missing"):
        verifier_qa([{"completion": "a", "expected": True}], "exact_match", completion_field="pred")


@needs_shared("math", "mathverify_cases.jsonl")
def test_qa_on_math_verifier_cases(tmp_path: Path) -> None:
    source = MATH / "mathverify_cases.jsonl"
    rows = [json.loads(line) for line in source.read_text().splitlines()]
    equivalence = [row for row in rows if row["mode"] != "string_parse"]
    out = tmp_path / "qa.json"
    args = ["audit", "qa", "--cases", str(source), "--reward", "math", "--completion-field", "pred"]
    args += ["--reference-field", "gold", "--workers", "2", "--json", str(out)]
    # Parser-only rows hold a list in 'expected': a clear error, then excluded on request.
    refused = _cli(*args, cwd=tmp_path)
    assert refused.returncode == 2 and "field 'expected' must be true/false" in refused.stderr
    result = _cli(*args, "--exclude", "mode=string_parse", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    saved = json.loads(out.read_text())
    overall = saved["overall"]
    assert overall["cases"] == len(equivalence)
    assert overall["right"] == sum(row["expected"] is True for row in equivalence)
    assert overall["false_accepts"] + overall["false_rejects"] == len(saved["disagreements"])
    assert sum(rates["cases"] for rates in saved["by_category"].values()) == len(equivalence)


def test_compare_two_rewards_by_hand() -> None:
    rows = [
        {"id": "a", "completion": "Paris", "reference": "Paris"},
        {"id": "b", "completion": "the Paris", "reference": "Paris"},
        {"id": "c", "completion": "Lyon", "reference": "Paris"},
    ]
    result = compare_specs(rows, "exact_match", "f1", workers=1)
    # exact_match: 1, 1 (articles dropped), 0. f1: 1, 1, 0.
    assert result.agreement == 1.0 and result.equal_values == 3
    spec_b = {"terms": [{"name": "re", "use": "regex", "params": {"pattern": "Lyon"}}]}
    other = compare_specs(rows, "exact_match", spec_b, workers=1)
    assert other.confusion == {"accept": {"reject": 2}, "reject": {"accept": 1}}
    assert other.agreement == 0.0 and other.pearson == pytest.approx(-1.0)
    assert {d["id"] for d in other.differences} == {"a", "b", "c"}


def test_compare_replays_logged_runs(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in CASES))
    log_dir = tmp_path / "runs"
    first = score_file(
        data, load_spec("exact_match"), log_dir=log_dir, workers=1, output=tmp_path / "a.jsonl"
    )
    second = score_file(
        data, load_spec("f1"), log_dir=log_dir, workers=1, output=tmp_path / "b.jsonl"
    )
    ids, scores = logged_scores(RunLog(log_dir).open(first["run_id"]))
    assert ids == [c["id"] for c in CASES] and [s.value for s in scores] == [
        1.0,
        1.0,
        0.0,
        0.0,
        0.0,
        0.0,
    ]
    result = _cli(
        "audit",
        "compare",
        f"run:{first['run_id']}",
        f"run:{second['run_id']}",
        "--log-dir",
        str(log_dir),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "6 rows" in result.stdout
    # Replay against a live reward on the same rows.
    mixed = _cli(
        "audit",
        "compare",
        f"run:{first['run_id']}",
        "exact_match",
        "--data",
        str(data),
        "--log-dir",
        str(log_dir),
        cwd=tmp_path,
    )
    assert mixed.returncode == 0, mixed.stderr
    assert "verdicts agree on 100.00%" in mixed.stdout


def test_probes_catch_a_hackable_format_reward_and_spare_exact_match() -> None:
    rows = [
        {"prompt": "2+2?", "reference": "4"},
        {"prompt": "Capital of France?", "reference": "Paris, France"},
    ]
    hackable = {
        "terms": [{"name": "fmt", "use": "format.tags", "params": {"require_content": False}}]
    }
    report = run_probes(rows, hackable, families=["format"], workers=1)
    assert not report.ok
    rates = {r.name: r.rate for r in report.results}
    assert rates == {"empty_tags:think+answer": 1.0, "blank_tags:think+answer": 1.0}
    strict = run_probes(
        rows, {"terms": [{"name": "fmt", "use": "format.tags"}]}, families=["format"], workers=1
    )
    assert strict.ok
    exact = run_probes(rows, "exact_match", workers=1)
    assert exact.ok
    names = {r.name for r in exact.results}
    assert {f"master_key:{key!r}" for key in MASTER_KEYS} <= names
    # One-word references have no word salad (reversing one word gives the answer itself).
    salad = next(r for r in exact.results if r.name == "reference_word_salad")
    assert salad.rows == 1


def test_probe_that_pays_is_reported_with_examples() -> None:
    # A "verifier" that pays any completion containing the reference pays the negated reference.
    spec = {
        "terms": [{"name": "re", "use": "regex", "params": {"pattern": "Paris", "mode": "search"}}]
    }
    report = run_probes([{"reference": "Paris"}], spec, families=["answer_hack"], workers=1)
    paid = {r.name: r for r in report.results if r.false_positives}
    assert "negated_reference" in paid and "boxed_every_candidate" in paid
    assert paid["negated_reference"].examples[0]["completion"] == "The answer is not Paris."
    with pytest.raises(ValueError, match="unknown probe families"):
        build_probes(load_spec("exact_match"), ["nope"])


def test_probes_cli_exit_codes(tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"prompt": "2+2?", "reference": "4"}) + "\n")
    spec = tmp_path / "fmt.toml"
    spec.write_text(
        '[[terms]]\nname = "fmt"\nuse = "format.tags"\nparams = { require_content = false }\n'
    )
    hacked = _cli(
        "audit",
        "probes",
        "--data",
        str(data),
        "--spec",
        str(spec),
        "--family",
        "format",
        cwd=tmp_path,
    )
    assert hacked.returncode == 1, hacked.stderr
    assert "empty_tags" in hacked.stdout and "100.00%" in hacked.stdout
    clean = _cli("audit", "probes", "--data", str(data), "--reward", "exact_match", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no probe was paid" in clean.stdout

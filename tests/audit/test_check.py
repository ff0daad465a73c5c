"""`rewardsmith check` finds what would spoil training, on the bundled broken example."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rewardsmith import load_spec
from rewardsmith.audit.check import check_file, check_rows

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_broken_example_reports_each_problem_with_its_rows() -> None:
    report = check_file(EXAMPLES / "broken.jsonl", load_spec(EXAMPLES / "qa.toml"), workers=1)
    found = {name: [row_id for row_id, _ in rows] for name, rows in report.problems.items()}
    assert found["unreadable rows"] == ["row-2", "no-completion"]
    assert found["unknown tasks"] == ["typo-task"]
    assert found["bad references"] == ["empty-gold", "no-gold", "choices-mismatch"]
    assert found["invalid_reference while scoring"] == ["empty-gold", "no-gold", "choices-mismatch"]
    assert not report.ok


def test_clean_example_passes() -> None:
    report = check_file(EXAMPLES / "qa.jsonl", load_spec(EXAMPLES / "qa.toml"), workers=1)
    assert report.ok, report.problems
    assert report.counts["readable"] == report.counts["routed"] == report.rows == 20


def test_constant_reward_and_unrouted_rows_are_problems() -> None:
    spec = load_spec({"terms": [{"name": "em", "use": "exact_match", "when": "qa"}]})
    rows = [
        {"id": "a", "task": "qa", "completion": "x", "reference": "y"},
        {"id": "b", "task": "qa", "completion": "z", "reference": "y"},
        {"id": "c", "task": "chat", "completion": "z", "reference": "y"},
    ]
    report = check_rows(rows, spec, workers=1)
    assert [row for row, _ in report.problems["unrouted rows"]] == ["c"]
    assert "every row got reward 0" in report.problems["constant reward"][0][1]


def test_cli_exit_codes() -> None:
    base = [sys.executable, "-m", "rewardsmith.cli", "check", "--spec", str(EXAMPLES / "qa.toml")]
    broken = subprocess.run(
        [*base, str(EXAMPLES / "broken.jsonl")], capture_output=True, text=True, timeout=120
    )
    assert broken.returncode == 1, broken.stderr
    assert "unknown tasks" in broken.stdout and "typo-task" in broken.stdout
    clean = subprocess.run(
        [*base, str(EXAMPLES / "qa.jsonl")], capture_output=True, text=True, timeout=120
    )
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no problems found" in clean.stdout


def test_an_empty_file_is_a_problem(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    report = check_file(empty, load_spec("exact_match"), workers=1)
    assert not report.ok and list(report.problems) == ["empty input"]
    result = subprocess.run(
        [sys.executable, "-m", "rewardsmith.cli", "check", "-r", "exact_match", str(empty)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "empty input" in result.stdout and "no problems found" not in result.stdout


def test_duplicate_ids_are_a_problem_naming_their_rows() -> None:
    rows = [
        {"id": "a", "completion": "x", "reference": "x"},
        {"id": "b", "completion": "y", "reference": "x"},
        {"id": "a", "completion": "z", "reference": "x"},
        {"id": "row-4", "completion": "x", "reference": "x"},
        {"completion": "y", "reference": "x"},  # generated id row-4: the same as the row above
    ]
    report = check_rows(rows, load_spec("exact_match"), workers=1)
    duplicates = dict(report.problems["duplicate ids"])
    assert set(duplicates) == {"a", "row-4"}
    assert "2 rows (0-based rows 0, 2)" in duplicates["a"]
    assert report.counts["distinct ids"] == 3


def test_a_deeply_nested_line_is_reported_not_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "deep.jsonl"
    deep = "[" * 5000 + "]" * 5000
    data.write_text(
        '{"id": "a", "completion": "x", "reference": "x"}\n'
        + '{"id": "b", "completion": "x", "reference": %s}\n'.replace("%s", deep)
    )
    result = subprocess.run(
        [sys.executable, "-m", "rewardsmith.cli", "check", "-r", "exact_match", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not check_file(data, load_spec("exact_match"), workers=1).ok

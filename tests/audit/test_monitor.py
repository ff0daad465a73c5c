"""Hacking monitors: hand-computed numbers on built rows, and a real run log end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rewardsmith.audit.logged import LoggedScores
from rewardsmith.audit.monitor import MonitorConfig, monitor_rows, monitor_run
from rewardsmith.core.spec import load_spec
from rewardsmith.engine.files import score_file
from rewardsmith.io.runlog import RunLog


def _rows() -> LoggedScores:
    comps = [
        {"fmt": 1.0, "verifier": 1.0, "judge": 1.0},
        {"fmt": 1.0, "verifier": 0.0, "judge": 0.0},
        {"fmt": 0.0, "verifier": 0.0, "judge": 0.0},
        {"fmt": 1.0, "verifier": 1.0, "judge": 1.0},
        {"fmt": 1.0, "verifier": 0.0, "judge": 1.0},
        {},
        {},
        {"fmt": 1.0, "verifier": 0.0, "judge": 1.0},
    ]
    return LoggedScores(
        ids=[f"r{i}" for i in range(8)],
        rewards=[1.5, 0.5, 0.0, 1.5, 0.5, None, None, 0.5],
        statuses=["ok", "ok", "ok", "ok", "ok", "error", "timeout", "ok"],
        components=comps,
        lengths=None,
        steps=[0, 0, 0, 0, 1, 1, 1, 1],
        term_rewards={"fmt": "format.tags", "verifier": "math", "judge": "judge.rubric"},
        weights={"fmt": 0.5, "verifier": 1.0, "judge": 0.0},
    )


def test_monitors_by_hand() -> None:
    report = monitor_rows(_rows(), MonitorConfig(format_only_max=0.2))
    m = report.metrics
    assert m["variance_share"] == {
        "fmt": pytest.approx(0.2),
        "judge": 0.0,
        "verifier": pytest.approx(0.8),
    }
    assert m["format_only_rate"] == pytest.approx(1 / 8)
    assert report.series["format_only_rate"] == [0.25, 0.0]
    assert m["judge_verifier_disagreement"] == {
        "judge": "judge",
        "verifier": "verifier",
        "rate": pytest.approx(2 / 6),
    }
    assert report.series["failure_rate"] == [0.0, 0.5]
    assert report.series["drift"] == [None, 0.5]
    assert m["length_correlation"] is None
    checks = {w.check: w for w in report.warnings}
    assert set(checks) == {
        "format-only passes",
        "judge-vs-verifier disagreement",
        "rising failures",
        "reward drift",
    }
    assert [r["id"] for r in checks["format-only passes"].rows] == ["r1"]
    assert [r["id"] for r in checks["rising failures"].rows] == ["r5", "r6"]
    assert [r["id"] for r in checks["judge-vs-verifier disagreement"].rows] == ["r4", "r7"]
    # Dominance 0.8 is at the limit, not over it; a lower limit flags the verifier.
    lower = monitor_rows(_rows(), MonitorConfig(dominance_max=0.75))
    assert any(
        w.check == "component dominance" and "'verifier'" in w.message for w in lower.warnings
    )


def test_windows_without_steps() -> None:
    data = _rows()
    data.steps = [None] * 8
    report = monitor_rows(data, MonitorConfig(windows=4))
    assert report.series["step"] == [0, 1, 2, 3]
    assert report.series["failure_rate"] == [0.0, 0.0, 0.5, 0.5]  # r4 r5 | r6 r7


def _hacked_run(tmp_path: Path) -> tuple[Path, Path]:
    """Steps 0-1 answer right; steps 2-3 keep the format, answer wrong, and grow long."""
    rows = []
    for step in range(4):
        for k in range(25):
            good = step < 2
            think = "reasoning " * (1 + (60 if not good else 0) + k)
            rows.append(
                {
                    "id": f"s{step}-{k}",
                    "step": step,
                    "reference": "4",
                    "completion": f"<think>{think}</think><answer>{'4' if good else '5'}</answer>",
                }
            )
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    spec = tmp_path / "spec.toml"
    spec.write_text(
        'name = "fmt+answer"\n'
        '[[terms]]\nname = "format"\nuse = "format.tags"\nweight = 0.5\n'
        '[[terms]]\nname = "answer"\nuse = "regex"\nparams = { pattern = "<answer>4</answer>", mode = "search" }\n'
    )
    log_dir = tmp_path / "runs"
    score_file(data, load_spec(spec), log_dir=log_dir, workers=1, output=tmp_path / "out.jsonl")
    return data, log_dir


def test_monitor_on_a_real_run_log(tmp_path: Path) -> None:
    _, log_dir = _hacked_run(tmp_path)
    log = RunLog(log_dir)
    report = monitor_run(log, log.latest())
    assert report.rows == 100
    assert report.series["step"] == [0, 1, 2, 3]
    assert report.series["format_only_rate"] == [0.0, 0.0, 1.0, 1.0]
    assert report.metrics["length_correlation"] < -0.5  # the long answers are the wrong ones here
    assert report.series["drift"] == [None, 0.0, 1.0, 0.0]
    checks = {w.check for w in report.warnings}
    assert {"format-only passes", "reward drift", "component dominance"} <= checks
    assert "length correlation" not in checks


def test_monitor_and_report_cli(tmp_path: Path) -> None:
    _, log_dir = _hacked_run(tmp_path)
    env = dict(os.environ, COLUMNS="200")
    base = [sys.executable, "-m", "rewardsmith.cli"]
    monitor = subprocess.run(
        [
            *base,
            "audit",
            "monitor",
            "last",
            "--log-dir",
            str(log_dir),
            "--json",
            str(tmp_path / "m.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert monitor.returncode == 1, monitor.stderr
    assert "format-only passes" in monitor.stdout
    assert json.loads((tmp_path / "m.json").read_text())["rows"] == 100
    config = tmp_path / "loose.json"
    config.write_text(json.dumps({"format_only_max": 1.0, "drift_max": 1.0, "dominance_max": 1.0}))
    loose = subprocess.run(
        [*base, "audit", "monitor", "last", "--log-dir", str(log_dir), "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert loose.returncode == 0, loose.stdout + loose.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format_only": 1.0}))
    wrong = subprocess.run(
        [*base, "audit", "monitor", "last", "--log-dir", str(log_dir), "--config", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert wrong.returncode == 2 and "unknown monitor settings ['format_only']" in wrong.stderr
    out = tmp_path / "report.html"
    report = subprocess.run(
        [*base, "report", "last", "--log-dir", str(log_dir), "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    html = out.read_text()
    assert html.count("<svg") >= 6 and "format-only passes" in html


def test_monitor_reads_a_run_that_is_still_being_written(tmp_path: Path) -> None:
    """The server logs to the run log as it scores; the monitors read the parts already written."""
    import time

    from rewardsmith.core.score import Score
    from rewardsmith.core.spec import resolve_terms

    spec = load_spec("exact_match")
    log = RunLog(tmp_path / "runs")
    run = log.create(spec, resolve_terms(spec))
    good = [Score(value=1.0, components={"exact_match": 1.0}) for _ in range(50)]
    bad = [Score.fail("timeout", "slow") for _ in range(50)]
    run.append(range(100), [f"r{i}" for i in range(100)], good + bad)
    deadline = time.monotonic() + 10
    while not run.parts() and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert RunLog(tmp_path / "runs").open(run.id).manifest["status"] == "running"
        report = monitor_run(log, run, MonitorConfig(windows=2))
        assert report.series["failure_rate"] == [0.0, 1.0]
        assert report.metrics["length_correlation"] is None  # no input file behind a server run
        assert any(w.check == "rising failures" for w in report.warnings)
    finally:
        run.close()


def test_component_means_and_length_per_step() -> None:
    data = _rows()
    report = monitor_rows(data, MonitorConfig())
    assert "mean_length" not in report.series  # no input file, no lengths
    # step 0: fmt 1, 1, 0, 1; step 1: rows without components are left out of the mean.
    assert [m["fmt"] for m in report.series["component_means"]] == [0.75, 1.0]
    assert [m["verifier"] for m in report.series["component_means"]] == [0.5, 0.0]
    data.lengths = [10, 10, 10, 10, 100, 200, 300, 400]
    lengths = monitor_rows(data, MonitorConfig()).series["mean_length"]
    assert lengths == [10.0, 250.0]

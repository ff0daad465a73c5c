"""A run killed with kill -9 or Ctrl-C resumes from the run log without rescoring or losing rows."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from cli_process import start_score, wait_for_logged_rows
from rewardsmith.io.runlog import RunLog

ROWS = 240


def _prepare(tmp_path: Path) -> Path:
    calls = tmp_path / "calls.txt"
    (tmp_path / "rows.jsonl").write_text(
        "".join(
            json.dumps({"id": f"q{i}", "completion": "ok", "reference": "ok" if i % 2 else f"r{i}"})
            + "\n"
            for i in range(ROWS)
        )
    )
    (tmp_path / "spec.toml").write_text(
        '[[terms]]\nname = "t"\nuse = "sample_rewards:behaves"\n'
        # Rows from q120 on wait for the gate file: the run cannot finish before the signal.
        f'params = {{ delay_s = 0.005, calls_file = "{calls}", gate_file = "{tmp_path / "gate"}", gate_from = 120 }}\n'
    )
    return calls


def _processes_mentioning(tmp_path: Path) -> list[int]:
    """Live processes whose command line names this test's folder (the fork server's does)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if str(tmp_path).encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def _called_ids(calls: Path) -> list[str]:
    return [line.split()[1] for line in calls.read_text().splitlines()] if calls.exists() else []


def _finish_with_resume(tmp_path: Path, calls: Path, log: RunLog) -> None:
    (tmp_path / "gate").touch()
    done_before = {row.id for row in log.runs()[-1].logged_rows().values()}
    calls_before = len(_called_ids(calls))
    resumed = start_score(tmp_path, "--resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert f"resumed rows: {len(done_before)}" in out
    rescored = set(_called_ids(calls)[calls_before:]) & done_before
    assert not rescored, f"rows already in the log were scored again: {sorted(rescored)[:5]}"
    rows = [json.loads(line) for line in (tmp_path / "rows.scored.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == [f"q{i}" for i in range(ROWS)]
    assert all(row["status"] == "ok" for row in rows)
    assert [row["reward"] for row in rows] == [float(i % 2) for i in range(ROWS)]
    assert len(log.runs()) == 1 and log.runs()[0].manifest["status"] == "completed"


def test_resume_after_kill_9(tmp_path: Path, isolated_run_log: Path) -> None:
    calls = _prepare(tmp_path)
    log = RunLog(isolated_run_log)
    process = start_score(tmp_path)
    wait_for_logged_rows(log, 16)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)  # returns only once no worker holds the output pipes
    deadline = time.monotonic() + 10
    while _processes_mentioning(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_mentioning(tmp_path), "a worker or the fork server outlived kill -9"
    # Nobody closed it (the file still says running), but no process holds its writer lock.
    assert json.loads((log.runs()[-1].dir / "manifest.json").read_text())["status"] == "running"
    assert log.runs()[-1].status == "interrupted"
    _finish_with_resume(tmp_path, calls, log)


def test_resume_after_ctrl_c(tmp_path: Path, isolated_run_log: Path) -> None:
    calls = _prepare(tmp_path)
    log = RunLog(isolated_run_log)
    process = start_score(tmp_path)
    wait_for_logged_rows(log, 16)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "--resume" in err
    assert log.runs()[-1].manifest["status"] == "interrupted"
    _finish_with_resume(tmp_path, calls, log)

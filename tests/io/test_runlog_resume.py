"""``rewardsmith score --resume`` as a user runs it: a changed file is rescored, never paired
with old rewards; two writers of one run cannot both log; the output is rebuilt from the log."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_process import wait_for_logged_rows
from rewardsmith.core.errors import InputError
from rewardsmith.io.runlog import RunLog, rebuild_output

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ENGINE_TESTS = Path(__file__).resolve().parents[1] / "engine"


def _score(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rewardsmith.cli", "score", *args, "--workers", "1"],
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(ENGINE_TESTS)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_ok(cwd: Path, *args: str) -> str:
    process = _score(cwd, *args)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return out


def _rewards(path: Path) -> dict[str, float | None]:
    return {row["id"]: row["reward"] for row in map(json.loads, path.read_text().splitlines())}


def test_resume_rescores_rewritten_completions_instead_of_reusing_old_rewards(
    tmp_path: Path, isolated_run_log: Path
) -> None:
    rows = tmp_path / "qa.jsonl"
    shutil.copy(EXAMPLES / "qa.jsonl", rows)
    spec = str(EXAMPLES / "qa.toml")
    _run_ok(tmp_path, str(rows), "--spec", spec)
    first = _rewards(tmp_path / "qa.scored.jsonl")
    assert 1.2 in first.values()  # correct answers in the right format, as in the issue

    # Same ids, every completion now a well-formed wrong answer.
    changed = [json.loads(line) for line in rows.read_text().splitlines()]
    for row in changed:
        row["completion"] = "<think>guess</think><answer>WRONG</answer>"
    rows.write_text("".join(json.dumps(row) + "\n" for row in changed))
    out = _run_ok(tmp_path, str(rows), "--spec", spec, "--resume")
    assert "rescored changed rows: 20" in out
    assert "resumed rows: 0" in out
    resumed = _rewards(tmp_path / "qa.scored.jsonl")
    assert 1.2 not in resumed.values()

    # Exactly what a fresh run over the rewritten file gives.
    fresh_home = tmp_path / "fresh-home"
    process = subprocess.run(
        [sys.executable, "-m", "rewardsmith.cli", "score", str(rows), "--spec", spec,
         "-o", str(tmp_path / "fresh.jsonl"), "--workers", "1"],
        cwd=tmp_path, env=dict(os.environ, REWARDSMITH_HOME=str(fresh_home)),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert process.returncode == 0, process.stderr
    assert resumed == _rewards(tmp_path / "fresh.jsonl")

    # The output rebuilt from the log alone equals the scored output; an input changed after
    # scoring is refused with the count, and nothing is written.
    run = RunLog(isolated_run_log).latest()
    assert rebuild_output(run, tmp_path / "rebuilt.jsonl") == 20
    assert (tmp_path / "rebuilt.jsonl").read_text() == (tmp_path / "qa.scored.jsonl").read_text()
    changed[3]["completion"] = "<think>x</think><answer>Paris</answer>"
    rows.write_text("".join(json.dumps(row) + "\n" for row in changed))
    with pytest.raises(InputError, match=r"0 rows of .* are not in its log and 1 changed"):
        rebuild_output(run, tmp_path / "refused.jsonl")
    assert not (tmp_path / "refused.jsonl").exists()


ROWS = 200


def _gated_run(tmp_path: Path) -> list[str]:
    # Distinct contents: the engine's cache would answer repeated ones without the gate.
    (tmp_path / "rows.jsonl").write_text(
        "".join(
            json.dumps({"id": f"q{i}", "completion": f"a{i}", "reference": f"a{i}"}) + "\n"
            for i in range(ROWS)
        )
    )
    (tmp_path / "spec.toml").write_text(
        '[[terms]]\nname = "t"\nuse = "sample_rewards:behaves"\n'
        # Rows from q100 on wait for the gate file: a run holds its lock until the test opens it.
        f'params = {{ gate_file = "{tmp_path / "gate"}", gate_from = 100 }}\n'
    )
    return [
        str(tmp_path / "rows.jsonl"),
        "--spec",
        str(tmp_path / "spec.toml"),
        "--chunk-size",
        "16",
    ]


def test_a_resume_while_the_run_is_writing_and_two_resumes_at_once_log_each_row_once(
    tmp_path: Path, isolated_run_log: Path
) -> None:
    args = _gated_run(tmp_path)
    log = RunLog(isolated_run_log)
    original = _score(tmp_path, *args)
    started: list[subprocess.Popen[str]] = [original]
    try:
        wait_for_logged_rows(log, 16)
        # A resume while the original still runs is refused before it scores anything.
        early = _score(tmp_path, *args, "--resume")
        _, err = early.communicate(timeout=120)
        assert early.returncode != 0
        assert f"pid {original.pid}" in err and "being written by" in err
        # SIGTERM (what `kill`, systemd and schedulers send) ends the run marked interrupted.
        original.send_signal(signal.SIGTERM)
        original.communicate(timeout=30)
        assert original.returncode == -signal.SIGTERM
        manifest = json.loads((log.latest().dir / "manifest.json").read_text())
        assert manifest["status"] == "interrupted"

        # Two resumes at once: one takes the run over, the other is refused naming it.
        both = [_score(tmp_path, *args, "--resume") for _ in range(2)]
        started += both
        deadline = time.monotonic() + 60
        while all(p.poll() is None for p in both) and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = next(p for p in both if p.poll() is not None)
        winner = next(p for p in both if p is not refused)
        _, err = refused.communicate(timeout=30)
        assert refused.returncode != 0, err
        assert f"pid {winner.pid}" in err
        (tmp_path / "gate").touch()
        _, err = winner.communicate(timeout=120)
        assert winner.returncode == 0, err
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=30)
    assert len(log.runs()) == 1 and log.latest().status == "completed"
    connection = log.connect(log.latest())
    assert connection.execute(
        "SELECT count(*), count(DISTINCT row_index), count(DISTINCT id) FROM scores"
    ).fetchone() == (ROWS, ROWS, ROWS)
    output = [json.loads(line)["id"] for line in (tmp_path / "rows.scored.jsonl").open()]
    assert output == [f"q{i}" for i in range(ROWS)]

"""`rewardsmith score` under faults, run as a real process the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ENGINE_TESTS = Path(__file__).resolve().parents[1] / "engine"
CLI = [sys.executable, "-m", "rewardsmith.cli"]
sys.path.insert(0, str(ENGINE_TESTS))

from test_process_tree import gone_within  # noqa: E402


def cli_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ENGINE_TESTS), COLUMNS="200")


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout
    )


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_piped_score_ends_although_a_hung_reward_started_a_subprocess(tmp_path: Path) -> None:
    tag = f"0.{uuid.uuid4().int % 10**12:012d}"
    data = write_jsonl(
        tmp_path / "rows.jsonl",
        [{"id": "hung", "completion": "wait", "reference": tag}]
        + [{"id": f"r{i}", "completion": "quick", "reference": tag} for i in range(3)],
    )
    command = " ".join(
        [*CLI, "score", str(data), "--reward", "sample_rewards:spawns", "--workers", "1", "| cat"]
    )
    started = time.monotonic()
    # `| cat` ends only when every writer of the pipe has closed it: a surviving `sleep 777`
    # that inherited the CLI's stdout would hold it for 13 minutes.
    done = subprocess.run(
        command, shell=True, cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    assert "status timeout" in done.stdout
    assert gone_within(tag, 2.0) == []

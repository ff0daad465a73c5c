"""``rewardsmith design`` as a user runs it: a real process against a local endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("gymnasium", reason="needs the [gym] extra")
pytest.importorskip("httpx", reason="needs the [judge] extra")

from design_candidates import REPLIES
from design_server import FixedReplyServer


@pytest.fixture
def server() -> Iterator[FixedReplyServer]:
    srv = FixedReplyServer(REPLIES).start()
    yield srv
    srv.stop()


def design(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rewardsmith.cli", "design", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "REWARDSMITH_HOME": str(home)},
    )


def test_design_command_json_and_out(server: FixedReplyServer, tmp_path: Path) -> None:
    best = tmp_path / "best_reward.py"
    done = design(
        "goal",
        "--task", "Reach G without entering lava L.",
        "--endpoint", server.url,
        "--iterations", "1",
        "--candidates", str(len(REPLIES)),
        "--episodes", "100",
        "--seeds", "1",
        "--out", str(best),
        "--json",
        home=tmp_path / "home",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    statuses = sorted(c["status"] for c in summary["candidates"])
    assert statuses == sorted(["ok"] * 4 + ["parse_error", "refused", "refused", "timeout"])
    assert summary["best_success_rate"] == 1.0
    assert "def compute_reward" in best.read_text()
    runs = list((tmp_path / "home" / "runs").glob("run=*/manifest.json"))
    assert len(runs) == 1 and json.loads(runs[0].read_text())["status"] == "completed"


def test_design_command_table_and_errors(server: FixedReplyServer, tmp_path: Path) -> None:
    done = design(
        "goal", "--task", "Reach G.", "--endpoint", server.url, "--iterations", "1",
        "--candidates", "1", "--episodes", "50", "--seeds", "1", home=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "selected iter0/cand0" in done.stdout and "def compute_reward" in done.stdout
    assert "iter0/cand0: ok success=1.00" in done.stderr

    # --stop-at: the first round already succeeds, so no second round is asked for.
    before = len(server.requests)
    done = design(
        "goal", "--task", "Reach G.", "--endpoint", server.url, "--iterations", "3",
        "--candidates", "1", "--episodes", "50", "--seeds", "1", "--stop-at", "1.0",
        home=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(server.requests) == before + 1

    bad = design("maze", "--task", "x", "--endpoint", server.url, home=tmp_path)
    assert bad.returncode == 2 and "unknown environment 'maze'" in bad.stderr
    bad = design("goal", "--task", "x", "--endpoint", "localhost", home=tmp_path)
    assert bad.returncode == 2 and "endpoint must be an http" in bad.stderr

"""`rewardsmith score` as a user starts it, in a subprocess, for tests that interrupt a run
(kill -9, Ctrl-C) and resume it; and a bounded wait for the run to have logged rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rewardsmith.io.runlog import RunLog

ENGINE_TESTS = Path(__file__).resolve().parent / "engine"


def start_score(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    """`rewardsmith score rows.jsonl --spec spec.toml` in ``tmp_path`` (2 workers, chunks of 16),
    with the engine tests' rewards importable."""
    env = dict(os.environ, PYTHONPATH=str(ENGINE_TESTS))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rewardsmith.cli",
            "score",
            str(tmp_path / "rows.jsonl"),
            "--spec",
            str(tmp_path / "spec.toml"),
            "--workers",
            "2",
            "--chunk-size",
            "16",
            *extra,
        ],
        cwd=tmp_path,
        env=env,
        # A user's shell delivers Ctrl-C to a process with SIGINT at its default; the test
        # process may have inherited it ignored or blocked (Ray, servers), so reset it.
        preexec_fn=_default_sigint,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def wait_for_logged_rows(log: RunLog, minimum: int) -> None:
    """Return once the latest run has logged ``minimum`` rows; fail after 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = log.runs()
        if runs and runs[-1].row_count() >= minimum:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {minimum} rows logged within 60 s")

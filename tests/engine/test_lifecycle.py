"""No engine process outlives its caller: kill -9 of a script whose worker is stuck in a hung
reward leaves neither the zygote nor the worker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _engine_processes(caller: int) -> list[int]:
    """Live processes started for ``caller``: the zygote's command line names the caller's pid,
    and the workers it forks share that command line."""
    marker = b"zygote_main("
    owner = f", {caller})".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if marker in cmdline and owner in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def test_kill_9_of_the_caller_ends_zygote_and_hung_worker(tmp_path: Path) -> None:
    started = tmp_path / "started"
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import rewardsmith

            @rewardsmith.reward("life.hang", timeout_s=600)
            def hang(sample):
                open({str(started)!r}, "w").close()
                while True:  # pure busy loop: only a kill stops it
                    pass

            rewardsmith.score([{{"completion": "x"}}], "life.hang", workers=1)
            """
        )
    )
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen([sys.executable, str(script)], env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline:
            assert process.poll() is None, "the script ended before its reward started"
            time.sleep(0.05)
        assert started.exists(), "the hung reward never started"
        assert len(_engine_processes(process.pid)) == 2  # the zygote and one worker
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _engine_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _engine_processes(process.pid), "the zygote or a worker outlived kill -9"

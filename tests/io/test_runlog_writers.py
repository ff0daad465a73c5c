"""One writer per run: the writer lock between real processes, and what a reader sees after a
writer is stopped by SIGTERM or killed by kill -9."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rewardsmith import Score, load_spec
from rewardsmith.core.spec import resolve_terms
from rewardsmith.io.runlog import Run, RunLockedError, RunLog, lock_holder

# Creates a run, logs two rows, says its run id, then waits (as a scoring run would).
HOLDER = """
import sys, time
from rewardsmith import Score, load_spec
from rewardsmith.core.spec import resolve_terms
from rewardsmith.io.runlog import RunLog
spec = load_spec("exact_match")
run = RunLog(sys.argv[1]).create(spec, resolve_terms(spec), input_path=sys.argv[2])
run.flush_s = 0.05
run.append([0, 1], ["a", "b"], [Score(value=1.0), Score(value=0.0)], [{"id": "a"}, {"id": "b"}])
while not run.parts():
    time.sleep(0.01)
print(run.id, flush=True)
time.sleep(60)
"""


def _start_holder(root: Path, input_path: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), str(input_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    run_id = process.stdout.readline().strip()  # bounded: the holder sleeps 60 s at most
    assert run_id, process.stderr.read() if process.stderr else ""
    return process, run_id


def _spec_and_terms():  # type: ignore[no-untyped-def]
    spec = load_spec("exact_match")
    return spec, resolve_terms(spec)


def test_a_second_writer_is_refused_naming_the_first_until_it_is_killed(tmp_path: Path) -> None:
    input_path = tmp_path / "in.jsonl"
    process, run_id = _start_holder(tmp_path / "runs", input_path)
    log = RunLog(tmp_path / "runs")
    spec, terms = _spec_and_terms()
    try:
        assert log.open(run_id).status == "running"
        holder = lock_holder(log.open(run_id).dir)
        assert holder is not None and holder["pid"] == process.pid
        with pytest.raises(RunLockedError, match=f"pid {process.pid} on .* since"):
            log.resume(str(input_path), spec, terms)
    finally:
        process.kill()
        process.communicate(timeout=30)
    # kill -9 left the manifest saying running; the kernel dropped the lock, so it reads
    # interrupted and the run can be taken over.
    on_disk = json.loads((log.open(run_id).dir / "manifest.json").read_text())
    assert on_disk["status"] == "running"
    assert log.open(run_id).status == "interrupted"
    assert lock_holder(log.open(run_id).dir) is None
    resumed = log.resume(str(input_path), spec, terms)
    assert resumed is not None and resumed.id == run_id and resumed.status == "running"
    assert log.open(run_id).status == "running"  # held by this process now
    resumed.close()
    assert log.open(run_id).status == "completed"
    assert sorted(row.id for row in log.open(run_id).logged_rows().values()) == ["a", "b"]


def test_sigterm_marks_the_run_interrupted_and_still_ends_the_process(tmp_path: Path) -> None:
    process, run_id = _start_holder(tmp_path / "runs", tmp_path / "in.jsonl")
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGTERM  # died of the signal, as without the handler
    manifest = json.loads((tmp_path / "runs" / f"run={run_id}" / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert "SIGTERM" in manifest["status_reason"]


def test_one_process_cannot_open_the_same_run_twice_for_writing(tmp_path: Path) -> None:
    log = RunLog(tmp_path)
    spec, terms = _spec_and_terms()
    run = log.create(spec, terms, input_path="in.jsonl")
    with pytest.raises(RunLockedError, match=run.id):
        log.resume("in.jsonl", spec, terms)
    run.close("interrupted")
    again = log.resume("in.jsonl", spec, terms)
    assert again is not None
    again.close()


def test_two_writers_of_one_directory_never_overwrite_each_others_parts(tmp_path: Path) -> None:
    # The old numbering (part-000001 from each writer's own counter) lost one writer's rows.
    log = RunLog(tmp_path)
    spec, terms = _spec_and_terms()
    first = log.create(spec, terms)
    first.append([0, 1], ["a", "b"], [Score(value=1.0)] * 2)
    second = Run(first.dir, dict(first.manifest))
    second.append([2, 3, 4], ["c", "d", "e"], [Score(value=0.0)] * 3)
    second.close()
    first.close()
    assert len(first.parts()) == 2
    assert first.row_count() == 5
    assert sorted(row.id for row in first.logged_rows().values()) == ["a", "b", "c", "d", "e"]

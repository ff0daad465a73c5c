from __future__ import annotations

from pathlib import Path

import pytest

from rewardsmith import Score, load_spec
from rewardsmith.core.spec import resolve_terms
from rewardsmith.io.runlog import RunLog, run_summary


def _run(log: RunLog, **kwargs: object):  # type: ignore[no-untyped-def]
    spec = load_spec("exact_match")
    return log.create(spec, resolve_terms(spec), input_path="in.jsonl", **kwargs)  # type: ignore[arg-type]


def test_rows_are_logged_with_provenance_and_queryable(tmp_path: Path) -> None:
    log = RunLog(tmp_path)
    run = _run(log)
    run.append(
        [0, 1, 2],
        ["a", "b", "c"],
        [
            Score(value=1.0, components={"x": 1.0}),
            Score.fail("timeout", "slow"),
            Score(value=0.0, components={"x": 0.0}, info={"path": "fast"}),
        ],
    )
    run.close()
    manifest = log.open(run.id).manifest
    assert manifest["status"] == "completed"
    assert manifest["rewards"]["exact_match"]["version"] == "1"
    assert len(manifest["spec_hash"]) == 16
    assert manifest["rewardsmith_version"]
    assert run.row_count() == 3
    logged = run.logged_rows()
    assert logged[1].score.status == "timeout" and logged[1].score.value is None
    assert logged[2].score.info == {"path": "fast"}
    summary = run_summary(log, run)
    assert summary["rows"] == 3 and summary["mean_reward"] == pytest.approx(0.5)
    assert summary["component_means"] == {"x": 0.5}
    assert summary["status_counts"]["timeout"] == 1
    connection = log.connect()
    assert connection.execute(
        "SELECT count(*) FROM scores WHERE components['x'] = 1.0"
    ).fetchone() == (1,)
    assert connection.execute("SELECT spec_name FROM runs").fetchall() == [("exact_match",)]


def test_parts_are_visible_while_the_run_is_still_being_written(tmp_path: Path) -> None:
    log = RunLog(tmp_path)
    run = _run(log)
    run.flush_s = 0.05
    run.append([0], ["a"], [Score(value=1.0)])
    import time

    deadline = time.monotonic() + 10
    while not run.parts() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert run.parts(), "the background writer did not flush within 10 s"
    assert log.connect(run).execute("SELECT count(*) FROM scores").fetchone() == (1,)
    assert not list(run.dir.glob(".*.tmp"))
    run.close()


def test_runs_are_found_by_prefix_and_for_resume(tmp_path: Path) -> None:
    log = RunLog(tmp_path)
    run = _run(log)
    run.close()
    assert log.open(run.id[:12]).id == run.id
    assert log.latest_matching("in.jsonl", run.manifest["spec_hash"]).id == run.id  # type: ignore[union-attr]
    assert log.latest_matching("other.jsonl", run.manifest["spec_hash"]) is None

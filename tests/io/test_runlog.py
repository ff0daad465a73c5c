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


def test_a_logged_score_is_reused_only_for_the_same_row_and_reward_versions(
    tmp_path: Path,
) -> None:
    from rewardsmith.io.runlog import input_hash

    spec = load_spec("exact_match")
    terms = resolve_terms(spec)
    log = RunLog(tmp_path)
    rows = [{"id": i, "completion": i, "reference": "x"} for i in ("a", "b", "c")]
    ids = ["a", "b", "c"]
    run = log.create(spec, terms, input_path="in.jsonl")
    run.append([0, 1, 2], ids, [Score(value=1.0)] * 3, rows)
    run.close("interrupted")

    again = log.resume("in.jsonl", spec, terms)
    assert again is not None
    edited = [rows[0], {**rows[1], "completion": "B"}, dict(reversed(rows[2].items()))]
    assert input_hash(edited[2]) == input_hash(rows[2])  # field order is not content
    assert set(again.reusable(again.logged_rows(), edited, ids, 0)) == {0, 2}
    assert again.changed_inputs == 1
    # A changed row of a group-sensitive chunk sends the whole chunk back to scoring.
    assert again.reusable(again.logged_rows(), edited, ids, 0, whole=True) == {}
    # A changed id at a position is a changed row too.
    assert set(again.reusable(again.logged_rows(), rows, ["a", "x", "c"], 0)) == {0, 2}
    again.close()

    # Rows scored by another version of a reward are not reused either.
    old = log.create(spec, terms, input_path="old.jsonl")
    old.versions = "exact_match=exact_match@0"
    old.append([0, 1, 2], ids, [Score(value=1.0)] * 3, rows)
    old.close("interrupted")
    resumed = log.resume("old.jsonl", spec, terms)
    assert resumed is not None
    assert resumed.reusable(resumed.logged_rows(), rows, ids, 0) == {}
    assert resumed.changed_rewards == 3
    assert resumed.manifest["resumes"][-1]["versions"] == "exact_match=exact_match@1"
    resumed.close()


def test_parts_written_before_input_hashes_read_back_and_are_never_reused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    spec = load_spec("exact_match")
    terms = resolve_terms(spec)
    log = RunLog(tmp_path)
    run = log.create(spec, terms, input_path="in.jsonl")
    run.append([1], ["b"], [Score(value=0.0)], [{"id": "b"}])
    run.close("interrupted")
    # A part in the layout of earlier releases: no input_hash, no versions.
    old = pa.table(
        {
            "row_index": pa.array([0], pa.int64()),
            "id": ["a"],
            "reward": [1.0],
            "status": ["ok"],
            "reason": [""],
            "components": pa.array([[("x", 1.0)]], pa.map_(pa.string(), pa.float64())),
            "info": [""],
            "latency_s": [0.1],
            "scored_at": pa.array([0], pa.timestamp("us")),
        }
    )
    pq.write_table(old, run.dir / "part-000001.parquet")
    logged = run.logged_rows()
    assert logged[0].input_hash == "" and logged[0].score.components == {"x": 1.0}
    assert log.connect().execute("SELECT count(*), count(input_hash) FROM scores").fetchone() == (
        2,
        1,
    )
    again = log.resume("in.jsonl", spec, terms)
    assert again is not None
    assert set(again.reusable(logged, [{"id": "a"}, {"id": "b"}], ["a", "b"], 0)) == {1}
    again.close()


def test_public_names() -> None:
    import rewardsmith.io.runlog as runlog

    assert sorted(runlog.__all__) == [
        "LOG_SCHEMA_FIELDS",
        "LoggedRow",
        "RewardVersionError",
        "Run",
        "RunLockedError",
        "RunLog",
        "default_log_root",
        "input_hash",
        "lock_holder",
        "rebuild_output",
        "reward_versions",
        "run_summary",
    ]
    assert all(hasattr(runlog, name) for name in runlog.__all__)

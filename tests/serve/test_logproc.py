"""The run log written from a child process: same rows as `Run.append`, and loud when it dies."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewardsmith import EngineError, Score, load_spec
from rewardsmith.core.spec import resolve_terms
from rewardsmith.io.runlog import RunLog
from rewardsmith.serve.logproc import RunLogProcess


def _run(tmp_path: Path):  # type: ignore[no-untyped-def]
    spec = load_spec("exact_match")
    return RunLog(tmp_path / "runs").create(spec, resolve_terms(spec))


def test_rows_reach_the_log_unchanged(tmp_path: Path) -> None:
    writer = RunLogProcess(_run(tmp_path))
    scores = [
        Score(value=1.0, components={"em": 1.0}, info={"terms": {"em": {"status": "ok"}}}),
        Score.fail("parse_error", "no answer"),
        Score(value=0.5, info={"huge": 2**80}),  # msgpack cannot hold it: logged as repr
    ]
    writer.append([0, 1], ["a", "b"], scores[:2])
    writer.append([2], ["c"], scores[2:])
    writer.close("completed")
    run = RunLog(tmp_path / "runs").latest()
    assert run.manifest["status"] == "completed"
    logged = run.logged_rows()
    assert [logged[i].id for i in range(3)] == ["a", "b", "c"]
    assert logged[0].score.components == {"em": 1.0} and logged[0].score.value == 1.0
    assert logged[1].score.status == "parse_error" and logged[1].score.reason == "no answer"
    assert logged[2].score.value == 0.5 and "1208925819614629174706176" in str(logged[2].score.info)


def test_a_dead_writer_makes_appends_fail(tmp_path: Path) -> None:
    writer = RunLogProcess(_run(tmp_path))
    writer._process.kill()
    writer._process.join(10)
    with pytest.raises(EngineError, match="run-log process is gone"):
        for _ in range(100):  # the first writes may still land in the pipe's buffer
            writer.append([0], ["a"], [Score(value=1.0)])
    with pytest.raises(EngineError, match="failed"):
        writer.close()

"""Ray backend on a local Ray (num_cpus=2), one Ray session for the whole module."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

import integration_rewards  # noqa: E402,F401  (rewards by import path, for the actors)
from typer.testing import CliRunner  # noqa: E402

import rewardsmith  # noqa: E402
from rewardsmith import EngineError  # noqa: E402
from rewardsmith.cli import app  # noqa: E402
from rewardsmith.engine.files import score_file  # noqa: E402
from rewardsmith.integrations.ray import RayEngine, score_dataset  # noqa: E402

SPEC = {
    "name": "ray-test",
    "terms": [
        {"name": "em", "use": "exact_match"},
        {
            "name": "fmt",
            "use": "regex",
            "weight": 0.5,
            "params": {"pattern": "^[A-Z]", "mode": "search"},
        },
        {"name": "size", "use": "integration_rewards:group_size", "weight": 0.1},
    ],
}
ROWS = [
    {"id": i, "completion": word, "reference": "Paris", "group": f"g{i % 3}"}
    for i, word in enumerate(["Paris", "paris", "Lyon", "Paris", "x", "Nice", "Paris"])
] + [{"id": "bad", "completion": 42}]


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def ray_engine(ray_session):
    # Actors reserve CPUs: close each engine so the next test can place its own.
    engine = RayEngine(actors=2, start_timeout_s=60)
    yield engine
    engine.close()


def test_ray_actors_give_the_local_numbers(ray_engine: RayEngine) -> None:
    remote = ray_engine.score(ROWS, SPEC)
    local = rewardsmith.score(ROWS, SPEC, workers=1)
    assert [s.value for s in remote] == [s.value for s in local]
    assert [s.status for s in remote] == [s.status for s in local]
    assert [s.components for s in remote] == [s.components for s in local]
    assert remote.ids == local.ids
    # groups stayed whole: g0 has rows 0, 3, 6
    assert [remote[i].components["size"] for i in (0, 3, 6)] == [3.0, 3.0, 3.0]
    assert remote[-1].status == "error" and "completion" in remote[-1].reason
    pids = {
        ray.get(actor.pid.remote()) for actor in ray_engine.actors_for(rewardsmith.load_spec(SPEC))
    }
    assert len(pids) == 2


def test_cli_backend_ray_writes_the_same_file_as_local(ray_session, tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    spec = tmp_path / "spec.toml"
    spec.write_text(
        'name = "cli"\n[[terms]]\nname = "em"\nuse = "exact_match"\n'
        '[[terms]]\nname = "size"\nuse = "integration_rewards:group_size"\n'
    )
    runner = CliRunner()
    local = runner.invoke(
        app,
        [
            "score",
            str(data),
            "-s",
            str(spec),
            "-o",
            str(tmp_path / "local.jsonl"),
            "--workers",
            "1",
            "--chunk-size",
            "8",
        ],
    )
    assert local.exit_code == 0, local.output
    remote = runner.invoke(
        app,
        [
            "score",
            str(data),
            "-s",
            str(spec),
            "-o",
            str(tmp_path / "ray.jsonl"),
            "--backend",
            "ray",
            "--workers",
            "2",
            "--chunk-size",
            "8",
        ],
    )
    assert remote.exit_code == 0, remote.output
    assert ray.is_initialized()  # the CLI reused this session and did not shut it down
    local_rows = [json.loads(line) for line in (tmp_path / "local.jsonl").read_text().splitlines()]
    ray_rows = [json.loads(line) for line in (tmp_path / "ray.jsonl").read_text().splitlines()]
    strip = lambda rows: [{k: v for k, v in row.items()} for row in rows]  # noqa: E731
    assert strip(ray_rows) == strip(local_rows)


def test_cli_backend_ray_says_what_it_did_about_dead_actors(ray_session, tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    rows = [{"id": f"r{i}", "completion": word} for i, word in enumerate(["ab", "POISON", "abc"])]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    spec = tmp_path / "spec.toml"
    spec.write_text('[[terms]]\nname = "n"\nuse = "integration_rewards:crash_on_poison"\n')
    options = ["--backend", "ray", "--workers", "1", "--log-dir", str(tmp_path / "runs")]
    done = CliRunner().invoke(
        app, ["score", str(data), "-s", str(spec), "-o", str(tmp_path / "out.jsonl"), *options]
    )
    assert done.exit_code == 0, done.output
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [row["status"] for row in out] == ["ok", "error", "ok"]
    assert "reward actor(s) died" in done.output and "row(s) sent again" in done.output
    assert "1 row(s) killed every actor they were tried on" in done.output


def test_score_file_with_ray_logs_every_row(ray_engine: RayEngine, tmp_path: Path) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    summary = score_file(
        data,
        rewardsmith.load_spec(SPEC),
        engine=ray_engine,
        chunk_size=4,
        log_dir=tmp_path / "runs",
    )
    assert summary["rows"] == len(ROWS)
    from rewardsmith.io.runlog import RunLog

    assert len(RunLog(tmp_path / "runs").latest().logged_rows()) == len(ROWS)


def test_ray_data_map_batches(ray_session) -> None:
    spec = {"terms": [{"name": "em", "use": "exact_match"}]}
    rows = [{"completion": f"w{i % 4}", "reference": "w1", "n": i} for i in range(10)]
    dataset = ray.data.from_items(rows)
    scored = score_dataset(dataset, spec, batch_size=4, concurrency=1).take_all()
    local = rewardsmith.score(rows, spec, workers=1)
    by_n = {row["n"]: row for row in scored}
    assert [by_n[i]["reward"] for i in range(10)] == [s.value for s in local]
    assert all(by_n[i]["status"] == "ok" for i in range(10))
    assert json.loads(by_n[1]["components"]) == {"em": 1.0}
    with pytest.raises(rewardsmith.SpecError, match="group"):
        score_dataset(dataset, {"terms": [{"name": "s", "use": "integration_rewards:group_size"}]})


def test_actors_that_cannot_be_placed_are_an_error_not_a_hang(ray_session) -> None:
    engine = RayEngine(actors=3, start_timeout_s=3)  # 3 x 1 CPU on a 2-CPU Ray
    try:
        with pytest.raises(EngineError, match="did not start within 3 s"):
            engine.score([{"completion": "a1", "reference": "a1"}], "exact_match")
    finally:
        engine.close()


def _wait_dead(actor: object) -> None:
    """ray.kill is asynchronous: wait until the actor answers no more (bounded)."""
    for _ in range(100):
        try:
            ray.get(actor.pid.remote(), timeout=5)  # type: ignore[attr-defined]
        except ray.exceptions.RayActorError:
            return
        except ray.exceptions.GetTimeoutError:
            continue
        time.sleep(0.05)
    raise AssertionError("the killed actor still answers")


def test_a_dead_actor_is_replaced_and_its_rows_rescored(ray_session) -> None:
    engine = RayEngine(actors=1, start_timeout_s=60)
    try:
        spec = rewardsmith.load_spec("exact_match")
        assert engine.score([{"completion": "a1", "reference": "a1"}], spec)[0].value == 1.0
        [actor] = engine.actors_for(spec)
        first = ray.get(actor.pid.remote())
        ray.kill(actor, no_restart=True)
        _wait_dead(actor)
        rows = [{"completion": "a1", "reference": "a1"}, {"completion": "b", "reference": "a1"}]
        assert [s.value for s in engine.score(rows, spec)] == [1.0, 0.0]
        assert engine.recovery.actor_deaths == 1 and engine.recovery.rescored_rows == 2
        [replacement] = engine.actors_for(spec)
        assert ray.get(replacement.pid.remote()) != first
    finally:
        engine.close()


def test_a_row_that_kills_its_actor_ends_with_an_error_status(ray_session) -> None:
    """Ray would retry it for ever; we try it alone max_restarts + 1 times, then say so."""
    spec = {"terms": [{"name": "n", "use": "integration_rewards:crash_on_poison"}]}
    rows = [{"completion": word} for word in ["ab", "abc", "POISON", "a", "abcd", "x"]]
    engine = RayEngine(actors=2, max_restarts=1, start_timeout_s=60)
    try:
        started = time.monotonic()
        batch = engine.score(rows, spec)
        assert [s.value for i, s in enumerate(batch) if i != 2] == [2.0, 3.0, 1.0, 4.0, 1.0]
        assert batch[2].status == "error" and batch[2].value is None
        assert "reward actor died while scoring this row, on each of 2 tries" in batch[2].reason
        recovery = engine.recovery
        assert recovery.failed_rows == 1
        # bisection of the 3-row shard (2 deaths) then 2 tries alone: bounded
        assert 2 <= recovery.actor_deaths <= 4
        assert time.monotonic() - started < 60
        # the engine still scores after the storm
        assert [s.value for s in engine.score([{"completion": "abc"}], spec)] == [3.0]
    finally:
        engine.close()


def test_ray_data_mode_does_not_loop_on_a_row_that_kills_its_actor(ray_session) -> None:
    spec = {"terms": [{"name": "n", "use": "integration_rewards:crash_on_poison"}]}
    rows = [{"completion": word} for word in ["ab", "POISON", "abc"]]
    engine = RayEngine(actors=1, data=True, max_restarts=0, start_timeout_s=60, shard_rows=1)
    try:
        batch = engine.score(rows, spec)
        assert [batch[0].value, batch[2].value] == [2.0, 3.0]
        assert batch[1].status == "error" and "on each of 1 tries" in batch[1].reason
        assert engine.recovery.failed_rows == 1 and engine.recovery.rescored_rows >= 1
    finally:
        engine.close()


def test_ray_client_address_without_the_client_is_a_clear_error() -> None:
    try:
        import grpc  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"ray\[client\]"):
            RayEngine(address="ray://127.0.0.1:10001")
    else:
        pytest.skip("the Ray client is installed here")


def test_stateful_shaping_runs_on_one_actor_and_matches_local(ray_engine: RayEngine) -> None:
    spec_dict = {"terms": [{"name": "em", "use": "exact_match", "transform": {"kind": "zscore"}}]}
    try:
        spec = rewardsmith.load_spec(spec_dict)
    except rewardsmith.SpecError as exc:  # shaping is another module's work in progress
        pytest.skip(f"zscore transform unavailable: {exc}")
    batches = [
        [{"completion": w, "reference": "a1"} for w in ("a1", "b2", "a1", "c3")],
        [{"completion": w, "reference": "a1"} for w in ("a1", "a1", "a1", "d4", "e5")],
    ]
    with rewardsmith.Engine(1) as local:
        expected = [[s.value for s in local.score(rows, spec)] for rows in batches]
    got = [[s.value for s in ray_engine.score(rows, spec)] for rows in batches]
    assert got == expected
    assert expected[0] != expected[1][:4]  # the running statistics moved between batches


def test_ray_data_mode_without_free_cpus_is_an_error_not_a_hang(ray_engine: RayEngine) -> None:
    spec = rewardsmith.load_spec("exact_match")
    ray_engine.actors_for(spec)  # two actors now hold both CPUs
    data_engine = RayEngine(data=True, start_timeout_s=1)
    try:
        with pytest.raises(EngineError, match="needs 1 free CPU per actor"):
            data_engine.score([{"completion": "a1", "reference": "a1"}], spec)
    finally:
        data_engine.close()


@pytest.mark.slow
def test_cli_process_starts_and_stops_its_own_ray(tmp_path: Path) -> None:
    """`rewardsmith score --backend ray` as a user runs it: a fresh process, its own local Ray."""
    import os
    import subprocess
    import sys

    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent), COLUMNS="200")
    for backend in ("local", "ray"):
        done = subprocess.run(
            [sys.executable, "-m", "rewardsmith.cli", "score", str(data), "-r", "exact_match",
             "-o", str(tmp_path / f"{backend}.jsonl"), "--backend", backend, "--workers", "2"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "ray.jsonl").read_text() == (tmp_path / "local.jsonl").read_text()

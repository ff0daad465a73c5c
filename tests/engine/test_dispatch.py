"""Batched dispatch: per-row deadlines inside a chunk, kills mid-chunk, start-up failures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sample_rewards  # noqa: F401 - registers the test rewards

import rewardsmith
from rewardsmith import Engine
from rewardsmith.engine.pool import Job, WorkerPool


def _spec(**params: object) -> dict[str, object]:
    return {"terms": [{"name": "t", "use": "test.behaves", "params": params}]}


def test_deadline_is_per_row_not_per_chunk() -> None:
    """Ten 0.15 s rows in one chunk take 1.5 s, yet none passes its own 0.5 s limit."""
    reward = rewardsmith.get_reward("test.behaves")
    rows = [rewardsmith.Sample(id=str(i), completion="ok", reference="ok") for i in range(10)]
    with WorkerPool(1) as pool:
        batch = pool.run([Job(reward, {"delay_s": 0.15}, row, 0.5) for row in rows], chunk_size=10)
        results = batch.wait(timeout=60)
    assert [s.status for s in results] == ["ok"] * 10
    assert pool.kills == 0


def test_a_hang_mid_chunk_times_out_alone_and_the_rest_is_answered_once(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    commands = ["ok"] * 40
    commands[7] = "hang"
    commands[23] = "sleep"
    rows = [{"id": f"r{i}", "completion": c, "reference": "ok"} for i, c in enumerate(commands)]
    reward = rewardsmith.get_reward("test.behaves")
    samples = [rewardsmith.Sample.from_row(row, i) for i, row in enumerate(rows)]
    params = {"calls_file": str(calls)}
    with WorkerPool(2) as pool:
        start = time.monotonic()
        results = pool.run(
            [Job(reward, params, sample, 0.4) for sample in samples], chunk_size=20
        ).wait(timeout=60)
        elapsed = time.monotonic() - start
        kills = pool.kills
    statuses = [s.status for s in results]
    assert statuses[7] == statuses[23] == "timeout"
    assert statuses.count("ok") == 38
    assert all(s.value == 1.0 for i, s in enumerate(results) if i not in (7, 23))
    assert kills == 2
    assert elapsed < 10
    called = {line.split()[1] for line in calls.read_text().splitlines()}
    assert called == {sample.id for sample in samples}  # every row ran; none was dropped


def test_worker_start_failure_has_its_own_reason_never_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import worker_only_failure  # noqa: F401 - imports fine here

    monkeypatch.setenv("REWARDSMITH_TEST_FAIL_IN_WORKER", "1")  # ...but not in the workers
    with Engine(workers=1, cache=False) as engine:
        batch = engine.score([{"completion": "a"}, {"completion": "b"}], "test.fails_in_worker")
        stats = engine.stats
    assert [s.status for s in batch] == ["error", "error"]
    assert batch.status_counts["timeout"] == 0
    assert all("worker start-up failed:" in s.reason for s in batch)
    assert "importing its module 'worker_only_failure' in the worker failed" in batch[0].reason
    assert "refuses to load in a worker" in batch[0].reason
    assert stats["worker_start_failures"] == 2


def test_warm_starts_workers_before_the_first_batch() -> None:
    with Engine(workers=2) as engine:
        engine.warm("test.worker_pid")
        deadline = time.monotonic() + 60
        while engine.stats["worker_starts"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.stats["worker_starts"] == 2
        rows = [{"completion": str(i)} for i in range(8)]
        pids = {s.value for s in engine.score(rows, "test.worker_pid")}
        assert engine.stats["worker_starts"] == 2  # the batch used the warm workers
    assert len(pids) <= 2


def test_fast_path_settles_rows_in_the_caller_and_defers_the_rest() -> None:
    reward = rewardsmith.get_reward("test.worker_pid")

    def fast(sample: rewardsmith.Sample, params: dict[str, object]) -> rewardsmith.Score | None:
        if sample.completion_text == "easy":
            return rewardsmith.Score(value=-1.0)
        if sample.completion_text == "broken":
            raise ValueError("the fast path gives up by raising")
        return None

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(reward, "fast_path", fast, raising=False)
    try:
        with Engine(workers=1, cache=False) as engine:
            batch = engine.score(
                [{"completion": "easy"}, {"completion": "hard"}, {"completion": "broken"}],
                "test.worker_pid",
            )
    finally:
        monkeypatch.undo()
    import os

    assert batch[0].value == -1.0  # settled in the caller
    assert batch[1].value not in (-1.0, float(os.getpid()))  # ran in a worker
    assert batch[2].value == batch[1].value  # the fast path raised: the worker answered


def test_a_fast_path_slower_than_the_workers_is_left_to_probes() -> None:
    """A fast path costing more than the worker time it saves is tried on a few rows per batch
    only: it would otherwise turn the workers into one calling thread."""
    reward = rewardsmith.get_reward("test.worker_pid")
    calls = 0

    def slow(sample: rewardsmith.Sample, params: dict[str, object]) -> rewardsmith.Score | None:
        nonlocal calls
        calls += 1
        time.sleep(0.005)
        return None

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(reward, "fast_path", slow, raising=False)
    try:
        with Engine(workers=1, cache=False) as engine:
            rows = [{"completion": str(i)} for i in range(64)]
            for _ in range(3):
                calls = 0
                batch = engine.score(rows, "test.worker_pid")
                assert batch.status_counts["ok"] == 64
                assert calls <= 16
    finally:
        monkeypatch.undo()


def test_a_cheap_fast_path_takes_the_rows_once_measured() -> None:
    reward = rewardsmith.get_reward("test.behaves")
    calls = 0

    def cheap(sample: rewardsmith.Sample, params: dict[str, object]) -> rewardsmith.Score | None:
        nonlocal calls
        calls += 1
        return rewardsmith.Score(value=1.0)

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(reward, "fast_path", cheap, raising=False)
    spec = _spec(delay_s=0.002)  # a worker spends >= 2 ms a row
    rows = [{"completion": "ok", "reference": "ok"} for _ in range(64)]
    try:
        with Engine(workers=1, cache=False) as engine:
            engine.score(rows, spec)  # measures both: 16 rows by the fast path, 48 by workers
            calls = 0
            batch = engine.score(rows, spec)
    finally:
        monkeypatch.undo()
    assert [s.value for s in batch] == [1.0] * 64
    assert calls == 63  # every row but the one kept for measuring the workers


def test_a_reward_built_inside_a_function_travels_by_value() -> None:
    def make(bonus: float) -> rewardsmith.Reward:
        @rewardsmith.reward("test.closure_bonus", reads=("completion",), register=False)
        def closure(sample: rewardsmith.Sample) -> float:
            return len(sample.completion_text) + bonus

        return closure

    reward = make(0.5)
    with WorkerPool(1) as pool:
        results = pool.run(
            [Job(reward, {}, rewardsmith.Sample(id="a", completion="abc"), 5.0)]
        ).wait(timeout=60)
    assert results[0].status == "ok", results[0].reason
    assert results[0].value == 3.5

"""The worker pool: hard timeouts by killing, worker death, threads, asyncio, determinism."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import sample_rewards  # noqa: F401 - registers the test rewards

import rewardsmith
from rewardsmith import Engine

SPEC = {"terms": [{"name": "t", "use": "test.behaves", "params": {"timeout_s": 0.5}}]}


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine(workers=2) as shared:
        yield shared


def _rows(commands: list[str]) -> list[dict[str, str]]:
    return [{"id": f"r{i}", "completion": c, "reference": "ok"} for i, c in enumerate(commands)]


def test_hanging_reward_is_killed_and_the_batch_goes_on(engine: Engine) -> None:
    start = time.monotonic()
    batch = engine.score(_rows(["ok", "hang", "ok", "sleep", "no"]), SPEC)
    elapsed = time.monotonic() - start
    assert [s.status for s in batch] == ["ok", "timeout", "ok", "timeout", "ok"]
    assert [s.value for s in batch] == [1.0, 0.0, 1.0, 0.0, 0.0]
    assert "killed" in batch[1].reason
    assert elapsed < 5.0  # two 0.5 s kills on two workers, not an hour of sleep


def test_timeout_is_enforced_when_called_from_a_thread(engine: Engine) -> None:
    results: list[rewardsmith.ScoredBatch] = []
    thread = threading.Thread(
        target=lambda: results.append(engine.score(_rows(["hang", "ok"]), SPEC))
    )
    start = time.monotonic()
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert [s.status for s in results[0]] == ["timeout", "ok"]
    assert time.monotonic() - start < 5.0


def test_timeout_is_enforced_from_asyncio_without_blocking_the_loop(engine: Engine) -> None:
    async def main() -> tuple[rewardsmith.ScoredBatch, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        task = asyncio.create_task(ticker())
        batch = await rewardsmith.ascore(_rows(["sleep", "ok"]), SPEC, engine=engine)
        task.cancel()
        return batch, ticks

    batch, ticks = asyncio.run(main())
    assert [s.status for s in batch] == ["timeout", "ok"]
    assert ticks >= 5  # the loop kept running while the worker was being killed


@pytest.mark.parametrize(
    ("command", "fragment"),
    [("die", "exit code 7"), ("segfault", "signal 11")],
)
def test_worker_death_costs_only_its_row(engine: Engine, command: str, fragment: str) -> None:
    batch = engine.score(_rows(["ok", command, "ok", "ok"]), SPEC)
    assert [s.status for s in batch] == ["ok", "error", "ok", "ok"]
    assert batch[1].value is None  # error -> mask by default
    assert fragment in batch[1].reason


@pytest.mark.parametrize(
    ("command", "status", "fragment"),
    [
        ("raise", "error", "raised ValueError: reward blew up"),
        ("exit", "error", "called exit(0)"),
        ("nan", "error", "returned NaN"),
        ("inf", "error", "infinite"),
        ("text", "error", "str '1.0'"),
        ("none", "error", "NoneType"),
        ("unpicklable", "error", "cannot be sent back"),
        ("parse", "parse_error", "no answer found"),
    ],
)
def test_misbehaving_rewards_get_a_status_and_reason(
    engine: Engine, command: str, status: str, fragment: str
) -> None:
    batch = engine.score(_rows(["ok", command, "ok"]), SPEC)
    assert batch[1].status == status
    assert fragment in batch[1].reason
    assert batch[0].value == batch[2].value == 1.0


def test_same_numbers_whatever_the_worker_count() -> None:
    rows = [
        {"id": str(i), "completion": "ok" if i % 3 else "no", "reference": "ok"} for i in range(200)
    ]
    spec = {
        "terms": [
            {"name": "t", "use": "test.behaves"},
            {"name": "n", "use": "test.inline_len", "weight": 0.1},
        ]
    }
    with Engine(workers=1, cache=False) as one, Engine(workers=2, cache=False) as two:
        first = [(s.value, s.status, s.components) for s in one.score(rows, spec)]
        second = [(s.value, s.status, s.components) for s in two.score(rows, spec)]
    assert first == second
    assert first[0] == (0.2, "ok", {"t": 0.0, "n": 2.0})


def test_killed_worker_is_replaced_and_keeps_serving(engine: Engine) -> None:
    kills_before = engine.pool.kills
    # Distinct references, so the two hanging calls are not deduplicated into one.
    engine.score(
        [{"completion": "hang", "reference": "a"}, {"completion": "hang", "reference": "b"}], SPEC
    )
    assert engine.pool.kills == kills_before + 2
    batch = engine.score(_rows(["ok"] * 20), SPEC)
    assert all(s.value == 1.0 for s in batch)


def test_workers_are_recycled_after_a_number_of_jobs() -> None:
    from rewardsmith.engine.pool import Job, WorkerPool

    reward = rewardsmith.get_reward("test.worker_pid")
    with WorkerPool(1, recycle_after=3) as pool:
        jobs = [
            Job(reward, {}, rewardsmith.Sample(id=str(i), completion=str(i)), 5.0) for i in range(7)
        ]
        pids = [future.result(timeout=60).value for future in pool.submit(jobs, chunk_size=1)]
    assert len(set(pids)) == 3  # jobs 0-2, 3-5, 6
    assert pids[0] == pids[2] != pids[3] == pids[5] != pids[6]


def test_shutdown_fails_queued_work_instead_of_running_it() -> None:
    from rewardsmith.engine.pool import Job, WorkerPool

    reward = rewardsmith.get_reward("test.behaves")
    pool = WorkerPool(1)
    jobs = [
        Job(
            reward,
            {"delay_s": 0.2},
            rewardsmith.Sample(id=str(i), completion="ok", reference=str(i)),
            5.0,
        )
        for i in range(20)
    ]
    futures = pool.submit(jobs, chunk_size=1)
    time.sleep(0.5)
    start = time.monotonic()
    pool.shutdown()
    assert time.monotonic() - start < 2.0  # the busy worker is killed, not awaited
    results = [future.result(timeout=10) for future in futures]
    assert any("shut down" in score.reason for score in results)
    assert all(score.status in ("ok", "error") for score in results)

"""`MicroBatcher` on its own: slices, draining, a bounded queue, and failures that reach callers."""

from __future__ import annotations

import threading
import time

import pytest
import serve_rewards  # noqa: F401  (serve_test.slow)

from rewardsmith import Engine, EngineError, load_spec
from rewardsmith.engine.batcher import MicroBatcher, QueueFullError
from rewardsmith.engine.engine import prepare_rows


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine(1) as shared:
        yield shared


def _rows(words: list[str], sleep_s: float = 0.0):  # type: ignore[no-untyped-def]
    return prepare_rows([{"completion": w, "sleep_s": sleep_s, "w": w} for w in words])


def test_concurrent_submissions_get_their_own_slices(engine: Engine) -> None:
    batcher = MicroBatcher(engine, load_spec("serve_test.slow"))
    answers: dict[int, list[float | None]] = {}

    def submit(number: int) -> None:
        words = ["yes" if (number + k) % 2 else f"no{number}" for k in range(number % 5 + 1)]
        rows, ids = _rows(words, 0.002)
        answers[number] = [s.value for s in batcher.submit(rows, ids).result(30)]

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    batcher.close()
    for number, values in answers.items():
        expected = [1.0 if (number + k) % 2 else 0.0 for k in range(number % 5 + 1)]
        assert values == expected
    assert batcher.batches < 24


def test_close_scores_everything_queued(engine: Engine) -> None:
    batcher = MicroBatcher(engine, load_spec("serve_test.slow"))
    futures = [batcher.submit(*_rows(["yes"], 0.05)) for _ in range(3)]
    futures += [batcher.submit(*_rows([f"x{i}"])) for i in range(5)]
    batcher.close(timeout=30)
    assert [f.result(0)[0].value for f in futures] == [1.0] * 3 + [0.0] * 5
    with pytest.raises(EngineError, match="shutting down"):
        batcher.submit(*_rows(["late"]))


def test_full_queue_refuses_without_queueing(engine: Engine) -> None:
    batcher = MicroBatcher(engine, load_spec("serve_test.slow"), max_queue_rows=3)
    busy = batcher.submit(*_rows(["yes"], 0.4))
    time.sleep(0.1)  # being scored: the queue is empty again
    queued = batcher.submit(*_rows(["a", "b", "c"]))
    with pytest.raises(QueueFullError) as info:
        batcher.submit(*_rows(["d"]))
    assert info.value.retry_after_s >= 1
    assert batcher.queued_rows == 3
    assert busy.result(30)[0].value == 1.0 and len(queued.result(30)) == 3
    batcher.close()


def test_a_logging_failure_reaches_the_caller_and_the_thread_lives_on(engine: Engine) -> None:
    calls = []

    def flaky(scores):  # type: ignore[no-untyped-def]
        calls.append(len(scores))
        if len(calls) == 1:
            raise OSError("disk full")

    batcher = MicroBatcher(engine, load_spec("serve_test.slow"), on_batch=flaky)
    with pytest.raises(EngineError, match="could not be logged: disk full"):
        batcher.submit(*_rows(["yes"])).result(30)
    assert batcher.submit(*_rows(["yes"])).result(30)[0].value == 1.0
    batcher.close()

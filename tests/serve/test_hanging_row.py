"""A hanging row delays only its own request: other clients keep their usual latency while it
waits for its deadline, and it is answered ``timeout`` at that deadline (real HTTP, 127.0.0.1)."""

from __future__ import annotations

import threading
import time

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn", reason="the server tests need the [serve] extra")

import serve_rewards  # noqa: E402,F401  (registers serve_test.* in this process)
from serve_helpers import server_in_thread  # noqa: E402

from rewardsmith import Engine  # noqa: E402
from rewardsmith.serve import RewardServer, ServeConfig  # noqa: E402

# serve_test.slow_cpu runs in a killable worker with a 1.5 s deadline.
SPEC = {"name": "hang", "terms": [{"name": "s", "use": "serve_test.slow_cpu"}]}
OWN_COST_S = 0.02


def _post_rows(client: httpx.Client, url: str, rows: list[dict]) -> tuple[float, dict]:
    started = time.perf_counter()
    answer = client.post(url + "/v1/score", json={"samples": rows}, timeout=30)
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200, answer.text
    return elapsed, answer.json()


def test_a_hanging_row_does_not_delay_another_clients_requests() -> None:
    with Engine(2) as engine:
        app = RewardServer(SPEC, ServeConfig(log=False), engine=engine)
        with server_in_thread(app) as url, httpx.Client() as client:
            assert app.batcher is not None and not app.batcher.coalesce
            # Each request's row is new (`n`), so the engine's cache cannot answer it: it needs a
            # worker, and one of the two is held by the hanging row.
            numbers = iter(range(1000))

            def mine() -> list[dict]:
                return [{"completion": "yes", "sleep_s": OWN_COST_S, "n": next(numbers)}]

            # Warm both workers, then measure what this client's rows cost alone.
            _post_rows(client, url, mine() * 4)
            alone = [_post_rows(client, url, mine())[0] for _ in range(5)]
            budget = max(alone) + 0.1

            hung: list[tuple[float, dict]] = []
            hanging = threading.Thread(
                target=lambda: hung.append(
                    _post_rows(httpx.Client(), url, [{"completion": "yes", "sleep_s": 60}])
                )
            )
            hanging.start()
            deadline = time.monotonic() + 10
            while app.batcher.calls_in_flight == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            assert app.batcher.calls_in_flight == 1, "the hanging request never started"

            during: list[float] = []
            while hanging.is_alive() and len(during) < 10:
                elapsed, body = _post_rows(client, url, mine())
                assert body["scores"][0]["status"] == "ok"
                during.append(elapsed)
            hanging.join(30)
    assert len(during) == 10, "the hanging row was answered before the other client finished"
    assert max(during) <= budget, (during, alone)
    elapsed, body = hung[0]
    assert body["scores"][0]["status"] == "timeout"
    assert 1.4 <= elapsed < 10, elapsed


def test_rows_that_cannot_hang_are_still_coalesced() -> None:
    with Engine(1) as engine:
        inline = RewardServer("exact_match", ServeConfig(log=False), engine=engine)
        inline.start()
        cpu = RewardServer(SPEC, ServeConfig(log=False), engine=engine)
        cpu.start()
        chosen = RewardServer(SPEC, ServeConfig(log=False, coalesce=True), engine=engine)
        chosen.start()
        try:
            assert inline.batcher is not None and inline.batcher.coalesce
            assert cpu.batcher is not None and not cpu.batcher.coalesce
            assert chosen.batcher is not None and chosen.batcher.coalesce
        finally:
            inline.stop()
            cpu.stop()
            chosen.stop()

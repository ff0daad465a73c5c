"""`Client` against a recording HTTP server on 127.0.0.1: bounded concurrency, Retry-After,
and one ``Idempotency-Key`` per logical request, kept through its retries."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

pytest.importorskip("httpx")

from rewardsmith.client import Client


class _Recorder:
    def __init__(self, refuse_first: int = 0, retry_after: str = "0.2", delay_s: float = 0.05):
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.keys: list[str | None] = []
        self.times: list[float] = []
        self.refuse_first = refuse_first
        self.retry_after = retry_after
        self.delay_s = delay_s


def _handler(recorder: _Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            with recorder.lock:
                recorder.in_flight += 1
                recorder.peak = max(recorder.peak, recorder.in_flight)
                recorder.keys.append(self.headers.get("idempotency-key"))
                recorder.times.append(time.monotonic())
                refuse = recorder.refuse_first > 0
                recorder.refuse_first -= 1
            time.sleep(recorder.delay_s)
            with recorder.lock:
                recorder.in_flight -= 1
            if refuse:
                payload = json.dumps({"error": "queue full"}).encode()
                self.send_response(429)
                self.send_header("retry-after", recorder.retry_after)
            else:
                scores = [
                    {"id": f"row-{i}", "reward": float(len(row["completion"])), "status": "ok"}
                    for i, row in enumerate(body["samples"])
                ]
                payload = json.dumps({"scores": scores}).encode()
                self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _serve(recorder: _Recorder) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


ROWS = [{"completion": "x" * (i % 7), "reference": "x"} for i in range(400)]


def test_async_client_keeps_a_bounded_number_of_requests_in_flight() -> None:
    recorder = _Recorder()
    for url in _serve(recorder):
        client = Client(url, batch_size=10, max_in_flight=3)
        batch = asyncio.run(client.ascore(ROWS))
        assert [s.value for s in batch] == [float(i % 7) for i in range(400)]
        assert len(recorder.keys) == 40
        assert 1 <= recorder.peak <= 3
        keys = [key for key in recorder.keys if key]
        assert len(set(keys)) == 40  # one key per request


def test_retries_honour_retry_after_and_keep_the_idempotency_key() -> None:
    recorder = _Recorder(refuse_first=1, retry_after="0.3")
    for url in _serve(recorder):
        client = Client(url, batch_size=100, backoff_s=0.001)
        assert [s.value for s in client.score(ROWS[:3])] == [0.0, 1.0, 2.0]
        assert len(recorder.keys) == 2 and recorder.keys[0] == recorder.keys[1]
        assert recorder.keys[0] is not None and len(recorder.keys[0]) == 32
        assert recorder.times[1] - recorder.times[0] >= 0.3  # waited what the server asked
        recorder.refuse_first, recorder.keys, recorder.times = 1, [], []
        batch = asyncio.run(client.ascore(ROWS[:3]))
        assert [s.value for s in batch] == [0.0, 1.0, 2.0]
        assert len(recorder.keys) == 2 and recorder.keys[0] == recorder.keys[1]
        assert recorder.times[1] - recorder.times[0] >= 0.3
        client.score(ROWS[:3])
        assert recorder.keys[2] != recorder.keys[0]  # a new request, a new key


def test_client_rejects_a_nonpositive_limit() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        Client("http://127.0.0.1:1", max_in_flight=0)


def test_bounded_async_client_is_never_refused_by_a_small_server_queue() -> None:
    """The real server refuses rows past max_queue_rows with 429; 4 requests of 10 rows in
    flight never pass its 50, so 400 rows score with no retry at all."""
    from serve_helpers import server_in_thread

    from rewardsmith.serve import ServeConfig, create_app

    config = ServeConfig(log=False, max_queue_rows=50, max_batch_rows=10)
    rows = [{"completion": str(i % 3), "reference": "1"} for i in range(400)]
    with server_in_thread(create_app("exact_match", config)) as url:
        client = Client(url, batch_size=10, max_in_flight=4, retries=0)
        batch = asyncio.run(client.ascore(rows))
    assert [s.value for s in batch] == [1.0 if i % 3 == 1 else 0.0 for i in range(400)]

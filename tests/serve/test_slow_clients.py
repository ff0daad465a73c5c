"""Clients that hold the server without finishing a request get dropped, and half-sent bodies
cost bounded memory (raw sockets against a real server on 127.0.0.1, bounded loops)."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn", reason="the server tests need the [serve] extra")

from serve_helpers import ServerProcess, server_in_thread  # noqa: E402

from rewardsmith import Engine  # noqa: E402
from rewardsmith.serve import RewardServer, ServeConfig  # noqa: E402

BODY_LIMIT = 200_000


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, RewardServer]]:
    config = ServeConfig(
        log=False,
        header_timeout_s=0.5,
        body_timeout_s=0.5,
        max_body_bytes=BODY_LIMIT,
        max_pending_body_bytes=int(2.5 * BODY_LIMIT),
    )
    with Engine(1) as engine:
        app = RewardServer("exact_match", config, engine=engine)
        with server_in_thread(app) as url:
            yield url, app


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def _trickle_until_closed(sock: socket.socket, piece: bytes, limit_s: float) -> tuple[float, bytes]:
    """Send ``piece`` every 50 ms until the server answers or closes; (seconds, what it sent)."""
    started = time.monotonic()
    sock.settimeout(0.05)
    received = b""
    while time.monotonic() - started < limit_s:
        try:
            sock.sendall(piece)
        except OSError:  # the server closed the connection
            break
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            break
        if not data:
            break
        received += data
    sock.settimeout(2)
    try:
        while data := sock.recv(4096):
            received += data
    except OSError:
        pass
    return time.monotonic() - started, received


def _big_body(size: int) -> bytes:
    skeleton = json.dumps({"samples": [{"completion": "", "reference": "x"}]}).encode()
    return skeleton.replace(b'""', b'"' + b"x" * (size - len(skeleton)) + b'"', 1)


def _read_response(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_slow_header_client_is_dropped(served) -> None:
    url, _ = served
    with _connect(url) as sock:
        sock.sendall(b"POST /v1/score HTTP/1.1\r\nhost: x\r\n")
        seconds, answer = _trickle_until_closed(sock, b"x-slow: 1\r\n", limit_s=5)
    assert seconds < 2.5, "a client trickling its headers was not dropped"
    assert answer.startswith(b"HTTP/1.1 408")
    # A connection that opens and sends nothing at all goes the same way.
    with _connect(url) as sock:
        started = time.monotonic()
        assert _read_response(sock).startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < 2.5
    assert (
        'rewardsmith_rejected_total{reason="header_timeout"} 2' in httpx.get(url + "/metrics").text
    )


def test_slow_body_client_is_dropped(served) -> None:
    url, _ = served
    with _connect(url) as sock:
        sock.sendall(b"POST /v1/score HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{")
        seconds, answer = _trickle_until_closed(sock, b" ", limit_s=5)
    assert seconds < 2.5, "a client trickling its body was not dropped"
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"connection: close" in answer.lower()
    assert b"not received within 0.5 s" in answer
    # A kept-alive connection is fine between requests; its next request's headers are timed.
    with httpx.Client() as client:
        assert client.get(url + "/healthz").status_code == 200
        time.sleep(0.7)
        assert client.post(url + "/v1/score", json={"samples": [{"completion": "a"}]}).is_success


def test_half_sent_bodies_are_bounded_by_the_body_budget() -> None:
    config = ServeConfig(
        log=False, max_body_bytes=BODY_LIMIT, max_pending_body_bytes=int(2.5 * BODY_LIMIT)
    )
    with Engine(1) as engine:
        app = RewardServer("exact_match", config, engine=engine)
        with server_in_thread(app) as url:
            _hold_bodies(url, app)


def _hold_bodies(url: str, app: RewardServer) -> None:
    body = _big_body(BODY_LIMIT)
    head = b"POST /v1/score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    head += b"content-length: %d\r\n\r\n" % len(body)
    holders = [_connect(url), _connect(url)]
    refused = [_connect(url) for _ in range(4)]
    try:
        for number, sock in enumerate(holders, 1):
            sock.sendall(head + body[:10_000])
            deadline = time.monotonic() + 5
            while app._bodies.used < number * len(body) and time.monotonic() < deadline:
                time.sleep(0.01)
        assert app._bodies.used == 2 * len(body)
        for sock in refused:  # a third big body would pass the 2.5-body budget
            sock.sendall(head + body[:10_000])
            answer = _read_response(sock)
            assert answer.startswith(b"HTTP/1.1 503"), answer[:80]
            assert b"retry-after: 1" in answer.lower()
        assert app._bodies.used == 2 * len(body)
        # Small requests still fit beside the two held bodies.
        small = httpx.post(url + "/v1/score", json={"samples": [{"completion": "a"}]}, timeout=10)
        assert small.status_code == 200
        for sock in holders:
            sock.settimeout(10)
            sock.sendall(body[10_000:])
            assert _read_response(sock).startswith(b"HTTP/1.1 200")
    finally:
        for sock in holders + refused:
            sock.close()
    assert app._bodies.used == 0
    text = httpx.get(url + "/metrics").text
    assert 'rewardsmith_rejected_total{reason="body_budget"} 4' in text


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_many_half_sent_big_bodies_hold_at_most_the_budget(tmp_path: Path) -> None:
    """10 clients each declare a 16 MB body and send 12 MB of it: without a budget the server
    would hold ~120 MB; with a 32 MB budget two are read and eight are refused before reading."""
    server = ServerProcess(
        [
            "--reward",
            "exact_match",
            "--no-log",
            "--max-body-mb",
            "16",
            "--max-pending-body-mb",
            "32",
        ],
        cwd=tmp_path,
    )
    sockets: list[socket.socket] = []
    try:
        httpx.post(server.url + "/v1/score", json={"samples": [{"completion": "a"}]})
        before = _rss_mb(server.proc.pid)
        refused = 0
        piece = b" " * (1 << 20)
        for _ in range(10):
            sock = _connect(server.url)
            sockets.append(sock)
            sock.sendall(
                b"POST /v1/score HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % (16 << 20)
            )
            sock.settimeout(0.2)
            try:
                for _ in range(12):
                    sock.sendall(piece)
            except OSError:  # refused and closed by the server
                pass
            with contextlib.suppress(OSError):  # an accepted body: no answer yet
                refused += sock.recv(64).startswith(b"HTTP/1.1 503")
        time.sleep(0.5)
        grown = _rss_mb(server.proc.pid) - before
    finally:
        for sock in sockets:
            sock.close()
        server.stop()
    assert refused == 8
    assert grown < 60, f"RSS grew {grown:.0f} MB for 24 MB of accepted half-bodies"

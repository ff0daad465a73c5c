"""Start real servers on 127.0.0.1 for tests: in a thread (fast) or as a `rewardsmith serve`
process (for signals), always on a free port, always stopped with a bounded wait."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from rewardsmith.serve import RewardServer
from rewardsmith.serve.server import uvicorn_config

HERE = Path(__file__).resolve().parent


@contextmanager
def server_in_thread(app: RewardServer) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread; yields the base URL; drains on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    port = sock.getsockname()[1]
    # The server's own settings (header deadline, connection limit), as `rewardsmith serve`.
    server = uvicorn.Server(uvicorn_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        assert not thread.is_alive(), "the test server did not stop"


class ServerProcess:
    """A `rewardsmith serve` subprocess; `url` once it printed where it listens."""

    def __init__(self, args: list[str], cwd: Path, env_extra: dict[str, str] | None = None):
        env = {**os.environ, "PYTHONPATH": str(HERE), **(env_extra or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rewardsmith.cli", "serve", "--port", "0", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = self._wait_for_url(timeout=60)

    def _wait_for_url(self, timeout: float) -> str:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                if self.proc.poll() is not None:
                    break
                continue
            seen.append(line)
            match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
            if match:
                url = match.group(1)
                _wait_healthy(url, deadline)
                return url
        self.stop()
        raise RuntimeError("server did not start:\n" + "".join(seen))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise

    def stderr_text(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read()


def _wait_healthy(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} never became healthy")

"""A local OpenAI-compatible chat server on 127.0.0.1 for tests: the HTTP side, shared.

Subclasses decide the reply: `record` runs under the lock as each request arrives (keep the
body, pick what depends on arrival order) and `respond` builds the answer outside it, so a slow
answer does not hold up the others. Only ``POST /v1/chat/completions`` is answered; other paths
get a 404 (after the request is recorded). This module sits in ``tests/``, which pytest puts on
``sys.path`` for the root ``conftest.py``, so every test folder can import it.
"""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class ChatServer:
    """Start with `start()`, stop with `stop()`; ``url`` is the base URL (…/v1)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw)
                with server.lock:
                    recorded = server.record(raw, body)
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": "not found"})
                    return
                status, payload = server.respond(body, recorded)
                if isinstance(payload, str):
                    self._send_raw(status, payload.encode())
                else:
                    self._send(status, payload)

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                self._send_raw(status, json.dumps(payload).encode())

            def _send_raw(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)  # fails when the client gave up (a timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def record(self, raw: bytes, body: dict[str, Any]) -> Any:
        """Keep the request (called under ``lock``); what it returns is passed to `respond`."""
        self.requests.append(body)
        return None

    def respond(self, body: dict[str, Any], recorded: Any) -> tuple[int, dict[str, Any] | str]:
        """The status and the JSON payload (or a raw text body) of the reply."""
        raise NotImplementedError

    def start(self) -> Self:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

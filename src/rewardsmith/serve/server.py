"""Run the reward server with uvicorn: bind, say where it listens, drain on SIGTERM."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

from rewardsmith.serve.app import RewardServer
from rewardsmith.serve.config import ServeConfig
from rewardsmith.serve.limits import header_timeout_protocol

__all__ = ["run_server", "uvicorn_config"]

_INSTALL_HINT = "the reward server needs uvicorn: pip install 'rewardsmith[serve]'"


def run_server(
    spec: Any,
    config: ServeConfig | None = None,
    *,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve ``spec`` until SIGINT/SIGTERM, then finish in-flight requests and log every row.

    The socket is bound here (not by uvicorn) so that ``port=0`` works: ``on_listening`` gets
    the real address, ``http://127.0.0.1:PORT``, before the first request is taken (the
    ``rewardsmith serve`` command prints it on stderr).
    """
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL_HINT) from exc
    config = config or ServeConfig()
    app = RewardServer(spec, config)
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    sock.listen(2048)
    host, port = sock.getsockname()[:2]
    uv_config = uvicorn_config(app)
    server = uvicorn.Server(uv_config)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    if on_listening is not None:
        on_listening(f"http://{shown}:{port}")
    # uvicorn drains, then re-raises the signal it caught. A SIGTERM that ends a clean drain
    # should exit 0, not die by the default handler, so the re-raised signal lands here.
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_cleanly) if main_thread else None
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        sock.close()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def uvicorn_config(app: RewardServer) -> Any:
    """The `uvicorn.Config` that serves ``app`` with its `ServeConfig`'s connection limits: the
    header deadline (a protocol subclass, see `rewardsmith.serve.limits`), ``max_connections``
    and the graceful-shutdown wait. Used by `run_server` and by tests that serve in a thread."""
    try:
        import uvicorn
        from uvicorn.protocols.http.auto import AutoHTTPProtocol
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(_INSTALL_HINT) from exc
    config = app.config
    protocol = header_timeout_protocol(
        AutoHTTPProtocol,
        config.header_timeout_s,
        on_timeout=lambda: app.metrics.reject("header_timeout"),
    )
    return uvicorn.Config(
        app,
        http=protocol,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=max(1, round(config.graceful_timeout_s)),
        limit_concurrency=config.max_connections,
        server_header=False,
    )

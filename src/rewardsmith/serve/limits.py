"""Limits on what a slow or half-finished client may hold: header time, body time, body bytes.

How the parts fit. uvicorn calls the ASGI app only once a request's headers are complete, so a
client that trickles its headers (slow-loris) never reaches the app: the header deadline lives
in the HTTP protocol, as a subclass of uvicorn's own (`header_timeout_protocol`). Its timer is
armed when a connection opens and when the first byte of each later request arrives on a kept-alive
connection, and disarmed when uvicorn has parsed the request line and headers (it then creates
the request's ``cycle``). On expiry it writes a 408 and closes the connection.

Once the app runs, the body is read by the app itself (`rewardsmith.serve.app`), which applies
a deadline for the whole body and takes the body's bytes from a shared `BodyBudget` before
holding them: past the budget a request is refused with 503 + ``Retry-After`` without reading its
body, so many half-sent large bodies cost at most the budget, not one body limit each. uvicorn
itself buffers at most ~64 KB per connection before it stops reading the socket (flow control).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.serve.wire import WireError

__all__ = ["BodyBudget", "ClientDisconnected", "header_timeout_protocol", "read_body"]

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/json\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)


class BodyBudget:
    """Bytes of request bodies held at once, across all requests. Used from the event loop
    thread only, so it needs no lock.

    Example:
        >>> budget = BodyBudget(100)
        >>> budget.take(60), budget.take(50), budget.used
        (True, False, 60)
        >>> budget.give(60)
        >>> budget.used
        0
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> bool:
        """Reserve ``size`` bytes; False (and nothing reserved) when over the limit."""
        if self.used + size > self.limit:
            return False
        self.used += size
        return True

    def give(self, size: int) -> None:
        """Return bytes reserved with `take`."""
        self.used -= size


class ClientDisconnected(RewardsmithError):
    """The client went away before its body arrived."""


async def read_body(
    headers: Iterable[tuple[bytes, bytes]],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    *,
    max_bytes: int,
    timeout_s: float,
    budget: BodyBudget,
) -> bytes:
    """A request's body, read within ``timeout_s`` and within the shared ``budget``.

    The bytes go back to the budget on return: the caller decodes them before its next
    ``await``, so no other request reads in between.

    Raises:
        WireError: 413 (over ``max_bytes``), 408 (too slow), 503 (budget spent).
        ClientDisconnected: the client went away.
    """
    declared: int | None = None
    for key, value in headers:
        if key == b"content-length" and value.isdigit():
            declared = int(value)
            if declared > max_bytes:
                raise WireError(
                    413,
                    f"request body of {declared:,} bytes is over the limit of {max_bytes:,} bytes",
                )
    reserved = 0
    try:
        # A declared length is reserved before anything is read, so a refused request costs
        # nothing; a chunked body is reserved as it arrives.
        if declared:
            _reserve(budget, declared)
            reserved = declared
        deadline = time.monotonic() + timeout_s
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), deadline - time.monotonic())
            except TimeoutError:
                raise WireError(
                    408,
                    f"request body not received within {timeout_s:g} s ({size:,} bytes arrived)",
                    headers={"connection": "close"},
                    reason="body_timeout",
                ) from None
            if message["type"] == "http.disconnect":
                raise ClientDisconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                raise WireError(413, f"request body is over the limit of {max_bytes:,} bytes")
            if size > reserved:
                _reserve(budget, size - reserved)
                reserved = size
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
    finally:
        budget.give(reserved)


def _reserve(budget: BodyBudget, size: int) -> None:
    if not budget.take(size):
        raise WireError(
            503,
            f"{budget.used:,} bytes of request bodies are being received (limit "
            f"{budget.limit:,}, max_pending_body_bytes); retry shortly",
            # The body was not read, so the connection cannot carry another request.
            headers={"retry-after": "1", "connection": "close"},
            reason="body_budget",
        )


def header_timeout_protocol(
    base: type[asyncio.Protocol], timeout_s: float, on_timeout: Callable[[], None] | None = None
) -> type[asyncio.Protocol]:
    """A subclass of uvicorn's HTTP protocol ``base`` that closes a connection whose request
    line and headers do not arrive within ``timeout_s`` seconds (answering 408 first).

    ``on_timeout`` is called on each such close (for metrics). Works with uvicorn's h11 and
    httptools protocols: both set ``self.cycle`` when a request's headers are parsed and call
    ``on_response_complete`` when its response is sent.
    """
    body = b'{"error":"request headers not received within %g s","problems":[]}' % timeout_s
    response = _TIMEOUT_RESPONSE % (len(body), body)
    # uvicorn's protocol classes are not typed for subclassing: the base is only known here.
    parent: Any = base

    class HeaderTimeoutProtocol(parent):  # type: ignore[misc]
        _rs_timer: asyncio.TimerHandle | None = None
        _rs_cycle: object = None
        _rs_between_requests = False

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._rs_arm()

        def data_received(self, data: bytes) -> None:
            if self._rs_between_requests:
                # The first byte of the next request on a kept-alive connection.
                self._rs_between_requests = False
                self._rs_arm()
            super().data_received(data)
            cycle = getattr(self, "cycle", None)
            if cycle is not None and cycle is not self._rs_cycle:
                self._rs_cycle = cycle
                self._rs_disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._rs_between_requests = True

        def connection_lost(self, exc: Exception | None) -> None:
            self._rs_disarm()
            super().connection_lost(exc)

        def _rs_arm(self) -> None:
            self._rs_disarm()
            loop = asyncio.get_running_loop()
            self._rs_timer = loop.call_later(timeout_s, self._rs_expired)

        def _rs_disarm(self) -> None:
            if self._rs_timer is not None:
                self._rs_timer.cancel()
                self._rs_timer = None

        def _rs_expired(self) -> None:
            self._rs_timer = None
            transport = self.transport
            if transport is None or transport.is_closing():
                return
            if on_timeout is not None:
                on_timeout()
            transport.write(response)
            transport.close()

    HeaderTimeoutProtocol.__name__ = f"HeaderTimeout{base.__name__}"
    HeaderTimeoutProtocol.__qualname__ = HeaderTimeoutProtocol.__name__
    return HeaderTimeoutProtocol

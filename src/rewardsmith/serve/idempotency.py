"""`IdempotencyRecord`: answers a retried request from memory instead of scoring it again.

A client that times out and retries (`rewardsmith.client.Client` does, and trainers' own
clients may) would otherwise have its rows scored and written to the run log twice. A request
that carries an ``Idempotency-Key`` header is recorded by (route, key) with a digest of its
body; a later request with the same key and body is answered with the first one's response:

- still being scored: the retry waits for the first request's answer (no second scoring);
- answered 200: the retry gets the same bytes at once (``idempotent-replayed: true``);
- the first attempt failed (any non-200): nothing was recorded, so the retry scores afresh;
- same key, different body: 422 (a client bug that must not pass silently).

The record is in memory and bounded (entries and bytes, oldest dropped first), so a retry that
comes after its entry was dropped, or after a server restart, is scored again. Everything here
runs on the event loop thread, so no lock is needed.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from rewardsmith.serve.wire import Problem, Reply, WireError

__all__ = ["HEADER", "IdempotencyRecord", "answer_once", "valid_key"]

HEADER = b"idempotency-key"
"""The request header (``Idempotency-Key``), lower-cased as ASGI gives it."""
MAX_KEY_LENGTH = 255


@dataclass
class _Entry:
    digest: bytes
    answer: asyncio.Future[bytes | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    size: int = 0


class IdempotencyRecord:
    """Responses by (route, idempotency key), at most ``max_entries`` and ``max_bytes``.

    Example:
        >>> import asyncio
        >>> async def demo():
        ...     record = IdempotencyRecord()
        ...     first = record.claim("/v1/score", "k1", b"{}")
        ...     record.finish("/v1/score", "k1", first, b'{"scores": []}')
        ...     return await record.claim("/v1/score", "k1", b"{}")
        >>> asyncio.run(demo())
        b'{"scores": []}'
    """

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def claim(self, route: str, key: str, body: bytes) -> _Entry | asyncio.Future[bytes | None]:
        """Either an `_Entry` the caller now owns (score, then `finish` or `abandon` it), or a
        future of an earlier request's answer: its response bytes, or None if it failed.

        Raises:
            ValueError: the key was used with a different body (the message says so).
        """
        digest = hashlib.blake2b(body, digest_size=16).digest()
        found = self._entries.get((route, key))
        if found is not None:
            if found.digest != digest:
                raise ValueError(
                    f"Idempotency-Key {key!r} was already used for a different request body on "
                    f"{route}; use a new key per distinct request"
                )
            self._entries.move_to_end((route, key))
            return found.answer
        entry = _Entry(digest)
        self._entries[route, key] = entry
        self._trim()
        return entry

    def finish(self, route: str, key: str, entry: _Entry, response: bytes) -> None:
        """Record the 200 answer of a claimed entry and wake the retries waiting on it."""
        entry.answer.set_result(response)
        if self._entries.get((route, key)) is entry:
            entry.size = len(response)
            self.bytes += entry.size
            self._trim()

    def abandon(self, route: str, key: str, entry: _Entry) -> None:
        """The claimed request failed: forget it, and tell waiting retries to score afresh."""
        if not entry.answer.done():
            entry.answer.set_result(None)
        if self._entries.get((route, key)) is entry:
            del self._entries[route, key]
            self.bytes -= entry.size

    def _trim(self) -> None:
        if len(self._entries) <= self.max_entries and self.bytes <= self.max_bytes:
            return
        for key in list(self._entries):  # oldest first
            if len(self._entries) <= self.max_entries and self.bytes <= self.max_bytes:
                return
            entry = self._entries[key]
            # An entry still being scored stays: retries may be waiting on it, and there are
            # no more of those than requests in flight.
            if entry.answer.done():
                del self._entries[key]
                self.bytes -= entry.size


def valid_key(raw: bytes) -> str | None:
    """The header's key, or None when it is empty, too long or not printable ASCII."""
    if not raw or len(raw) > MAX_KEY_LENGTH or not all(33 <= byte < 127 for byte in raw):
        return None
    return raw.decode("ascii")


async def answer_once(
    record: IdempotencyRecord,
    headers: Iterable[tuple[bytes, bytes]],
    route: str,
    body: bytes,
    answer: Callable[[], Awaitable[Reply]],
    *,
    on_replay: Callable[[], None] | None = None,
) -> Reply:
    """``answer()``, unless the request's ``Idempotency-Key`` was answered (or is being
    answered) already on ``route`` with the same ``body``: then that answer, without scoring or
    logging the rows again. A request without the header is simply answered."""
    raw = next((value for key, value in headers if key == HEADER), None)
    if raw is None:
        return await answer()
    key = valid_key(raw)
    if key is None:
        message = "must be 1 to 255 printable ASCII characters (a UUID is customary)"
        raise WireError(422, f"Idempotency-Key {message}", [Problem("Idempotency-Key", message)])
    # At most two rounds: an earlier attempt that failed is forgotten, so the next claim wins.
    for _ in range(3):
        try:
            claimed = record.claim(route, key, body)
        except ValueError as exc:
            raise WireError(
                422, str(exc), [Problem("Idempotency-Key", str(exc))], reason="idempotency_conflict"
            ) from None
        if isinstance(claimed, asyncio.Future):
            # Shielded: a retry whose client goes away must not cancel the first request.
            replayed = await asyncio.shield(claimed)
            if replayed is None:
                continue
            if on_replay is not None:
                on_replay()
            return 200, replayed, b"application/json", [(b"idempotent-replayed", b"true")]
        try:
            reply = await answer()
        except BaseException:
            record.abandon(route, key, claimed)
            raise
        if reply[0] == 200:
            record.finish(route, key, claimed, reply[1])
        else:
            record.abandon(route, key, claimed)
        return reply
    return await answer()

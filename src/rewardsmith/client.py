"""`Client`: score rows on a running reward server, from sync or async code.

Retries what is worth retrying (connection errors, timeouts, 429 after its ``Retry-After``,
502/503/504) with jittered exponential backoff; a 4xx is the caller's mistake and raises at
once with the server's message. Every request carries an ``Idempotency-Key`` header, the same
on each of its retries, so a server that saw the first attempt (a client timeout after the
server scored it) answers the retry from that attempt and logs the rows once.

The async client sends a large input's chunks concurrently, at most ``max_in_flight`` at a
time: the server sheds load with 429 when its queue is full, and an input sent all at once
would be refused where the same rows sent a few chunks at a time are scored.

Exceptions::

    RewardsmithError
    └── ServerError        the server answered with an error (``status_code``, ``problems``)
        └── ServerUnavailable  it could not be reached, or kept answering 429/5xx, after retries
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from rewardsmith.core.errors import RewardsmithError
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score
from rewardsmith.engine.batch import ScoredBatch

__all__ = ["Client", "ServerError", "ServerUnavailable"]

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_INSTALL_HINT = "rewardsmith.client needs httpx: pip install 'rewardsmith[serve]'"


class ServerError(RewardsmithError):
    """The server refused a request; ``status_code`` and the server's ``problems`` say why."""

    def __init__(self, message: str, status_code: int | None = None, problems: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.problems = problems or []


class ServerUnavailable(ServerError):
    """The server could not be reached, or stayed overloaded, through every retry."""


class _WireScore(msgspec.Struct):
    id: str
    reward: float | None
    status: str
    reason: str = ""
    components: dict[str, float] = msgspec.field(default_factory=dict)


class _ScoreResponse(msgspec.Struct):
    scores: list[_WireScore]


_decode_scores = msgspec.json.Decoder(_ScoreResponse)
_encoder = msgspec.json.Encoder(enc_hook=repr)


class Client:
    """A client of ``rewardsmith serve``.

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:8000``.
        token: bearer token (the server's ``--token``), or None.
        timeout_s: per-attempt timeout for connect, read and write.
        retries: extra attempts after a retryable failure.
        backoff_s: first backoff; doubles each attempt, with jitter, capped at 10 s.
        batch_size: rows per request; larger inputs are split and the results joined in order.
        max_in_flight: most requests the async methods have open at once.

    Example:
        >>> client = Client("http://127.0.0.1:8000", token="secret")  # doctest: +SKIP
        >>> [s.value for s in client.score([{"completion": "4", "reference": "4"}])]  # doctest: +SKIP
        [1.0]
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout_s: float = 60.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        batch_size: int = 1024,
        max_in_flight: int = 4,
    ) -> None:
        try:
            import httpx
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(_INSTALL_HINT) from exc
        if batch_size <= 0:
            raise ValueError("batch_size must be positive")
        if max_in_flight <= 0:
            raise ValueError("max_in_flight must be positive")
        self.max_in_flight = max_in_flight
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self.batch_size = batch_size
        self._headers = {"content-type": "application/json"}
        if token:
            self._headers["authorization"] = f"Bearer {token}"
        self._timeout = httpx.Timeout(timeout_s)
        self._sync: Any = None
        self._async: Any = None
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None

    # -- sync ---------------------------------------------------------------------------------

    def score(self, rows: Iterable[dict[str, Any] | Sample]) -> ScoredBatch:
        """Score rows (dicts as in a JSONL file, or `Sample`s); one `Score` per row, in order."""
        scores: list[Score] = []
        ids: list[str] = []
        for chunk in _chunks(_plain_rows(rows), self.batch_size):
            body = self._post("/v1/score", {"samples": chunk})
            _extend(scores, ids, body, chunk)
        return ScoredBatch(scores, ids)

    def get_reward(
        self,
        queries: Sequence[str],
        prompts: Sequence[str] | None = None,
        labels: Sequence[Any] | None = None,
    ) -> dict[str, Any]:
        """Call the OpenRLHF route; returns ``{"rewards", "scores", "extra_logs"}``."""
        payload = _reward_payload(queries, prompts, labels)
        return msgspec.json.decode(self._post("/get_reward", payload))

    def health(self) -> dict[str, Any]:
        """The server's ``/healthz`` answer (raises `ServerError` when not serving)."""
        return msgspec.json.decode(self._request("GET", "/healthz", None))

    def metrics(self) -> str:
        """The Prometheus text of ``/metrics``."""
        return self._request("GET", "/metrics", None).decode()

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _post(self, path: str, payload: Any) -> bytes:
        return self._request("POST", path, _encoder.encode(payload))

    def _request(self, method: str, path: str, content: bytes | None) -> bytes:
        import httpx

        if self._sync is None:
            self._sync = httpx.Client(timeout=self._timeout, headers=self._headers)
        headers = _idempotency_headers(method)
        for attempt in range(self.retries + 1):
            try:
                response = self._sync.request(
                    method, self.url + path, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                failure: ServerError = ServerUnavailable(
                    f"{method} {self.url}{path}: {type(exc).__name__}: {exc}"
                )
                wait = self._backoff(attempt)
            else:
                if response.status_code < 400:
                    return response.content
                failure = _error(method, self.url + path, response)
                if response.status_code not in _RETRY_STATUSES:
                    raise failure
                wait = _retry_after(response) or self._backoff(attempt)
            if attempt == self.retries:
                raise failure
            time.sleep(wait)
        raise AssertionError("unreachable")

    # -- async --------------------------------------------------------------------------------

    async def ascore(self, rows: Iterable[dict[str, Any] | Sample]) -> ScoredBatch:
        """`score` for asyncio code; chunks are sent concurrently, ``max_in_flight`` at most."""
        chunks = list(_chunks(_plain_rows(rows), self.batch_size))
        bodies = await asyncio.gather(
            *(self._apost("/v1/score", {"samples": chunk}) for chunk in chunks)
        )
        scores: list[Score] = []
        ids: list[str] = []
        for body, chunk in zip(bodies, chunks, strict=True):
            _extend(scores, ids, body, chunk)
        return ScoredBatch(scores, ids)

    async def aget_reward(
        self,
        queries: Sequence[str],
        prompts: Sequence[str] | None = None,
        labels: Sequence[Any] | None = None,
    ) -> dict[str, Any]:
        """`get_reward` for asyncio code."""
        payload = _reward_payload(queries, prompts, labels)
        return msgspec.json.decode(await self._apost("/get_reward", payload))

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()
            self._async = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
        self.close()

    async def _apost(self, path: str, payload: Any) -> bytes:
        import httpx

        if self._async is None:
            self._async = httpx.AsyncClient(timeout=self._timeout, headers=self._headers)
        if self._slots is None or self._slots_loop is not asyncio.get_running_loop():
            # A semaphore belongs to one event loop; a client reused under a new loop
            # (asyncio.run twice) gets a new one.
            self._slots = asyncio.Semaphore(self.max_in_flight)
            self._slots_loop = asyncio.get_running_loop()
        content = _encoder.encode(payload)
        headers = _idempotency_headers("POST")
        slots = self._slots
        for attempt in range(self.retries + 1):
            try:
                # The slot is held for one attempt, not through the backoff sleep, so a
                # request waiting out Retry-After does not hold back the others.
                async with slots:
                    response = await self._async.post(
                        self.url + path, content=content, headers=headers
                    )
            except httpx.TransportError as exc:
                failure: ServerError = ServerUnavailable(
                    f"POST {self.url}{path}: {type(exc).__name__}: {exc}"
                )
                wait = self._backoff(attempt)
            else:
                if response.status_code < 400:
                    return bytes(response.content)
                failure = _error("POST", self.url + path, response)
                if response.status_code not in _RETRY_STATUSES:
                    raise failure
                wait = _retry_after(response) or self._backoff(attempt)
            if attempt == self.retries:
                raise failure
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return min(10.0, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)


def _idempotency_headers(method: str) -> dict[str, str]:
    """A fresh ``Idempotency-Key`` for one logical request (kept through its retries)."""
    return {"idempotency-key": uuid.uuid4().hex} if method == "POST" else {}


def _plain_rows(rows: Iterable[dict[str, Any] | Sample]) -> list[dict[str, Any]]:
    plain = []
    for row in rows:
        if isinstance(row, Sample):
            data = {k: v for k, v in msgspec.structs.asdict(row).items() if k != "extra"}
            plain.append({**row.extra, **data})
        else:
            plain.append(row)
    return plain


def _reward_payload(
    queries: Sequence[str], prompts: Sequence[str] | None, labels: Sequence[Any] | None
) -> dict[str, Any]:
    """The OpenRLHF ``/get_reward`` body; unset fields are left out."""
    payload: dict[str, Any] = {"query": list(queries)}
    if prompts is not None:
        payload["prompts"] = list(prompts)
    if labels is not None:
        payload["labels"] = list(labels)
    return payload


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _extend(scores: list[Score], ids: list[str], body: bytes, chunk: list[dict[str, Any]]) -> None:
    for row, item in zip(chunk, _decode_scores.decode(body).scores, strict=True):
        # The server numbers rows without an id per request; number them across the whole
        # input instead, as in-process scoring does.
        ids.append(item.id if row.get("id") is not None else f"row-{len(ids)}")
        scores.append(
            Score(
                value=item.reward,
                status=item.status,  # type: ignore[arg-type]
                reason=item.reason,
                components=item.components,
            )
        )


def _error(method: str, url: str, response: Any) -> ServerError:
    try:
        body = msgspec.json.decode(response.content)
        message = body.get("error", "") if isinstance(body, dict) else str(body)
        problems = body.get("problems", []) if isinstance(body, dict) else []
    except msgspec.DecodeError:
        message, problems = response.text[:500], []
    kind = ServerUnavailable if response.status_code in _RETRY_STATUSES else ServerError
    return kind(
        f"{method} {url} -> {response.status_code}: {message}",
        status_code=response.status_code,
        problems=problems,
    )


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None

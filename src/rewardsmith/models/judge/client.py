"""A minimal async client for OpenAI-compatible chat endpoints (vLLM, SGLang, llama.cpp, APIs).

One ``httpx.AsyncClient`` per event loop and base URL keeps connections alive across rows. HTTP
429 and 5xx responses raise ``httpx.HTTPStatusError`` and transport failures raise httpx errors:
the engine retries both with backoff (`rewardsmith.engine.aio.is_transient`) and reports
``error`` when retries run out; the engine's ``timeout_s`` bounds each attempt. A 200 response
whose body is not a chat completion raises `JudgeResponseError` (the server, not the verdict,
is broken). An optional SQLite cache keyed by the request's content hash answers a repeated
request without a call, across runs.

Example:
    >>> ChatResult(text="[[7]]").refusal is None
    True
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import RewardsmithError

__all__ = ["ChatResult", "JudgeResponseError", "ResponseCache", "chat"]


class JudgeResponseError(RewardsmithError):
    """The endpoint answered 200 with something that is not an OpenAI chat completion."""


@dataclass(frozen=True)
class ChatResult:
    """One chat completion: its text, refusal and usage."""

    text: str
    refusal: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False


class ResponseCache:
    """Chat results by request hash, in SQLite (safe across threads and processes)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS chat (key TEXT PRIMARY KEY, result TEXT)")
        self._db.commit()
        self._lock = threading.Lock()

    def get(self, key: str) -> ChatResult | None:
        with self._lock:
            row = self._db.execute("SELECT result FROM chat WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return ChatResult(**{**json.loads(row[0]), "cached": True})

    def put(self, key: str, result: ChatResult) -> None:
        payload = json.dumps({k: v for k, v in result.__dict__.items() if k != "cached"})
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO chat VALUES (?, ?)", (key, payload))
            self._db.commit()


# Clients per event loop (a client is bound to the loop it was made on); weak keys let a closed
# loop's clients go, and a new loop never inherits a dead loop's client through a reused id().
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)
_caches: dict[str, ResponseCache] = {}
_lock = threading.Lock()


def _client(base_url: str, http_timeout_s: float) -> Any:
    from rewardsmith.models.deps import require

    httpx = require("httpx", "judge")
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    found = per_loop.get(base_url)
    if found is None or found.is_closed:
        found = per_loop[base_url] = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=httpx.Timeout(http_timeout_s, connect=min(http_timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
        )
    return found


def _cache(path: str) -> ResponseCache:
    with _lock:
        found = _caches.get(path)
        if found is None:
            found = _caches[path] = ResponseCache(path)
        return found


def _parse(body: Any) -> ChatResult:
    try:
        choice = body["choices"][0]
        message = choice["message"]
        content = message.get("content")
        refusal = message.get("refusal")
        usage = body.get("usage") or {}
        if content is not None and not isinstance(content, str):
            raise TypeError("content is not text")
        return ChatResult(
            text=content or "",
            refusal=refusal if isinstance(refusal, str) and refusal else None,
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        )
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise JudgeResponseError(
            f"not an OpenAI chat completion ({type(exc).__name__}: {exc}): {str(body)[:200]!r}"
        ) from None


async def chat(
    base_url: str,
    model: str,
    messages: list[dict[str, str]],
    *,
    api_key_env: str | None = "OPENAI_API_KEY",
    temperature: float = 0.0,
    max_tokens: int = 512,
    http_timeout_s: float = 120.0,
    extra_body: dict[str, Any] | None = None,
    cache_path: str | None = None,
) -> ChatResult:
    """POST ``{base_url}/chat/completions`` and return the first choice.

    ``base_url`` ends before ``/chat/completions`` (``http://localhost:8000/v1``). The API key
    is read from the environment variable named ``api_key_env``, never from a spec.
    """
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "temperature": temperature,
        "max_tokens": max_tokens,
        **(extra_body or {}),
    }
    key = hashlib.blake2b(
        json.dumps([base_url, body], sort_keys=True).encode(), digest_size=16
    ).hexdigest()
    cache = _cache(cache_path) if cache_path else None
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit
    headers = {}
    api_key = os.environ.get(api_key_env) if api_key_env else None
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    response = await _client(base_url, http_timeout_s).post(
        "chat/completions", json=body, headers=headers
    )
    response.raise_for_status()
    try:
        payload = response.json()
    except ValueError:
        raise JudgeResponseError(f"the body is not JSON: {response.text[:200]!r}") from None
    result = _parse(payload)
    if cache is not None and result.refusal is None:
        cache.put(key, result)
    return result

"""Runs ``io`` rewards on an event loop in a background thread: limits, retries, timeouts.

The loop lives in its own daemon thread so that synchronous callers (the CLI, a trainer's reward
function) and asynchronous ones share one implementation. An io reward must be ``async`` and
must not block the loop; a blocking call belongs in a ``cpu`` reward.
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
from concurrent.futures import Future
from typing import Any

from rewardsmith.core.errors import TransientError
from rewardsmith.core.reward import Reward
from rewardsmith.core.sample import Sample
from rewardsmith.core.score import Score

__all__ = ["AsyncRunner", "is_transient"]

_BACKOFF_BASE_S = 0.25
_BACKOFF_MAX_S = 8.0


def is_transient(exc: BaseException) -> bool:
    """Whether a failed io call is worth retrying."""
    if isinstance(exc, TransientError | ConnectionError | TimeoutError):
        return True
    httpx = sys.modules.get("httpx")
    if httpx is not None:
        if isinstance(exc, httpx.TransportError):
            return True
        if isinstance(exc, httpx.HTTPStatusError):
            code = exc.response.status_code
            return code == 429 or code >= 500
    return False


class AsyncRunner:
    """An event loop thread; `submit` schedules one io reward call and returns a future."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._limits: dict[Any, asyncio.Semaphore] = {}

    def submit(
        self,
        reward: Reward,
        params: dict[str, Any],
        sample: Sample,
        *,
        timeout_s: float,
        retries: int,
        concurrency: int,
        limit_key: Any,
    ) -> Future[Score]:
        loop = self._ensure_loop()
        call = self._call(reward, params, sample, timeout_s, retries, concurrency, limit_key)
        return asyncio.run_coroutine_threadsafe(call, loop)

    def shutdown(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="rewardsmith-io", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _limit(self, key: Any, concurrency: int) -> asyncio.Semaphore:
        semaphore = self._limits.get(key)
        if semaphore is None:
            semaphore = self._limits[key] = asyncio.Semaphore(concurrency)
        return semaphore

    async def _call(
        self,
        reward: Reward,
        params: dict[str, Any],
        sample: Sample,
        timeout_s: float,
        retries: int,
        concurrency: int,
        limit_key: Any,
    ) -> Score:
        limit = self._limit(limit_key, concurrency)
        attempts = retries + 1
        last = Score.fail("error", "not attempted")
        for attempt in range(1, attempts + 1):
            async with limit:
                try:
                    return await asyncio.wait_for(reward.arun(sample, params), timeout_s)
                except TimeoutError:
                    last = Score.fail(
                        "timeout", f"no answer within {timeout_s:g}s ({_tries(attempt)})"
                    )
                except Exception as exc:
                    reason = f"reward {reward.name!r} raised {type(exc).__name__}: {exc}"
                    if not is_transient(exc):
                        return Score.fail("error", reason)
                    last = Score.fail("error", f"{reason} ({_tries(attempt)})")
            if attempt < attempts:
                delay = min(_BACKOFF_MAX_S, _BACKOFF_BASE_S * 2 ** (attempt - 1))
                await asyncio.sleep(delay * (0.5 + random.random() / 2))
        return last


def _tries(attempt: int) -> str:
    return f"after {attempt} attempt{'s' if attempt > 1 else ''}"

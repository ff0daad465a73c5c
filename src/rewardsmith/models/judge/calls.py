"""One judge call with everything around it: budget, accounting, refusal and parse statuses.

`ask` sends one prompt and hands the reply to a parser; it returns the parsed verdict or a
failure `Score`: ``refused`` for a refusal (the API's ``refusal`` field, a ``content_filter``
finish, or refusal wording with no verdict), ``parse_error`` for a reply with no verdict, and
``error`` when the budget is spent. HTTP failures propagate so the engine retries them.
`before_deadline` ends a row the judge has not answered as a ``timeout`` just before the engine
would kill it. Every one of these failures is the grader's, not the policy's: the score carries
``info["fault"] = "grader"``, which the status policy masks by default (``grader_failure``).

Accounting is per real request: an attempt that fails (HTTP error, cancelled by a deadline)
counts as a call and a failed call, in the process ledger (so ``max_calls`` bounds attempts)
and in the row's ``info["usage"]``, including attempts of the same request the engine retried.
Each row's usage has an ``id``; a copy of the score (the engine's cache or its deduplication
of identical rows) keeps the id, so `rewardsmith.models.judge.budget.usage_totals` counts it once.

Example:
    >>> JudgeSettings(base_url="http://127.0.0.1:1/v1", model="m").system.startswith("You are")
    True
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Final, TypeVar

from rewardsmith.core.params import CheckedParam
from rewardsmith.core.policy import GRADER_FAULT
from rewardsmith.core.score import Score
from rewardsmith.models.judge import budget as budgets
from rewardsmith.models.judge.client import chat
from rewardsmith.models.judge.parsing import OutOfRange, is_refusal
from rewardsmith.models.judge.prompts import SYSTEM

__all__ = ["BaseUrl", "JudgeSettings", "RowUsage", "ask", "before_deadline", "grader_failure"]

T = TypeVar("T")


class BaseUrl(str, CheckedParam):
    """An ``http://`` or ``https://`` URL ending before ``/chat/completions``."""

    base: ClassVar[Any] = str

    @classmethod
    def check(cls, value: Any, data: dict[str, Any]) -> Any:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL such as http://127.0.0.1:8000/v1")
        if value.rstrip("/").endswith("/chat/completions"):
            raise ValueError("give the base URL (…/v1), without /chat/completions")
        return value


@dataclass(frozen=True)
class JudgeSettings:
    """Where and how to ask: endpoint, sampling, budget and prices (USD per million tokens)."""

    base_url: str
    model: str
    api_key_env: str | None = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 1024
    http_timeout_s: float = 120.0
    system: str = SYSTEM
    budget: str = "judge"
    max_calls: int | None = None
    max_total_tokens: int | None = None
    max_usd: float | None = None
    price_in: float = 0.0
    price_out: float = 0.0
    cache_path: str | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass
class RowUsage:
    """What one row's judge calls cost: ``calls`` are requests sent (failed ones included)."""

    calls: int = 0
    failed_calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    replies: list[str] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    """Names these requests, so a copied score is counted once in totals."""

    def info(self) -> dict[str, Any]:
        return {
            "usage": {
                "id": self.id,
                "calls": self.calls,
                "failed_calls": self.failed_calls,
                "cached_calls": self.cached_calls,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cost_usd": round(self.cost_usd, 8),
            },
            "judge_replies": [reply[-400:] for reply in self.replies],
        }


def grader_failure(status: Any, reason: str, usage: RowUsage, **info: Any) -> Score:
    """A failure `Score` marked as the grader's (``info["fault"] = "grader"``) with the usage."""
    return Score.fail(status, reason, fault=GRADER_FAULT, **info, **usage.info())


# Failed attempts per request hash, waiting for the engine's retry of the same request to pick
# them up into its row's usage (a retry is a fresh call of the reward, with a fresh RowUsage).
# Bounded: a request the engine gave up on leaves its entry until it is pushed out.
_failed: OrderedDict[str, int] = OrderedDict()
_failed_lock = threading.Lock()
_FAILED_MAX: Final = 10_000


def _request_key(settings: JudgeSettings, user: str) -> str:
    payload = [settings.base_url, settings.model, settings.system, user, settings.budget]
    return hashlib.blake2b(json.dumps(payload).encode(), digest_size=12).hexdigest()


def _note_failed(key: str) -> None:
    with _failed_lock:
        _failed[key] = _failed.get(key, 0) + 1
        _failed.move_to_end(key)
        while len(_failed) > _FAILED_MAX:
            _failed.popitem(last=False)


def _take_failed(key: str) -> int:
    with _failed_lock:
        return _failed.pop(key, 0)


async def before_deadline(work: Awaitable[Score], timeout_s: float, usage: RowUsage) -> Score:
    """``work``'s score, or a grader ``timeout`` once 90% of the row's ``timeout_s`` is gone.

    The engine kills an io call at ``timeout_s`` with a plain ``timeout`` (the policy's
    ``zero`` by default); ending it here first lets the row say the judge, not the policy,
    was too slow.
    """
    limit = 0.9 * timeout_s
    try:
        return await asyncio.wait_for(work, limit)
    except TimeoutError:
        return grader_failure("timeout", f"the judge gave no verdict within {limit:.3g}s", usage)


async def ask(
    settings: JudgeSettings,
    user: str,
    parse: Callable[[str], T | OutOfRange | None],
    usage: RowUsage,
) -> T | Score:
    """Ask the judge once; the parsed verdict, or a failure `Score` (see the module doc)."""
    ledger = budgets.ledger(
        settings.budget,
        max_calls=settings.max_calls,
        max_tokens=settings.max_total_tokens,
        max_usd=settings.max_usd,
    )
    key = _request_key(settings, user)
    earlier = _take_failed(key)  # attempts of this request that the engine retried
    usage.calls += earlier
    usage.failed_calls += earlier
    spent = ledger.reserve()
    if spent is not None:
        return grader_failure("error", spent, usage, budget_exhausted=True)
    try:
        result = await chat(
            settings.base_url,
            settings.model,
            [{"role": "system", "content": settings.system}, {"role": "user", "content": user}],
            api_key_env=settings.api_key_env,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            http_timeout_s=settings.http_timeout_s,
            extra_body=settings.extra_body,
            cache_path=settings.cache_path,
        )
    except BaseException:  # an HTTP error, or a deadline cancelling the call
        # The request was (most likely) sent: it counts against max_calls and in the row.
        ledger.fail()
        usage.calls += 1
        usage.failed_calls += 1
        _note_failed(key)
        raise
    cost = ledger.record(
        result.prompt_tokens,
        result.completion_tokens,
        price_in=settings.price_in,
        price_out=settings.price_out,
        cached=result.cached,
    )
    usage.calls += 0 if result.cached else 1
    usage.cached_calls += 1 if result.cached else 0
    usage.prompt_tokens += 0 if result.cached else result.prompt_tokens
    usage.completion_tokens += 0 if result.cached else result.completion_tokens
    usage.cost_usd += cost
    usage.replies.append(result.refusal or result.text)
    if result.refusal is not None or result.finish_reason == "content_filter":
        reason = result.refusal or "the endpoint's content filter stopped the verdict"
        return grader_failure("refused", f"judge refused: {reason[:200]}", usage)
    verdict = parse(result.text)
    if isinstance(verdict, OutOfRange):
        return grader_failure(
            "parse_error",
            f"the judge's verdict {verdict.value:g} is outside the scale "
            f"[{verdict.low:g}, {verdict.high:g}]",
            usage,
            out_of_range=verdict.value,
        )
    if verdict is not None:
        return verdict
    if is_refusal(result.text):
        return grader_failure("refused", f"judge refused: {result.text.strip()[:200]}", usage)
    if not result.text.strip():
        why = "hit max_tokens" if result.finish_reason == "length" else "returned no text"
        return grader_failure("parse_error", f"judge {why} before a verdict", usage)
    return grader_failure(
        "parse_error", f"no verdict in the judge's reply: {result.text.strip()[-160:]!r}", usage
    )

"""One judge call with everything around it: budget, accounting, refusal and parse statuses.

`ask` sends one prompt and hands the reply to a parser; it returns the parsed verdict or a
failure `Score`: ``refused`` for a refusal (the API's ``refusal`` field, a ``content_filter``
finish, or refusal wording with no verdict), ``parse_error`` for a reply with no verdict, and
``error`` when the budget is spent. HTTP failures propagate so the engine retries them.

Example:
    >>> JudgeSettings(base_url="http://127.0.0.1:1/v1", model="m").system.startswith("You are")
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from rewardsmith.core.score import Score
from rewardsmith.models.judge import budget as budgets
from rewardsmith.models.judge.client import chat
from rewardsmith.models.judge.parsing import is_refusal
from rewardsmith.models.judge.prompts import SYSTEM
from rewardsmith.rewards.params import CheckedParam

__all__ = ["BaseUrl", "JudgeSettings", "RowUsage", "ask"]

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
    """What one row's judge calls cost."""

    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    replies: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        return {
            "usage": {
                "calls": self.calls,
                "cached_calls": self.cached_calls,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cost_usd": round(self.cost_usd, 8),
            },
            "judge_replies": [reply[-400:] for reply in self.replies],
        }


async def ask(
    settings: JudgeSettings, user: str, parse: Callable[[str], T | None], usage: RowUsage
) -> T | Score:
    """Ask the judge once; the parsed verdict, or a failure `Score` (see the module doc)."""
    ledger = budgets.ledger(
        settings.budget,
        max_calls=settings.max_calls,
        max_tokens=settings.max_total_tokens,
        max_usd=settings.max_usd,
    )
    spent = ledger.reserve()
    if spent is not None:
        return Score.fail("error", spent, budget_exhausted=True, **usage.info())
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
    except BaseException:  # an HTTP error, or the engine's timeout cancelling the call
        ledger.release()
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
        return Score.fail("refused", f"judge refused: {reason[:200]}", **usage.info())
    verdict = parse(result.text)
    if verdict is not None:
        return verdict
    if is_refusal(result.text):
        return Score.fail("refused", f"judge refused: {result.text.strip()[:200]}", **usage.info())
    if not result.text.strip():
        why = "hit max_tokens" if result.finish_reason == "length" else "returned no text"
        return Score.fail("parse_error", f"judge {why} before a verdict", **usage.info())
    return Score.fail(
        "parse_error",
        f"no verdict in the judge's reply: {result.text.strip()[-160:]!r}",
        **usage.info(),
    )

"""The optional LLM add-on of the ``math`` reward: a second opinion where the rules say no.

As in TinyV ("Reducing False Negatives in Verification Improves RL for LLM Reasoning"), the
rules decide first; only a row they reject (or whose answer they cannot read) is sent to a
verifier model, with the question, the gold answer and the response's answer, through the
judge client (`rewardsmith.models.judge.calls.ask`: OpenAI-compatible endpoint, token and
cost ledger, SQLite cache). The model can only turn a rejection into an acceptance: an
accepted row is never sent, so the add-on cannot add a false reject.

How the parts fit: the reward is a ``cpu`` reward and runs in a worker process, but the judge
client is async. Each process keeps one event loop on a daemon thread (made again after a
fork), so calls reuse their HTTP connections; a call waits at most `LLMCheck.timeout_s` and
never past 80% of the term's own ``timeout_s``, so a slow endpoint cannot turn a rule verdict
into a row ``timeout``. Any failure (HTTP error, time limit, spent budget, a reply without a
verdict) leaves the rule verdict standing and is reported in ``Score.info["llm"]``.

Known failure modes: the budget (``max_calls``, ``max_usd``) is counted per process, so with
N workers up to N times the limit can be spent; a verifier model can be fooled by a response
that argues for its own answer (only the extracted answer is sent when the rules found one,
the last 2,000 characters of the response otherwise).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Final, Literal, NotRequired

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

__all__ = ["DEFAULT_PROMPT", "LLMCheck", "ask_verifier", "parse_verdict"]

DEFAULT_PROMPT: Final = """\
Decide whether a student's final answer to a math problem is equivalent to the reference \
answer. Equivalent means the same mathematical value or set, possibly written differently \
(another form, rounding consistent with the reference's digits, units or words around the \
value, a labelled tuple). It is not equivalent if it is a different value, incomplete, a \
hedge between several answers, or only an intermediate result.

Question:
{question}

Reference answer:
{gold}

Student's final answer:
{answer}

Reason briefly, then end with one line: VERDICT: EQUIVALENT or VERDICT: DIFFERENT"""
"""The user message; ``{question}``, ``{gold}`` and ``{answer}`` are filled in."""

_SYSTEM: Final = "You are a careful grader of mathematical answers."
_VERDICT: Final = re.compile(r"VERDICT\s*[:=]\s*\**\s*(EQUIVALENT|DIFFERENT)\b", re.I)


@with_config(ConfigDict(extra="forbid"))
class LLMCheck(TypedDict):
    """Spec params of the add-on (``params.llm`` of a ``math`` term); a plain dict, so the
    engine's cache key and the wire format hash it like any other param."""

    base_url: str
    """OpenAI-compatible endpoint ending before ``/chat/completions``
    (``http://127.0.0.1:8000/v1``)."""
    model: str
    """Model name sent in the request."""
    prompt: NotRequired[str]
    """User message template with ``{question}``, ``{gold}``, ``{answer}``
    (default `DEFAULT_PROMPT`)."""
    ask_on: NotRequired[Literal["reject", "unparsed", "both"]]
    """``reject``: rows the rules read and reject; ``unparsed``: rows whose answer the rules
    cannot read (``parse_error``); ``both`` (default)."""
    api_key_env: NotRequired[str | None]
    """Environment variable holding the API key (default ``OPENAI_API_KEY``; never the key)."""
    max_tokens: NotRequired[int]
    """Longest reply (default 512)."""
    timeout_s: NotRequired[float]
    """Longest wait for one reply, in seconds (default 8; capped at 80% of the term's
    ``timeout_s``)."""
    budget: NotRequired[str]
    """Name of the ledger that counts calls, tokens and cost (default ``math.llm``)."""
    max_calls: NotRequired[int | None]
    """Most calls per process; then rows keep their rule verdict."""
    max_usd: NotRequired[float | None]
    """Most spent per process, in USD, from ``price_in``/``price_out``."""
    price_in: NotRequired[float]
    """USD per million prompt tokens."""
    price_out: NotRequired[float]
    """USD per million completion tokens."""
    cache_path: NotRequired[str | None]
    """SQLite file caching replies by request (shared by processes and runs)."""


def parse_verdict(text: str) -> bool | None:
    """True for ``VERDICT: EQUIVALENT``, False for ``DIFFERENT`` (the last one written), None
    when the reply has no verdict.

    Example:
        >>> parse_verdict("They differ by a sign. VERDICT: DIFFERENT")
        False
        >>> parse_verdict("equivalent, I think") is None
        True
    """
    found = _VERDICT.findall(text)
    if not found:
        return None
    return found[-1].upper() == "EQUIVALENT"


def wants_verifier(config: LLMCheck, status: str, equal: bool) -> bool:
    """Whether a row with this rule verdict is sent to the verifier model."""
    mode = config.get("ask_on", "both")
    if status == "ok" and not equal:
        return mode in ("reject", "both")
    if status == "parse_error":
        return mode in ("unparsed", "both")
    return False


def ask_verifier(
    config: LLMCheck, *, question: str, gold: str, answer: str, deadline_s: float
) -> dict[str, Any]:
    """Ask the verifier model once; what ``Score.info["llm"]`` records.

    The result has ``verdict`` (True, False or None), ``usage`` (calls, tokens, cost),
    ``latency_s``, the tail of the ``reply``, and ``error`` when there is no verdict.
    """
    from rewardsmith.core.score import Score
    from rewardsmith.models.judge.calls import JudgeSettings, RowUsage, ask

    timeout = max(0.1, min(float(config.get("timeout_s", 8.0)), deadline_s))
    settings = JudgeSettings(
        base_url=config["base_url"],
        model=config["model"],
        api_key_env=config.get("api_key_env", "OPENAI_API_KEY"),
        max_tokens=int(config.get("max_tokens", 512)),
        http_timeout_s=timeout,
        system=_SYSTEM,
        budget=config.get("budget", "math.llm"),
        max_calls=config.get("max_calls"),
        max_usd=config.get("max_usd"),
        price_in=float(config.get("price_in", 0.0)),
        price_out=float(config.get("price_out", 0.0)),
        cache_path=config.get("cache_path"),
    )
    template = config.get("prompt", DEFAULT_PROMPT)
    user = template.replace("{question}", question or "(not given)")
    user = user.replace("{gold}", gold).replace("{answer}", answer)
    usage = RowUsage()
    out: dict[str, Any] = {"model": settings.model, "verdict": None}
    start = time.perf_counter()
    try:
        result = _loop().run(ask(settings, user, parse_verdict, usage), timeout)
    except (FutureTimeout, TimeoutError):
        out["error"] = f"no reply within {timeout:.1f} s"
    except Exception as exc:  # an HTTP error or a broken endpoint: the rule verdict stands
        out["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    else:
        if isinstance(result, Score):
            out["error"] = f"{result.status}: {result.reason[:200]}"
        else:
            out["verdict"] = bool(result)
    out["latency_s"] = round(time.perf_counter() - start, 4)
    recorded = usage.info()
    out["usage"] = recorded["usage"]
    if recorded["judge_replies"]:
        out["reply"] = recorded["judge_replies"][-1][-300:]
    return out


class _Loop:
    """One event loop on a daemon thread, for the async judge client in a sync reward."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="rewardsmith-math-llm", daemon=True
        )
        self.thread.start()

    def run(self, coro: Any, timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            # a little past the HTTP timeout, so the client's own timeout error comes first
            return future.result(timeout + 1.0)
        except FutureTimeout:
            future.cancel()
            raise


_current: _Loop | None = None
_lock: Final = threading.Lock()


def _loop() -> _Loop:
    global _current
    with _lock:
        if _current is None or _current.pid != os.getpid():
            # a forked worker inherits the object but not the thread: start its own
            _current = _Loop()
        return _current

"""Token and cost accounting for judge calls, and a budget that stops a run cleanly.

Every call's usage (from the response's ``usage`` object) is added to a `Ledger` named by the
term's ``budget`` param (the term name by default), shared by all rows of the process. Once a
limit is reached, further rows are not sent: they get ``status="error"`` with the reason
"judge budget exhausted" and ``info["budget_exhausted"] = True`` (``error`` is never cached, so a
later run with a fresh budget scores them). A call reserves its place before it is sent, so
``max_calls`` is never exceeded; a failed attempt (HTTP error, timeout) keeps its place and
counts as a call and a failed call, so retries spend the budget too. Token and cost limits are
known only after a reply, so calls in flight when one is crossed still finish (an overshoot of
at most ``concurrency`` calls). A reply from the SQLite reply cache is a ``cached_call``: free.

`usage_totals` adds up the ``info["usage"]`` of scored rows (a run log, a batch), counting each
usage ``id`` once: the engine's cache and deduplication copy a score, usage included.

Example:
    >>> ledger = Ledger("demo", max_calls=1)
    >>> ledger.reserve() is None
    True
    >>> ledger.reserve()  # the first call is still in flight, but it holds the only place
    'judge budget exhausted: 1 of 1 calls'
    >>> ledger.record(120, 30, price_in=1.0, price_out=2.0)
    0.00018
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["Ledger", "ledger", "reset", "usage", "usage_totals"]


class Ledger:
    """Running totals of one budget; thread-safe."""

    def __init__(
        self,
        name: str,
        *,
        max_calls: int | None = None,
        max_tokens: int | None = None,
        max_usd: float | None = None,
    ) -> None:
        self.name = name
        self.max_calls, self.max_tokens, self.max_usd = max_calls, max_tokens, max_usd
        self.calls = self.failed_calls = self.cached_calls = 0
        self.prompt_tokens = self.completion_tokens = 0
        self.cost_usd = 0.0
        self.in_flight = 0
        self._lock = threading.Lock()

    def set_limits(
        self, max_calls: int | None, max_tokens: int | None, max_usd: float | None
    ) -> None:
        with self._lock:
            self.max_calls, self.max_tokens, self.max_usd = max_calls, max_tokens, max_usd

    def reserve(self) -> str | None:
        """Take a place for one call; the reason when none is left (nothing is taken then).

        Every successful reservation must be followed by `record` or `release`.
        """
        with self._lock:
            reason = self._exhausted()
            if reason is None:
                self.in_flight += 1
            return reason

    def release(self) -> None:
        """Give back a reservation whose request was never sent."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)

    def fail(self) -> None:
        """Close a reservation whose request got no reply: a call and a failed call."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            self.calls += 1
            self.failed_calls += 1

    def exhausted(self) -> str | None:
        """The reason no more calls may be made, or None."""
        with self._lock:
            return self._exhausted()

    def _exhausted(self) -> str | None:  # with the lock held
        taken = self.calls + self.in_flight
        if self.max_calls is not None and taken >= self.max_calls:
            return f"judge budget exhausted: {taken} of {self.max_calls} calls"
        tokens = self.prompt_tokens + self.completion_tokens
        if self.max_tokens is not None and tokens >= self.max_tokens:
            return f"judge budget exhausted: {tokens} of {self.max_tokens} tokens"
        if self.max_usd is not None and self.cost_usd >= self.max_usd:
            return f"judge budget exhausted: ${self.cost_usd:.4f} of ${self.max_usd:.4f}"
        return None

    def record(
        self,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        price_in: float = 0.0,
        price_out: float = 0.0,
        cached: bool = False,
    ) -> float:
        """Add one call; prices are USD per million tokens. Returns the call's cost."""
        if cached:
            with self._lock:
                self.in_flight = max(0, self.in_flight - 1)
                self.cached_calls += 1
            return 0.0
        cost = (prompt_tokens * price_in + completion_tokens * price_out) / 1e6
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            self.calls += 1
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens
            self.cost_usd += cost
        return round(cost, 10)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": self.calls,
                "failed_calls": self.failed_calls,
                "cached_calls": self.cached_calls,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "cost_usd": round(self.cost_usd, 6),
            }


_ledgers: dict[str, Ledger] = {}
_lock = threading.Lock()


def ledger(
    name: str,
    *,
    max_calls: int | None = None,
    max_tokens: int | None = None,
    max_usd: float | None = None,
) -> Ledger:
    """The process-wide ledger of ``name`` (created on first use); limits are updated."""
    with _lock:
        found = _ledgers.get(name)
        if found is None:
            found = _ledgers[name] = Ledger(name)
    found.set_limits(max_calls, max_tokens, max_usd)
    return found


def usage(name: str | None = None) -> dict[str, Any]:
    """Totals of one budget, or of every budget by name; ``reset`` a budget by `reset`."""
    with _lock:
        chosen = {name: _ledgers[name]} if name is not None and name in _ledgers else dict(_ledgers)
    if name is not None and name not in chosen:
        return {}
    snaps = {key: value.snapshot() for key, value in chosen.items()}
    return snaps[name] if name is not None else snaps


_USAGE_KEYS = ("calls", "failed_calls", "cached_calls", "prompt_tokens", "completion_tokens")


def usage_totals(infos: Iterable[Any]) -> dict[str, Any] | None:
    """Judge calls, tokens and cost summed over scores' ``info`` dicts; None when there is none.

    Walks each info (a row's ``{"terms": {name: {"info": ...}}}`` as well as a term's own
    info) for ``usage`` dicts; one with an ``id`` already seen is a copy and is skipped.

    Example:
        >>> row = {"terms": {"j": {"info": {"usage": {"id": "a1", "calls": 2, "cost_usd": 0.5}}}}}
        >>> usage_totals([row, row, {"usage": {"id": "b2", "calls": 1, "failed_calls": 1}}])
        {'calls': 3, 'failed_calls': 1, 'cached_calls': 0, 'prompt_tokens': 0, 'completion_tokens': 0, 'cost_usd': 0.5, 'rows': 2}
    """
    totals: dict[str, Any] = dict.fromkeys(_USAGE_KEYS, 0)
    totals["cost_usd"] = 0.0
    seen: set[str] = set()
    rows = 0
    for info in infos:
        found = list(_usages(info))
        fresh = [u for u in found if u.get("id") is None or str(u["id"]) not in seen]
        seen.update(str(u["id"]) for u in found if u.get("id") is not None)
        for used in fresh:
            for key in _USAGE_KEYS:
                totals[key] += int(used.get(key) or 0)
            totals["cost_usd"] += float(used.get("cost_usd") or 0.0)
        rows += bool(fresh)
    if not seen and rows == 0:
        return None
    totals["cost_usd"] = round(totals["cost_usd"], 8)
    totals["rows"] = rows
    return totals


def _usages(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if not isinstance(node, dict) or depth > 6:
        return
    used = node.get("usage")
    if isinstance(used, dict) and "calls" in used:
        yield used
    for key, value in node.items():
        if key != "usage" and isinstance(value, dict):
            yield from _usages(value, depth + 1)


def reset(name: str | None = None) -> None:
    """Forget the totals of one budget (or all): a new run starts from zero."""
    with _lock:
        if name is None:
            _ledgers.clear()
        else:
            _ledgers.pop(name, None)

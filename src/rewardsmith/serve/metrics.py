"""Prometheus text exposition for the reward server: counters, histograms and gauges.

Small on purpose: a labelled counter and a fixed-bucket histogram are all the server needs, and
each update is one dict operation under a lock, cheap next to a request (~µs).
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Callable, Iterable

from rewardsmith.core.score import Score

__all__ = ["LATENCY_BUCKETS", "ServerMetrics"]

LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
BATCH_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _label_text(labels: Labels, extra: str = "") -> str:
    parts = [f'{key}="{_escape(value)}"' for key, value in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Counter:
    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self.values: dict[Labels, float] = {}

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_label_text(labels)} {_number(value)}"


class _Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.buckets = name, help_text, buckets
        self.counts: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = {}

    def observe(self, labels: Labels, value: float) -> None:
        counts = self.counts.get(labels)
        if counts is None:
            counts = self.counts[labels] = [0] * (len(self.buckets) + 1)
            self.sums[labels] = 0.0
        counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sums[labels] += value

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, counts in sorted(self.counts.items()):
            running = 0
            for bound, count in zip(self.buckets, counts, strict=False):
                running += count
                le = f'le="{_number(bound)}"'
                yield f"{self.name}_bucket{_label_text(labels, le)} {running}"
            running += counts[-1]
            inf = 'le="+Inf"'
            yield f"{self.name}_bucket{_label_text(labels, inf)} {running}"
            yield f"{self.name}_sum{_label_text(labels)} {_number(self.sums[labels])}"
            yield f"{self.name}_count{_label_text(labels)} {running}"


class ServerMetrics:
    """Everything ``GET /metrics`` reports. Updated from the event loop and the batcher thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = _Counter(
            "rewardsmith_requests_total", "HTTP requests by route and response code."
        )
        self.latency = _Histogram(
            "rewardsmith_request_duration_seconds",
            "Time from request start to response, by route.",
            LATENCY_BUCKETS,
        )
        self.rows = _Counter(
            "rewardsmith_rows_total", "Scored rows by final status (after the status policy)."
        )
        self.term_status = _Counter(
            "rewardsmith_term_status_total", "Per-term results by term, reward and status."
        )
        self.batches = _Histogram(
            "rewardsmith_batch_rows", "Rows per engine call (micro-batches).", BATCH_BUCKETS
        )
        self.rejected = _Counter(
            "rewardsmith_rejected_total", "Requests refused before scoring, by reason."
        )
        self.replays = _Counter(
            "rewardsmith_idempotent_replays_total",
            "Requests answered from the Idempotency-Key record instead of being scored again.",
        )
        self.gauges: dict[str, tuple[str, str, Callable[[], float]]] = {}

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Register a gauge whose value is read when the metrics are rendered."""
        self.gauges[name] = ("gauge", help_text, read)

    def counter(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """Register a counter kept elsewhere (the engine's), read when the metrics are rendered.
        Its name must end in ``_total`` and its value may only grow (Prometheus' ``rate()``)."""
        if not name.endswith("_total"):
            raise ValueError(f"a counter's name ends in _total: {name!r}")
        self.gauges[name] = ("counter", help_text, read)

    def replay(self, route: str) -> None:
        with self._lock:
            self.replays.inc((("route", route),))

    def request(self, route: str, code: int, seconds: float) -> None:
        with self._lock:
            self.requests.inc((("route", route), ("code", str(code))))
            self.latency.observe((("route", route),), seconds)

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected.inc((("reason", reason),))

    def scored(self, scores: list[Score], term_rewards: dict[str, str]) -> None:
        """Count one micro-batch: its size, each row's status and each term's status."""
        rows: Counter[str] = Counter(score.status for score in scores)
        terms: Counter[tuple[str, str]] = Counter()
        for score in scores:
            details = score.info.get("terms")
            if isinstance(details, dict):
                terms.update(
                    (term, detail.get("status", "?") if isinstance(detail, dict) else "?")
                    for term, detail in details.items()
                )
        with self._lock:
            self.batches.observe((), float(len(scores)))
            for row_status, count in rows.items():
                self.rows.inc((("status", row_status),), count)
            for (term, term_status), count in terms.items():
                labels = (
                    ("term", term),
                    ("reward", term_rewards.get(term, "?")),
                    ("status", term_status),
                )
                self.term_status.inc(labels, count)

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for metric in (
                self.requests,
                self.latency,
                self.rows,
                self.term_status,
                self.batches,
                self.rejected,
                self.replays,
            ):
                lines.extend(metric.render())
        for name, (kind, help_text, read) in sorted(self.gauges.items()):
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            lines.append(f"{name} {_number(float(read()))}")
        return "\n".join(lines) + "\n"

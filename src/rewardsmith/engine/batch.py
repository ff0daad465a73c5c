"""`ScoredBatch`: the scores of one batch in input order, with their summary statistics."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rewardsmith.core.score import STATUSES, Score

__all__ = ["RunningSummary", "ScoredBatch", "summarize"]


class ScoredBatch(list[Score]):
    """A list of `Score`, one per input row in order, plus ``status_counts`` and means.

    With a ``[normalize]`` table in the spec, ``advantages`` holds one advantage per row (None
    for masked rows; the same number as ``Score.info["advantage"]``) and ``normalization`` a
    report: method, group count, zero-variance groups and per-component flat-group counts.
    Without one, both are None. With ``combine = "constrained"``, ``constraints`` holds the
    batch's record: the Lagrange multipliers used, the updated ones, and each constraint's
    batch mean, threshold and violation (None for other combine modes).

    Example:
        >>> batch = ScoredBatch([Score(value=1.0), Score.fail("timeout", "slow")])
        >>> batch.status_counts["timeout"], batch.mean_reward
        (1, 1.0)
    """

    def __init__(
        self,
        scores: list[Score],
        ids: list[str] | None = None,
        *,
        advantages: list[float | None] | None = None,
        normalization: dict[str, Any] | None = None,
        constraints: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(scores)
        self.ids = ids if ids is not None else [str(index) for index in range(len(scores))]
        self.advantages = advantages
        self.normalization = normalization
        self.constraints = constraints

    @property
    def status_counts(self) -> dict[str, int]:
        """How many rows ended in each status (every status is present, zero included)."""
        counts: Counter[str] = Counter(score.status for score in self)
        return {status: counts.get(status, 0) for status in STATUSES}

    @property
    def mean_reward(self) -> float | None:
        values = [score.value for score in self if score.value is not None]
        return sum(values) / len(values) if values else None

    @property
    def component_means(self) -> dict[str, float]:
        return summarize(self)["component_means"]


def summarize(scores: list[Score]) -> dict[str, Any]:
    """Mean reward, per-component means and status counts of a list of scores."""
    running = RunningSummary()
    running.add(scores)
    return running.result()


class RunningSummary:
    """`summarize`, fed chunk by chunk: what a file run keeps instead of every score."""

    def __init__(self) -> None:
        self.rows = 0
        self._total = 0.0
        self._scored = 0
        self._totals: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._statuses: Counter[str] = Counter()

    def add(self, scores: list[Score]) -> None:
        totals, counts = self._totals, self._counts
        self.rows += len(scores)
        self._statuses.update([score.status for score in scores])  # counted in C
        # Summed one by one, in row order, as before: the same float result.
        total, scored = self._total, self._scored
        for score in scores:
            value = score.value
            if value is not None:
                total += value
                scored += 1
            components = score.components
            if components:
                for name, value in components.items():
                    if name in totals:
                        totals[name] += value
                        counts[name] += 1
                    else:
                        totals[name] = 0.0 + value
                        counts[name] = 1
        self._total, self._scored = total, scored

    def merge(self, other: RunningSummary) -> None:
        """Add another summary's rows (as if they had been added here)."""
        self.rows += other.rows
        self._total += other._total
        self._scored += other._scored
        for name, total in other._totals.items():
            self._totals[name] = self._totals.get(name, 0.0) + total
            self._counts[name] = self._counts.get(name, 0) + other._counts[name]
        self._statuses.update(other._statuses)

    def result(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "mean_reward": self._total / self._scored if self._scored else None,
            "scored": self._scored,
            "component_means": {
                name: self._totals[name] / self._counts[name] for name in self._totals
            },
            "status_counts": {status: self._statuses.get(status, 0) for status in STATUSES},
        }

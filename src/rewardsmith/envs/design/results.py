"""What a design run produces: each `Candidate`, the selected one, and the distances between
the trained ones (which of them are really different rewards, not rescaled or reshaped copies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rewardsmith.envs.design.evaluate import CandidateResult

__all__ = ["Candidate", "DesignResult", "candidate_distances", "select_best"]


@dataclass
class Candidate:
    """One reply and what its reward did."""

    iteration: int
    index: int
    response: str
    code: str | None
    result: CandidateResult

    @property
    def id(self) -> str:
        return f"iter{self.iteration}/cand{self.index}"


@dataclass
class DesignResult:
    """Every candidate, the selected one, the distances between trained ones, the run id."""

    candidates: list[Candidate]
    best: Candidate | None
    run_id: str | None = None
    distances: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary (what the CLI prints with ``--json``)."""
        return {
            "run_id": self.run_id,
            "best": self.best.id if self.best else None,
            "best_success_rate": self.best.result.success_rate if self.best else None,
            "candidates": [
                {
                    "id": c.id,
                    "status": c.result.status,
                    "reason": c.result.reason,
                    "success_rate": c.result.success_rate,
                    "train_success": c.result.train_success,
                    "seconds": round(c.result.seconds, 3),
                }
                for c in self.candidates
            ],
            "distances": self.distances,
        }


def select_best(candidates: list[Candidate]) -> Candidate | None:
    """The trained candidate with the highest task success, then the highest success during
    training, then the earliest; None when none trained."""
    trained = [c for c in candidates if c.result.status == "ok"]
    if not trained:
        return None
    return max(
        trained,
        key=lambda c: (c.result.success_rate, c.result.train_success, -c.iteration, -c.index),
    )


def candidate_distances(
    candidates: list[Candidate], T: np.ndarray, gamma: float, *, same_below: float = 0.05
) -> dict[str, Any]:
    """EPIC and STARC distance matrices between trained candidates, and groups of candidates
    all within EPIC ``same_below`` of each other (the same reward up to shaping and scale).

    Uses `rewardsmith.audit.distance` on the full tables ``R[s, a, s']``; STARC takes the
    environment's transitions ``T`` and the uniform policy."""
    from rewardsmith.audit.distance import epic_distance, starc_distance

    trained = [c for c in candidates if c.result.status == "ok" and c.result.table is not None]
    ids = [c.id for c in trained]
    n = len(trained)
    epic = np.zeros((n, n))
    starc = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a, b = trained[i].result.table, trained[j].result.table
            assert a is not None and b is not None
            epic[i, j] = epic[j, i] = epic_distance(a.total, b.total, gamma)
            starc[i, j] = starc[j, i] = starc_distance(a.total, b.total, T, gamma)
    groups: list[list[str]] = []
    for i in range(n):
        for group in groups:
            if all(epic[i, ids.index(other)] < same_below for other in group):
                group.append(ids[i])
                break
        else:
            groups.append([ids[i]])
    return {
        "ids": ids,
        "epic": np.round(epic, 4).tolist(),
        "starc": np.round(starc, 4).tolist(),
        "groups": groups,
    }

"""Constrained combination of reward components (Moskovitz et al. 2023, "Confronting Reward Model
Overoptimization with Constrained RLHF").

Instead of fixed weights, one component is the objective and every other named component must
keep its batch mean at or above (or at) a threshold θ_i. The Lagrangian relaxation turns that
into a reward whose weights are Lagrange multipliers λ_i learnt online:

    r(x, y)  = r_obj(x, y) + Σ_i λ_i · (r_i(x, y) − θ_i)        (λ fixed for the batch)
    λ_i     ← clip(λ_i + η · (θ_i − mean_batch r_i), low_i, high_i)   (after the batch)

The update is projected gradient descent on the dual: while a ``>=`` constraint is violated
(mean below θ) its multiplier rises and the reward pays for that component; once the component
is above θ the multiplier falls back to 0 (``>=``: bounds ``[0, max]``) and the reward stops
paying for pushing it further, which is where a proxy reward stops tracking quality. With
``=`` the multiplier may go negative, so overshooting θ is penalised. The rows of a batch are
scored with the multipliers from before the batch, then the batch's means update them: the
policy step sees fixed weights, as in primal-dual constrained RL.

Example:
    >>> from rewardsmith.core.shaping_spec import ConstrainedSpec
    >>> spec = ConstrainedSpec(objective="a", lr=0.5,
    ...                        constraints=[{"term": "b", "threshold": 1.0}])
    >>> lagrange = Multipliers(spec)
    >>> lagrange.reward({"a": 2.0, "b": 0.0})
    2.0
    >>> lagrange.update([{"a": 2.0, "b": 0.0}])["updated"]
    {'b': 0.5}
    >>> lagrange.reward({"a": 2.0, "b": 0.0})
    1.5
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rewardsmith.core.shaping_spec import ConstrainedSpec

__all__ = ["Multipliers"]


class Multipliers:
    """The Lagrange multipliers of one ``[constrained]`` table, with their update rule.

    ``state_dict`` / ``load_state_dict`` save and restore them (the `Shaper` includes them in
    its own state, beside the running transforms).
    """

    def __init__(self, spec: ConstrainedSpec) -> None:
        self.spec = spec
        self.values: dict[str, float] = {c.term: c.initial for c in spec.constraints}
        self.thresholds = {c.term: c.threshold for c in spec.constraints}
        self.bounds = {c.term: spec.bounds_of(c) for c in spec.constraints}
        self.steps = 0

    def reward(self, values: Mapping[str, float]) -> float:
        """One row's Lagrangian reward; components missing from the row contribute nothing."""
        total = values.get(self.spec.objective, 0.0)
        for term, multiplier in self.values.items():
            if term in values:
                total += multiplier * (values[term] - self.thresholds[term])
        return total

    def update(self, rows: Sequence[Mapping[str, float]]) -> dict[str, Any]:
        """Move each multiplier by the batch's constraint violation; returns the batch record.

        A constraint whose term has no value in the batch (masked rows, or a ``when`` that
        excluded every row) keeps its multiplier: no evidence, no step.
        """
        used = dict(self.values)
        means: dict[str, float] = {}
        violations: dict[str, float] = {}
        for term, multiplier in used.items():
            found = [row[term] for row in rows if term in row and math.isfinite(row[term])]
            if not found:
                continue
            mean = math.fsum(found) / len(found)
            means[term] = mean
            violations[term] = self.thresholds[term] - mean
            low, high = self.bounds[term]
            self.values[term] = min(max(multiplier + self.spec.lr * violations[term], low), high)
        self.steps += 1
        return {
            "objective": self.spec.objective,
            "step": self.steps,
            "multipliers": used,
            "updated": dict(self.values),
            "means": means,
            "thresholds": dict(self.thresholds),
            "violations": violations,
        }

    def state_dict(self) -> dict[str, Any]:
        """The multipliers and the number of updates so far (plain JSON-able data)."""
        return {"multipliers": dict(self.values), "steps": self.steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` saved; raises ValueError if the constraints differ."""
        saved = state.get("multipliers")
        if not isinstance(saved, Mapping) or set(saved) != set(self.values):
            raise ValueError(
                f"saved multipliers {sorted(saved) if isinstance(saved, Mapping) else saved!r} "
                f"do not match the constraints {sorted(self.values)}"
            )
        values = {term: float(saved[term]) for term in self.values}
        for term, value in values.items():
            low, high = self.bounds[term]
            if not (math.isfinite(value) and low <= value <= high):
                raise ValueError(
                    f"saved multiplier for {term!r} is {value}, outside [{low}, {high}]"
                )
        self.values = values
        self.steps = int(state.get("steps", 0))

"""How well a reward model ranks preference pairs: the report `train` and `finetune` both write.

Apart from `model` so that the fine-tuning code can evaluate without importing the module that
loads fine-tuned models (which imports it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from rewardsmith.models.bt.data import PreferencePair

__all__ = ["PairScorer", "evaluate_pairs", "pool_heads"]


class PairScorer(Protocol):
    """Anything that scores (prompt, response) pairs with ``k`` reward heads."""

    heads: int

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        """An ``(n, heads)`` array of rewards."""
        ...


def pool_heads(values: np.ndarray, method: str = "mean", lam: float = 1.0) -> np.ndarray:
    """One reward per row from an ``(n, k)`` array of head rewards (`shaping.ensembles.pool`)."""
    from rewardsmith.shaping.ensembles import pool

    if values.shape[1] == 1:
        return values[:, 0]
    return np.array([pool(row.tolist(), method, lam=lam) for row in values])  # type: ignore[arg-type]


def evaluate_pairs(
    scorer: PairScorer, pairs: Sequence[PreferencePair], *, pool: str = "mean", lam: float = 1.0
) -> dict[str, Any]:
    """Pairwise accuracy (ties count half), overall, by subset and per head.

    Also reports the accuracy of "the longer answer wins" on the same pairs: a reward model that
    does not beat it may be measuring length.
    """
    if not pairs:
        return {"n": 0}
    prompts = [p.prompt for p in pairs]
    chosen = scorer.score(prompts, [p.chosen for p in pairs])
    rejected = scorer.score(prompts, [p.rejected for p in pairs])
    pooled_c, pooled_r = pool_heads(chosen, pool, lam), pool_heads(rejected, pool, lam)
    hits = (pooled_c > pooled_r) + 0.5 * (pooled_c == pooled_r)
    longer = np.array([len(p.chosen) > len(p.rejected) for p in pairs]) + 0.5 * np.array(
        [len(p.chosen) == len(p.rejected) for p in pairs]
    )
    by_subset: dict[str, list[float]] = defaultdict(list)
    for pair, hit in zip(pairs, hits, strict=True):
        by_subset[pair.subset or "-"].append(float(hit))
    per_head = ((chosen > rejected) + 0.5 * (chosen == rejected)).mean(0)
    # How often the model ranks the longer answer first (pairs of equal length left out), next
    # to how often the labels do: a model far above its labels has learned length.
    unequal = np.array([len(p.chosen) != len(p.rejected) for p in pairs])
    chosen_longer = np.array([len(p.chosen) > len(p.rejected) for p in pairs])
    model_longer = np.where(chosen_longer, pooled_c > pooled_r, pooled_r > pooled_c) + 0.5 * (
        pooled_c == pooled_r
    )
    return {
        "n": len(pairs),
        "accuracy": float(hits.mean()),
        "by_subset": {
            name: {"accuracy": float(np.mean(v)), "n": len(v)}
            for name, v in sorted(by_subset.items())
        },
        "per_head_accuracy": [round(float(a), 4) for a in per_head],
        "mean_margin": float((pooled_c - pooled_r).mean()),
        "longer_answer_accuracy": float(longer.mean()),
        "labels_prefer_longer": float(chosen_longer[unequal].mean()) if unequal.any() else 0.5,
        "model_prefers_longer": float(model_longer[unequal].mean()) if unequal.any() else 0.5,
    }

"""Shaping: combine term scores, transform and pool them, normalize groups, assign credit.

The spec reaches all of it (docs/shaping.md); the same pieces are plain functions and classes
for use from Python:

- combine: `Shaper`, `combine_terms`, `Formula`
- transforms: `build_transform` and the classes in `rewardsmith.shaping.transforms`
- ensembles: `pool`
- normalization: `rewardsmith.shaping.normalize` (grpo, dr_grpo, rloo, batch_zscore, rank,
  gdpo, pass_at_k, group_report) and `compute_advantages`
- group rewards: `group.majority_vote` (registered), `unlikeliness`, `pkpo_rewards`,
  `label_accuracy`, `win_rates`
- credit: `aggregate`, `pure_step_rewards`, `min_form_returns`, `hybrid_advantages`
- potential shaping: `PotentialShaping`; its Gymnasium wrapper `ShapeReward` and the others
  live in `rewardsmith.envs.wrappers` (needs the ``[gym]`` extra)
"""

from rewardsmith.core.formula import Formula, FormulaError
from rewardsmith.shaping.advantages import compute_advantages
from rewardsmith.shaping.combine import Shaper, combine_terms
from rewardsmith.shaping.credit import (
    aggregate,
    hybrid_advantages,
    min_form_returns,
    pure_step_rewards,
)
from rewardsmith.shaping.ensembles import pool
from rewardsmith.shaping.group import label_accuracy, majority_vote, pkpo_rewards, unlikeliness
from rewardsmith.shaping.lexicographic import win_rates
from rewardsmith.shaping.potential import PotentialShaping, shaping_term
from rewardsmith.shaping.transforms import Transform, TransformError, build_transform

__all__ = [
    # combining
    "Formula",
    "FormulaError",
    "PotentialShaping",
    "Shaper",
    "Transform",
    "TransformError",
    "aggregate",
    "build_transform",
    "combine_terms",
    "compute_advantages",
    "hybrid_advantages",
    "label_accuracy",
    "majority_vote",
    "min_form_returns",
    "pkpo_rewards",
    "pool",
    "pure_step_rewards",
    "shaping_term",
    "unlikeliness",
    "win_rates",
]

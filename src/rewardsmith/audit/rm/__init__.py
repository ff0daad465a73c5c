"""Reward-model evaluation: RewardBench v1/v2 scoring, one-vs-many, consistency, calibration,
length bias."""

from rewardsmith.audit.rm.convert import pairs_to_best_of_n
from rewardsmith.audit.rm.evaluate import RMReport, detect_format, evaluate_rm, evaluate_rm_file
from rewardsmith.audit.rm.metrics import calibration, consistency, length_bias, one_vs_many
from rewardsmith.audit.rm.rewardbench import (
    EXAMPLE_COUNTS,
    SUBSET_MAPPING,
    best_of_n_result,
    score_v1,
    score_v2,
    ties_score,
)

__all__ = [
    "EXAMPLE_COUNTS",
    "SUBSET_MAPPING",
    "RMReport",
    "best_of_n_result",
    "calibration",
    "consistency",
    "detect_format",
    "evaluate_rm",
    "evaluate_rm_file",
    "length_bias",
    "one_vs_many",
    "pairs_to_best_of_n",
    "score_v1",
    "score_v2",
    "ties_score",
]

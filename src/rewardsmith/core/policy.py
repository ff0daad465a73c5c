"""The status policy: what training sees for a term that did not end ``ok``.

A failure the grader caused (a judge that timed out or answered nothing usable) is not the
policy's fault; such a score carries ``info["fault"] = "grader"`` and follows the policy's
``grader_failure`` action (``mask`` by default) instead of its status's.
"""

from __future__ import annotations

from typing import Final

from rewardsmith.core.errors import RewardFailedError
from rewardsmith.core.score import Score
from rewardsmith.core.spec import StatusPolicy

__all__ = ["GRADER_FAULT", "apply_policy", "is_grader_failure"]

GRADER_FAULT: Final = "grader"
"""The value of ``Score.info["fault"]`` on a failure the grader caused, not the policy."""


def is_grader_failure(score: Score) -> bool:
    """Whether a non-ok ``score`` is the grader's failure (``info["fault"] == "grader"``).

    Example:
        >>> is_grader_failure(Score.fail("timeout", "judge silent", fault="grader"))
        True
        >>> is_grader_failure(Score.fail("parse_error", "no answer"))
        False
    """
    return score.status != "ok" and score.info.get("fault") == GRADER_FAULT


def apply_policy(policy: StatusPolicy, score: Score, *, row_id: str, term: str) -> float | None:
    """The training value for ``score``: its own value when ok, else what the policy says.

    A grader failure (`is_grader_failure`) follows ``policy.grader_failure`` instead of the
    status's own action. Returns None for ``mask``; raises `RewardFailedError` for ``raise``.

    Example:
        >>> from rewardsmith.core.spec import StatusPolicy
        >>> policy = StatusPolicy()
        >>> apply_policy(policy, Score.fail("parse_error", "no answer"), row_id="r", term="t")
        0.0
        >>> failed = Score.fail("parse_error", "judge gave no verdict", fault="grader")
        >>> apply_policy(policy, failed, row_id="r", term="t") is None
        True
    """
    if score.status == "ok":
        return score.value
    grader = is_grader_failure(score)
    action = policy.grader_failure if grader else policy.action(score.status)
    if action == "zero":
        return 0.0
    if action == "mask":
        return None
    if action == "raise":
        raise RewardFailedError(
            f"row {row_id!r}, term {term!r}: {score.status}: {score.reason} "
            f"(on_status.{'grader_failure' if grader else score.status} = 'raise')"
        )
    return float(action.removeprefix("penalty:"))

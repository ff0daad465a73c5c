"""The status policy: what training sees for a term that did not end ``ok``."""

from __future__ import annotations

from rewardsmith.core.errors import RewardFailedError
from rewardsmith.core.score import Score
from rewardsmith.core.spec import StatusPolicy

__all__ = ["apply_policy"]


def apply_policy(policy: StatusPolicy, score: Score, *, row_id: str, term: str) -> float | None:
    """The training value for ``score``: its own value when ok, else what the policy says.

    Returns None for ``mask``; raises `RewardFailedError` for ``raise``.
    """
    if score.status == "ok":
        return score.value
    action = policy.action(score.status)
    if action == "zero":
        return 0.0
    if action == "mask":
        return None
    if action == "raise":
        raise RewardFailedError(
            f"row {row_id!r}, term {term!r}: {score.status}: {score.reason} "
            f"(on_status.{score.status} = 'raise')"
        )
    return float(action.removeprefix("penalty:"))

"""What one logged row holds, and when a logged row may stand in for scoring a row again.

A logged score is reused on ``--resume`` only for the same input row, scored by the same reward
versions: each row carries the hash of its whole input (`input_hash`) and the versions of the
rewards that scored it (`reward_versions`). Position and id alone are not enough: a file
rewritten with new completions under the same ids would get the old rewards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from rewardsmith.core.score import Score
from rewardsmith.core.spec import ResolvedTerm

__all__ = ["LOG_SCHEMA_FIELDS", "LoggedRow", "input_hash", "reward_versions"]

LOG_SCHEMA_FIELDS = (
    "row_index",
    "id",
    "reward",
    "status",
    "reason",
    "components",
    "info",
    "latency_s",
    "scored_at",
    "input_hash",
    "versions",
)

# Sorted keys at every level: the same row hashes the same whatever order its writer used.
_canonical = msgspec.json.Encoder(enc_hook=repr, order="sorted")
_BLAKE2B_16 = hashlib.blake2b(digest_size=16)


def input_hash(row: Any) -> str:
    """The hash of everything a reward can see of one input row.

    The whole row is hashed (prompt, completion, reference, task, group, id and every extra
    field), not a chosen subset: a reward may read any field, so any change makes the logged
    score stale. Keys are sorted, so reordering a row's fields changes nothing.

    Example:
        >>> input_hash({"id": "a", "completion": "4"}) == input_hash({"completion": "4", "id": "a"})
        True
        >>> input_hash({"id": "a", "completion": "4"}) == input_hash({"id": "a", "completion": "5"})
        False
    """
    digest = _BLAKE2B_16.copy()  # a copy is cheaper than a constructor parsing digest_size
    digest.update(_canonical.encode(row))
    return digest.hexdigest()


def reward_versions(terms: Sequence[ResolvedTerm]) -> str:
    """``term=reward@version`` for every term, ``;``-joined: the rewards that scored a row.

    Example:
        >>> from rewardsmith import load_spec
        >>> from rewardsmith.core.spec import resolve_terms
        >>> reward_versions(resolve_terms(load_spec("exact_match")))
        'exact_match=exact_match@1'
    """
    return ";".join(f"{t.name}={t.reward.name}@{t.reward.version}" for t in terms)


def schema() -> Any:
    """The Arrow schema of a part."""
    import pyarrow as pa

    return pa.schema(
        [
            ("row_index", pa.int64()),
            ("id", pa.string()),
            ("reward", pa.float64()),
            ("status", pa.string()),
            ("reason", pa.string()),
            ("components", pa.map_(pa.string(), pa.float64())),
            ("info", pa.string()),
            ("latency_s", pa.float64()),
            # UTC, stored without a zone: DuckDB hands zoned timestamps to Python only with pytz.
            ("scored_at", pa.timestamp("us")),
            # Empty when the writer had no input row (the server logs scores, not inputs).
            ("input_hash", pa.string()),
            ("versions", pa.string()),
        ]
    )


EMPTY_TABLE_SQL = (
    "CREATE TABLE scores (row_index BIGINT, id VARCHAR, reward DOUBLE, status VARCHAR, "
    "reason VARCHAR, components MAP(VARCHAR, DOUBLE), info VARCHAR, latency_s DOUBLE, "
    "scored_at TIMESTAMP, input_hash VARCHAR, versions VARCHAR)"
)


@dataclass(frozen=True)
class LoggedRow:
    """A row read back from the log, enough to rebuild its output row without rescoring."""

    row_index: int
    id: str
    score: Score
    input_hash: str = ""
    """`input_hash` of the input row it scored; empty if unknown (parts written before the column existed, or by the server)."""
    versions: str = ""
    """`reward_versions` of the rewards that scored it; empty if unknown."""

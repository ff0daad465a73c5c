"""Write preference pairs in RewardBench 2's best-of-n format.

RewardBench 2's rows hold one chosen answer and three rejected ones. Pair data where one
chosen answer was compared with several rejected answers for the same prompt (AlpacaEval-style
data: every model against one reference) can be regrouped into such rows.
"""

from __future__ import annotations

from typing import Any

__all__ = ["pairs_to_best_of_n"]


def pairs_to_best_of_n(
    rows: list[dict[str, Any]], rejected_per_row: int = 3
) -> list[dict[str, Any]]:
    """Group v1 pairs by (prompt, chosen) into v2 rows of 1 chosen + ``rejected_per_row`` rejected.

    Groups with fewer rejected answers are dropped; larger groups give one row per full block of
    ``rejected_per_row`` in input order. Row ids are ``<first pair id>+<k>``.

    Example:
        >>> pairs = [{"id": f"p{i}", "prompt": "q", "chosen": "good", "rejected": f"bad{i}"} for i in range(4)]
        >>> [(r["id"], r["rejected"]) for r in pairs_to_best_of_n(pairs, 2)]
        [('p0+0', ['bad0', 'bad1']), ('p2+1', ['bad2', 'bad3'])]
    """
    if rejected_per_row < 1:
        raise ValueError("rejected_per_row must be at least 1")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for position, row in enumerate(rows):
        for name in ("chosen", "rejected"):
            if not isinstance(row.get(name), str):
                raise ValueError(
                    f"row {position} (id {row.get('id')!r}): field {name!r} must be text"
                )
        key = (str(row.get("prompt", "")), row["chosen"])
        groups.setdefault(key, []).append(row)
    out = []
    for members in groups.values():
        for block in range(len(members) // rejected_per_row):
            part = members[block * rejected_per_row : (block + 1) * rejected_per_row]
            first = part[0]
            out.append(
                {
                    "id": f"{first.get('id', 'row')}+{block}",
                    "subset": first.get("subset", "all"),
                    "prompt": first.get("prompt", ""),
                    "chosen": [first["chosen"]],
                    "rejected": [row["rejected"] for row in part],
                    "num_correct": 1,
                }
            )
    return out

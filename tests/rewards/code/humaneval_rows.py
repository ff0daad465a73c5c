"""HumanEval rows for the code reward, built as shared/data/code/README.md says."""

from __future__ import annotations

import gzip
import json
from typing import Any

import rewardsmith
from shared_data import shared_path

DATA = shared_path("code", "HumanEval.jsonl.gz")

BROKEN_BODIES = {
    "return_none": "    return None\n",
    "not_implemented": "    raise NotImplementedError\n",
    "sys_exit": "    import sys; sys.exit(0)\n",
}


def problems() -> list[dict[str, Any]]:
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def sample(problem: dict[str, Any], body: str | None = None) -> rewardsmith.Sample:
    """The row for one problem; ``body`` replaces the canonical solution."""
    program = problem["prompt"] + (problem["canonical_solution"] if body is None else body)
    return rewardsmith.Sample(
        id=problem["task_id"],
        completion=f"```python\n{program}\n```",
        reference={"asserts": problem["test"] + "\ncheck(" + problem["entry_point"] + ")"},
    )

"""Honest programs that CPython runs correctly score 1.0 (tests/rewards/code/honest_programs.jsonl).

Each row is a program a careful person would accept (``exit()`` after the answer, a thread it
never joins, output from an atexit handler, a closed stdout, a 5,736-digit integer returned,
a ``Fraction`` or ``Decimal`` where a float is expected...), with stdio, call-based or assert
tests. A sandbox that scores one of them 0 punishes correct code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewardsmith import Sample
from rewardsmith.rewards.code import code
from rewardsmith.sandbox import default_sandbox

ROWS = [
    json.loads(line)
    for line in (Path(__file__).parent / "honest_programs.jsonl").read_text().splitlines()
]


def test_the_set_covers_every_kind():
    kinds = {row["kind"] for row in ROWS}
    assert len(ROWS) >= 30 and kinds == {"stdio", "call", "asserts"}
    assert all(row["label"] == "honest" for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row["id"] for row in ROWS])
def test_honest_program_scores_one(row: dict):
    refusal = default_sandbox().refusal()
    if refusal is not None:
        pytest.skip(refusal)
    score = code(Sample(id=row["id"], completion=row["completion"], reference=row["reference"]))
    assert (score.status, score.value) == ("ok", 1.0), (score.reason, score.info)

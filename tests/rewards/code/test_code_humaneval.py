"""HumanEval through the code reward: canonical solutions score 1.0, broken bodies score 0.

HumanEval counts a problem as solved only when every assert holds, so the broken variants are
scored with ``mode="all"``; in the default ``fraction`` mode a ``return None`` body legitimately
earns credit on the few asserts that expect ``None`` or a falsy value, and that is checked too.
"""

from __future__ import annotations

import pytest
from humaneval_rows import BROKEN_BODIES, DATA, problems, sample

from rewardsmith.rewards.code import code, parse_reference

pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} not found")

ALL = problems() if DATA.exists() else []
SUBSET = ALL[::8][:20]


@pytest.mark.parametrize("problem", SUBSET, ids=lambda p: p["task_id"])
def test_canonical_solution_scores_one(problem):
    score = code(sample(problem))
    assert (score.status, score.value) == ("ok", 1.0), score.info


@pytest.mark.parametrize("variant", sorted(BROKEN_BODIES))
@pytest.mark.parametrize("problem", SUBSET, ids=lambda p: p["task_id"])
def test_broken_body_scores_zero(problem, variant):
    score = code(sample(problem, BROKEN_BODIES[variant]), mode="all")
    assert (score.status, score.value) == ("ok", 0.0), score.info


def test_all_164_canonical_solutions_score_one():
    assert len(ALL) == 164
    failures = [
        (p["task_id"], s.status, s.info) for p in ALL if (s := code(sample(p))).value != 1.0
    ]
    assert failures == []


@pytest.mark.parametrize("variant", sorted(BROKEN_BODIES))
def test_all_164_broken_variants_score_zero(variant):
    failures = []
    for problem in ALL:
        score = code(sample(problem, BROKEN_BODIES[variant]), mode="all")
        if (score.status, score.value) != ("ok", 0.0):
            failures.append((problem["task_id"], score.status, score.value))
    assert failures == []


# The problems where some asserts expect None or a falsy value from `return None`.
PARTIAL_FOR_NONE = {12, 52, 56, 61, 90, 128, 137, 162}


def test_fraction_mode_gives_return_none_only_the_asserts_it_satisfies():
    for problem in SUBSET + [ALL[i] for i in sorted(PARTIAL_FOR_NONE)]:
        score = code(sample(problem, BROKEN_BODIES["return_none"]))
        assert score.value < 1.0, problem["task_id"]
        number = int(problem["task_id"].split("/")[1])
        assert (score.value > 0.0) == (number in PARTIAL_FOR_NONE), problem["task_id"]
    for variant in ("not_implemented", "sys_exit"):
        for problem in SUBSET:
            assert code(sample(problem, BROKEN_BODIES[variant])).value == 0.0


def test_most_asserts_become_independent_calls():
    parsed = [parse_reference(sample(p).reference) for p in ALL]
    calls = sum(len(p.calls) for p in parsed)
    residual = sum(p.residual is not None for p in parsed)
    assert calls > 1000 and residual < 20, (calls, residual)

from __future__ import annotations

import pytest

from rewardsmith import RewardFailedError, Score, load_spec
from rewardsmith.shaping.combine import combine_terms


def _spec(on_status: dict[str, str] | None = None, gate: bool = False) -> object:
    terms = [
        {"name": "correct", "use": "exact_match", "weight": 1.0},
        {"name": "fmt", "use": "exact_match", "weight": 0.5},
    ]
    if gate:
        terms[0]["gate"] = "fmt"
    return load_spec({"terms": terms, "on_status": on_status or {}})


def test_weighted_sum_with_components() -> None:
    score = combine_terms(
        _spec(), {"correct": Score(value=1.0), "fmt": Score(value=0.5)}, row_id="r"
    )
    assert score.value == pytest.approx(1.25)
    assert score.components == {"correct": 1.0, "fmt": 0.5}
    assert score.status == "ok"


def test_gate_zeroes_the_gated_term_when_the_gate_fails() -> None:
    spec = _spec(gate=True)
    failed = combine_terms(spec, {"correct": Score(value=1.0), "fmt": Score(value=0.0)}, row_id="r")
    assert failed.value == 0.0
    assert failed.info["terms"]["correct"]["gated_by"] == "fmt"
    passed = combine_terms(spec, {"correct": Score(value=1.0), "fmt": Score(value=1.0)}, row_id="r")
    assert passed.value == 1.5


@pytest.mark.parametrize(
    ("action", "expected"), [("zero", 0.5), ("mask", None), ("penalty:-2", -1.5)]
)
def test_status_policy_decides_what_training_sees(action: str, expected: float | None) -> None:
    spec = _spec({"timeout": action})
    score = combine_terms(
        spec, {"correct": Score.fail("timeout", "too slow"), "fmt": Score(value=1.0)}, row_id="r"
    )
    assert score.value == expected
    assert score.status == "timeout"
    assert "correct: timeout: too slow" in score.reason


def test_raise_policy_names_row_and_term() -> None:
    spec = _spec({"error": "raise"})
    with pytest.raises(RewardFailedError, match=r"row 'r7', term 'fmt': error: boom"):
        combine_terms(
            spec, {"correct": Score(value=1.0), "fmt": Score.fail("error", "boom")}, row_id="r7"
        )


def test_not_applicable_terms_are_left_out_and_a_row_with_none_is_masked() -> None:
    spec = _spec()
    one = combine_terms(
        spec, {"correct": Score(value=1.0), "fmt": Score(status="not_applicable")}, row_id="r"
    )
    assert one.value == 1.0
    assert one.components == {"correct": 1.0}
    none = combine_terms(
        spec,
        {"correct": Score(status="not_applicable"), "fmt": Score(status="not_applicable")},
        row_id="r",
    )
    assert none.status == "not_applicable"
    assert none.value is None

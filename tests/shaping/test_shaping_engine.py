"""The shaping keys of a spec, end to end through the engine (inline rewards, no workers)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import shaping_rewards  # noqa: F401 - registers test_shaping.field

import rewardsmith
from rewardsmith import Engine, SpecError, load_spec
from rewardsmith.shaping import Shaper

ROOT = Path(__file__).resolve().parents[2]


def _term(name: str, **extra: object) -> dict[str, object]:
    return {"name": name, "use": "test_shaping.field", "params": {"name": name}, **extra}


def _score(rows: list[dict[str, object]], spec: dict[str, object], engine: Engine | None = None):  # type: ignore[no-untyped-def]
    return rewardsmith.score(rows, spec, engine=engine, workers=1)


def test_transforms_clip_gates_and_weights_in_order() -> None:
    spec = {
        "terms": [
            _term(
                "rm",
                transform=[{"kind": "affine", "scale": 2.0}, {"kind": "tanh"}],
                weight=0.5,
                gate="fmt",
            ),
            _term("fmt", clip=[0, 0.5]),
        ]
    }
    batch = _score(
        [{"completion": "", "rm": 1.0, "fmt": 1.0}, {"completion": "", "rm": 1.0, "fmt": 0.0}], spec
    )
    # gate looks at fmt's own value (1.0 >= 1), not its clipped one (0.5)
    assert batch[0].value == pytest.approx(0.5 * math.tanh(2.0) + 0.5)
    assert batch[0].components == pytest.approx({"rm": math.tanh(2.0), "fmt": 0.5})
    assert batch[1].value == 0.0
    assert batch[1].info["terms"]["rm"]["gated_by"] == "fmt"


def test_formula_combine() -> None:
    spec = {
        "terms": [_term("a"), _term("b"), _term("c", when="t1")],
        "combine": "formula",
        "formula": "min(a, b) + 0.5 * log(b)",
    }
    batch = _score(
        [{"completion": "", "a": 3.0, "b": 2.0}, {"completion": "", "a": 1.0, "b": 0.0}], spec
    )
    assert batch[0].value == pytest.approx(2.0 + 0.5 * math.log(2.0))
    assert batch[1].status == "error" and batch[1].value is None  # log(0): error -> mask
    assert "formula: log of 0.0" in batch[1].reason
    needs_c = dict(spec, formula="a + c")
    missing = _score([{"completion": "", "a": 1.0, "b": 1.0, "task": "t2"}], needs_c)
    assert missing[0].status == "not_applicable" and missing[0].value is None


def test_ensembles_pool_members_and_replace_them_in_the_sum() -> None:
    spec = {
        "terms": [_term("rm1"), _term("rm2"), _term("rm3"), _term("fmt", weight=0.1)],
        "ensembles": [
            {
                "name": "rm",
                "terms": ["rm1", "rm2", "rm3"],
                "method": "mean_minus_std",
                "lam": 1.0,
                "weight": 2.0,
            }
        ],
    }
    batch = _score([{"completion": "", "rm1": 1.0, "rm2": 2.0, "rm3": 3.0, "fmt": 1.0}], spec)
    pooled = 2.0 - math.sqrt(2 / 3)
    assert batch[0].components["rm"] == pytest.approx(pooled)
    assert batch[0].value == pytest.approx(2.0 * pooled + 0.1)


def test_credit_turns_steps_into_the_term_value() -> None:
    spec = {
        "terms": [
            _term("prm", credit={"method": "min"}),
            _term("soft", credit={"method": "pure", "temperature": 0.1}),
        ]
    }
    batch = _score([{"completion": "", "prm": [0.9, 0.1, 0.8], "soft": [0.5, 0.5]}], spec)
    assert batch[0].components == pytest.approx({"prm": 0.1, "soft": 0.5})
    no_steps = _score([{"completion": "", "prm": 0.4, "soft": [1.0]}], spec)
    assert no_steps[0].status == "error" and "needs info['steps']" in no_steps[0].reason


def test_grpo_advantages_exclude_masked_rows_and_sit_beside_rewards() -> None:
    spec = {"terms": [_term("r")], "normalize": {"method": "dr_grpo"}}
    rows = [
        {"completion": "", "group": "g", "r": 3.0},
        {"completion": "", "group": "g", "r": 1.0},
        {"completion": "", "group": "g", "r": "error"},  # masked: left out of the mean
        {"completion": "", "group": "h", "r": 5.0},  # a group of one
        {"completion": "", "group": "k", "r": 2.0},
        {"completion": "", "group": "k", "r": 2.0},  # all equal
    ]
    batch = _score(rows, spec)
    assert [s.value for s in batch] == [3.0, 1.0, None, 5.0, 2.0, 2.0]  # rewards untouched
    assert batch.advantages == [1.0, -1.0, None, 0.0, 0.0, 0.0]
    assert batch[0].info["advantage"] == 1.0 and "advantage" not in batch[2].info
    assert batch.normalization is not None
    assert batch.normalization["zero_variance_groups"] == ["k"]
    assert batch.normalization["singleton_groups"] == 1
    assert batch[4].info["zero_variance_group"] is True


def test_gdpo_from_the_spec_uses_weights_and_reports_flat_components() -> None:
    spec = {
        "terms": [_term("correct"), _term("fmt", weight=0.5)],
        "normalize": {"method": "gdpo", "eps": 1e-9, "batch_normalize": False},
    }
    rows = [
        {"completion": "", "group": "g", "correct": 1.0, "fmt": 1.0},
        {"completion": "", "group": "g", "correct": 0.0, "fmt": 1.0},
    ]
    batch = _score(rows, spec)
    one = 1 / math.sqrt(2)
    assert batch.advantages == pytest.approx([one, -one])  # fmt is flat: contributes 0
    assert batch.normalization["flat_components"] == {"fmt": 1}  # type: ignore[index]


def test_lexicographic_combine_within_groups() -> None:
    spec = {
        "terms": [_term("safe"), _term("helpful")],
        "combine": "lexicographic",
        "lexicographic": {"order": ["safe", "helpful"], "margins": [0.1, 0.0]},
    }
    rows = [
        {"completion": "", "group": "g", "safe": 1.0, "helpful": 0.2},
        {"completion": "", "group": "g", "safe": 0.95, "helpful": 0.9},
        {"completion": "", "group": "g", "safe": 0.0, "helpful": 1.0},
        {"completion": "", "group": "h", "safe": 0.0, "helpful": 0.0},
    ]
    assert [s.value for s in _score(rows, spec)] == [0.5, 1.0, 0.0, 0.5]


def test_unlikeliness_from_the_spec_needs_the_logprob_field() -> None:
    spec = {"terms": [_term("r")], "unlikeliness": {"beta": 0.5, "logprob_field": "lp"}}
    rows = [
        {"completion": "", "group": "g", "r": 1.0, "lp": -0.1},
        {"completion": "", "group": "g", "r": 1.0, "lp": -2.0},
        {"completion": "", "group": "h", "r": 1.0},
    ]
    batch = _score(rows, spec)
    assert batch[0].value == pytest.approx(1 - 0.5 * 1 / 2)
    assert batch[1].value == 1.0
    assert batch[2].status == "error" and batch[2].value is None and "'lp'" in batch[2].reason


def test_running_transform_state_lives_on_the_engine_and_restores() -> None:
    spec = load_spec({"terms": [_term("rm", transform={"kind": "zscore"})]})
    rows = [{"completion": "", "rm": v} for v in (1.0, 3.0)]
    with Engine(workers=1) as engine:
        first = engine.score(rows, spec)
        assert [round(s.value, 6) for s in first] == [-1.0, 1.0]  # type: ignore[arg-type]
        second = engine.score([{"completion": "", "rm": 3.0}], spec)
        # statistics of (1, 3, 3): mean 7/3, var 8/9
        assert second[0].value == pytest.approx((3 - 7 / 3) / math.sqrt(8 / 9))
        saved = engine.shaper(spec).state_dict()
    with Engine(workers=1) as fresh:
        unrestored = fresh.score(
            [{"completion": "", "rm": 3.0}],
            load_spec({"terms": [_term("rm", transform={"kind": "zscore"}, weight=1.0)]}),
        )
        assert unrestored[0].value == 0.0  # a first batch of one is its own mean
    with Engine(workers=1) as fresh:
        fresh.shaper(spec).load_state_dict(saved)
        again = fresh.score([{"completion": "", "rm": 3.0}], spec)
        # statistics of (1, 3, 3, 3): mean 2.5, var 0.75
        assert again[0].value == pytest.approx((3 - 2.5) / math.sqrt(0.75))
    with pytest.raises(ValueError, match="no matching entry"):
        Shaper(load_spec({"terms": [_term("other")]})).load_state_dict(saved)


def test_transform_failure_is_a_status_not_a_number() -> None:
    spec = {"terms": [_term("rm", transform={"kind": "par", "ref_field": "refs"})]}
    batch = _score(
        [{"completion": "", "rm": 1.0, "refs": [1.0]}, {"completion": "", "rm": 1.0}], spec
    )
    assert batch[0].value == 0.5
    assert batch[1].status == "error" and batch[1].value is None
    assert "no field 'refs'" in batch[1].reason


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"terms": [_term("a")], "combine": "formula"}, "needs a formula"),
        ({"terms": [_term("a")], "combine": "formula", "formula": "a + bb"}, "unknown name 'bb'"),
        ({"terms": [_term("a")], "formula": "a"}, 'add combine = "formula"'),
        ({"terms": [_term("a")], "combine": "formula", "formula": "a.b"}, "attribute access"),
        (
            {"terms": [_term("a"), _term("b")], "ensembles": [{"name": "e", "terms": ["a", "c"]}]},
            "no term named 'c'",
        ),
        (
            {"terms": [_term("a"), _term("b")], "ensembles": [{"name": "a", "terms": ["a", "b"]}]},
            "already a term",
        ),
        (
            {
                "terms": [_term("a")],
                "combine": "formula",
                "formula": "a",
                "normalize": {"method": "gdpo"},
            },
            'needs combine = "sum"',
        ),
        ({"terms": [_term("a")], "normalize": {"method": "pass_at_k"}}, "needs k"),
        ({"terms": [_term("a")], "normalize": {"method": "grpo", "k": 2}}, "k applies to"),
        (
            {"terms": [_term("a", transform={"kind": "clip", "hgh": 1})]},
            "unknown key 'hgh'; did you mean 'high'",
        ),
        ({"terms": [_term("a", clip=[1, 0])]}, "low <= high"),
        ({"terms": [_term("a")], "normalise": {"method": "grpo"}}, "did you mean 'normalize'"),
        (
            {"terms": [_term("a")], "combine": "lexicographic", "lexicographic": {"order": ["z"]}},
            "no term or ensemble named 'z'",
        ),
    ],
)
def test_bad_shaping_keys_fail_before_scoring(spec: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_spec(spec)


def test_old_specs_keep_their_hash() -> None:
    # Computed with the spec code before the shaping keys existed (commit 8cf0800).
    spec = rewardsmith.Spec.model_validate(
        {
            "name": "h",
            "terms": [
                {"name": "a", "use": "exact_match", "weight": 0.5, "gate": "b"},
                {"name": "b", "use": "exact_match", "when": ["x"]},
            ],
            "on_status": {"timeout": "penalty:-1"},
        }
    )
    assert spec.content_hash() == "a98fd8011ee7f80f"
    shaped = spec.model_copy(update={"combine": "formula", "formula": "a"})
    assert shaped.content_hash() != spec.content_hash()


def test_the_grpo_example_spec_scores_its_rows() -> None:
    batch = rewardsmith.score(
        ROOT / "examples" / "grpo.jsonl", ROOT / "examples" / "grpo.toml", workers=1
    )
    assert batch.advantages is not None and len(batch.advantages) == len(batch)
    assert batch.normalization is not None and batch.normalization["method"] == "gdpo"
    # a correct, well-formatted, short answer beats every other sample of its group
    first_group = [i for i, row_id in enumerate(batch.ids) if row_id.startswith("g0-")]
    best = max(first_group, key=lambda i: batch.advantages[i])  # type: ignore[arg-type,index,return-value]
    assert batch.ids[best] == "g0-a"


def test_hybrid_step_advantages_from_the_spec() -> None:
    spec = {
        "terms": [_term("outcome"), _term("prm", weight=0.0)],
        "normalize": {"method": "rloo", "process": "prm"},
    }
    rows = [
        {"completion": "", "group": "g", "outcome": 1.0, "prm": [0.5, 1.0]},
        {"completion": "", "group": "g", "outcome": 0.0, "prm": [0.0]},
        {"completion": "", "group": "g", "outcome": "error", "prm": [1.0]},  # masked: left out
    ]
    batch = _score(rows, spec)
    assert batch[0].info["step_advantages"] == pytest.approx([1.0 + 1.5, 1.0 + 1.0])
    assert batch[1].info["step_advantages"] == pytest.approx([-1.0 - 0.75])
    assert "step_advantages" not in batch[2].info
    with pytest.raises(SpecError, match=r"normalize\.process: no term named 'prn'"):
        load_spec(dict(spec, normalize={"method": "rloo", "process": "prn"}))


FULL_TOML = """
name = "everything"
combine = "formula"
formula = "min(rm, 2) + 0.1 * steps - (fmt < 1)"

[[terms]]
name = "rm_a"
use = "test_shaping.field"
params = { name = "rm_a" }
transform = [{ kind = "ceiling", high = 5 }, { kind = "affine", scale = 0.5 }]

[[terms]]
name = "rm_b"
use = "test_shaping.field"
params = { name = "rm_b" }
clip = [-1, 3]

[[terms]]
name = "steps"
use = "test_shaping.field"
params = { name = "steps" }
credit = { method = "min" }

[[terms]]
name = "fmt"
use = "test_shaping.field"
params = { name = "fmt" }

[[ensembles]]
name = "rm"
terms = ["rm_a", "rm_b"]
method = "min"

[unlikeliness]
beta = 0.5
logprob_field = "lp"

[normalize]
method = "rloo"
"""


def test_a_toml_spec_with_every_shaping_table(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(FULL_TOML)
    spec = load_spec(path)
    assert spec.terms[1].clip == (-1.0, 3.0)
    rows = [
        {
            "completion": "",
            "group": "g",
            "rm_a": 10.0,
            "rm_b": 7.0,
            "steps": [0.5, 0.2],
            "fmt": 1,
            "lp": -1.0,
        },
        {
            "completion": "",
            "group": "g",
            "rm_a": 2.0,
            "rm_b": 0.5,
            "steps": [0.0],
            "fmt": 0,
            "lp": -2.0,
        },
    ]
    batch = _score(rows, spec)
    # row 0: rm = min(min(10, 5) * 0.5, clip(7) = 3) = 2.5 -> min(2.5, 2) + 0.02 - 0 = 2.02,
    #        then the more likely of two: 2.02 * (1 - 0.5 * 1/2)
    # row 1: rm = min(1.0, 0.5) = 0.5 -> 0.5 + 0 - 1 = -0.5, least likely: unchanged
    assert [s.value for s in batch] == pytest.approx([2.02 * 0.75, -0.5])
    assert batch.advantages == pytest.approx([2.02 * 0.75 + 0.5, -0.5 - 2.02 * 0.75])
    path.write_text(FULL_TOML.replace("high = 5", "hihg = 5"))
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(path) in str(error.value)
    assert "terms[0] ('rm_a').transform[0].hihg: unknown key 'hihg'; did you mean 'high'" in str(
        error.value
    )

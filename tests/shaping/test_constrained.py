"""combine = "constrained": Lagrange multipliers from batch means (Constrained RLHF)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import shaping_rewards  # noqa: F401 - registers test_shaping.field

import rewardsmith
from rewardsmith import Engine, Score, SpecError, load_spec
from rewardsmith.shaping import Shaper


def _term(name: str, **extra: object) -> dict[str, object]:
    return {"name": name, "use": "test_shaping.field", "params": {"name": name}, **extra}


def _spec(
    *, relation: str = ">=", lr: float = 0.5, threshold: float = 0.5, **table: object
) -> dict[str, object]:
    constraint: dict[str, object] = {"term": "proxy", "threshold": threshold, "relation": relation}
    return {
        "terms": [_term("quality"), _term("proxy")],
        "combine": "constrained",
        "constrained": {"objective": "quality", "lr": lr, "constraints": [constraint], **table},
    }


def _batch(pairs: list[tuple[float, float]]) -> list[dict[str, Score]]:
    return [{"quality": Score(value=q), "proxy": Score(value=p)} for q, p in pairs]


def test_lagrangian_reward_and_update_rule_by_hand() -> None:
    shaper = Shaper(load_spec(_spec(lr=0.5)))
    first, record = shaper.combine_with_report(_batch([(1.0, 0.0), (0.0, 0.2)]))
    # λ = 0 before the first batch: the reward is the objective alone.
    assert [s.value for s in first] == [1.0, 0.0]
    assert record is not None
    assert record["multipliers"] == {"proxy": 0.0}
    assert record["means"]["proxy"] == pytest.approx(0.1)
    assert record["violations"]["proxy"] == pytest.approx(0.4)  # θ − mean
    assert record["updated"]["proxy"] == pytest.approx(0.2)  # 0 + 0.5 · 0.4
    second = shaper.combine(_batch([(1.0, 0.0), (1.0, 1.5)]))
    # r = q + λ (p − θ) with λ = 0.2
    assert [s.value for s in second] == pytest.approx([1.0 - 0.1, 1.0 + 0.2])
    assert second[0].info["multipliers"] == {"proxy": pytest.approx(0.2)}
    # mean 0.75 ≥ θ: λ ← max(0, 0.2 + 0.5·(0.5 − 0.75)) = 0.075
    assert shaper.last_constraints is not None
    assert shaper.last_constraints["updated"]["proxy"] == pytest.approx(0.075)
    assert shaper.state_dict()["constrained"] == {
        "multipliers": {"proxy": pytest.approx(0.075)},
        "steps": 2,
    }


def test_bounds_clip_the_multiplier_and_masked_rows_are_left_out() -> None:
    spec = _spec(lr=10.0)
    spec["constrained"]["constraints"][0]["bounds"] = [0.0, 1.5]  # type: ignore[index]
    shaper = Shaper(load_spec(spec))
    batch = [
        *_batch([(0.0, 0.0)]),
        {"quality": Score(value=1.0), "proxy": Score.fail("error", "x")},
    ]
    scores, record = shaper.combine_with_report(batch)
    assert scores[1].value is None  # error -> mask, by the default policy
    assert record is not None and record["means"] == {"proxy": 0.0}  # the masked row is not a 0
    assert record["updated"] == {"proxy": 1.5}  # 0 + 10·0.5 clipped to the bound


def test_equality_constraint_penalises_overshoot() -> None:
    shaper = Shaper(load_spec(_spec(relation="=", lr=1.0)))
    shaper.combine(_batch([(0.0, 2.0), (0.0, 2.0)]))  # mean 2.0 > θ = 0.5: λ ← −1.5
    scores = shaper.combine(_batch([(1.0, 0.5), (1.0, 2.5)]))
    assert scores[0].value == pytest.approx(1.0)
    assert scores[1].value == pytest.approx(1.0 - 1.5 * 2.0)  # more proxy, less reward
    with pytest.raises(SpecError, match="cannot be negative"):
        spec = _spec()
        spec["constrained"]["constraints"][0]["bounds"] = [-1.0, 1.0]  # type: ignore[index]
        load_spec(spec)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"combine": "sum"}, 'add combine = "constrained"'),
        ({"constrained": None}, "needs a \\[constrained\\] table"),
        (
            {
                "constrained": {
                    "objective": "qualty",
                    "constraints": [{"term": "proxy", "threshold": 0}],
                }
            },
            "did you mean 'quality'",
        ),
        (
            {
                "constrained": {
                    "objective": "quality",
                    "constraints": [{"term": "quality", "threshold": 0}],
                }
            },
            "objective cannot also be a constraint",
        ),
        (
            {"terms": [_term("quality", weight=2.0), _term("proxy")]},
            "weights do not apply",
        ),
        (
            {
                "constrained": {
                    "objective": "quality",
                    "constraints": [{"term": "proxy", "threshold": 0, "initial": -1}],
                }
            },
            "outside the multiplier's bounds",
        ),
    ],
)
def test_bad_constrained_specs_fail_before_scoring(change: dict[str, object], message: str) -> None:
    spec = {**_spec(), **change}
    if spec.get("constrained") is None:
        spec.pop("constrained")
    with pytest.raises(SpecError, match=message):
        load_spec(spec)


def test_other_specs_keep_their_hash_and_state_layout() -> None:
    plain = {"terms": [_term("quality"), _term("proxy")]}
    assert "constrained" not in Shaper(load_spec(plain)).state_dict()
    constrained = load_spec(_spec())
    assert constrained.content_hash() != load_spec(plain).content_hash()
    assert load_spec(_spec(lr=0.25)).content_hash() != constrained.content_hash()


def test_engine_exposes_the_record_and_multipliers_restore_with_the_shaper_state() -> None:
    spec = load_spec(_spec(lr=1.0))
    rows = [{"completion": "", "quality": 1.0, "proxy": 0.0} for _ in range(2)]
    with Engine(workers=1) as engine:
        first = engine.score(rows, spec)
        assert first.constraints is not None
        assert first.constraints["multipliers"] == {"proxy": 0.0}
        assert first.constraints["updated"] == {"proxy": pytest.approx(0.5)}
        second = engine.score(rows, spec)
        assert second.constraints is not None
        assert second.constraints["multipliers"] == {"proxy": pytest.approx(0.5)}
        assert second[0].value == pytest.approx(1.0 + 0.5 * (0.0 - 0.5))
        saved = engine.shaper(spec).state_dict()
    with Engine(workers=1) as fresh:
        assert fresh.score(rows, spec)[0].value == 1.0  # a fresh shaper starts from λ = 0
    with Engine(workers=1) as fresh:
        fresh.shaper(spec).load_state_dict(saved)
        resumed = fresh.score(rows, spec)
        assert resumed.constraints is not None
        assert resumed.constraints["multipliers"] == {"proxy": pytest.approx(1.0)}
        assert resumed.constraints["step"] == 3
    broken = {**saved, "constrained": {"multipliers": {"other": 1.0}}}
    shaper = Shaper(spec)
    with pytest.raises(ValueError, match="do not match"):
        shaper.load_state_dict(broken)
    with pytest.raises(ValueError, match="no 'constrained'"):
        shaper.load_state_dict({k: v for k, v in saved.items() if k != "constrained"})
    assert rewardsmith.score(rows, {"terms": [_term("quality")]}).constraints is None


def test_inflation_after_the_threshold_is_no_longer_paid() -> None:
    """A proxy inflated on a fixed schedule: λ rises while it is below θ, returns to 0 once it
    is above, and from then on the reward is the objective, whatever the proxy says."""
    for seed in range(5):
        rng = random.Random(seed)
        shaper = Shaper(load_spec(_spec(lr=0.2)))
        records = []
        for step in range(60):
            level = -0.5 + 0.05 * step  # below θ = 0.5 until step 20, then keeps rising
            pairs = [(rng.gauss(1.0, 0.1), level + rng.gauss(0, 0.1)) for _ in range(16)]
            scores, record = shaper.combine_with_report(_batch(pairs))
            assert record is not None
            records.append((record, pairs, scores))
        for record, _, _ in records:
            if record["violations"]["proxy"] > 0:
                assert record["updated"]["proxy"] > record["multipliers"]["proxy"]
        assert max(r["updated"]["proxy"] for r, _, _ in records) > 1.0
        record, pairs, scores = records[-1]
        assert record["multipliers"]["proxy"] == 0.0
        assert [s.value for s in scores] == [q for q, _ in pairs]


ACTIONS = {"lazy": (1.0, 0.2), "good": (0.8, 0.7), "hack": (-0.5, 2.5)}
"""Per action: (true quality, proxy reward). Hacking inflates the proxy and hurts quality."""


def _policy_run(
    seed: int, combine: str
) -> tuple[list[float], list[float], list[dict[str, object]]]:
    """REINFORCE on a 3-action softmax policy, rewarded through the spec's combine."""
    rng = random.Random(seed)
    spec = (
        _spec(lr=0.05)
        if combine == "constrained"
        else {"terms": [_term("quality"), _term("proxy")]}
    )
    shaper = Shaper(load_spec(spec))
    logits = {"lazy": 2.0, "good": 0.0, "hack": 0.0}
    hack, proxy, records = [], [], []
    for _ in range(300):
        norm = sum(math.exp(v) for v in logits.values())
        probs = {k: math.exp(v) / norm for k, v in logits.items()}
        hack.append(probs["hack"])
        actions = rng.choices(list(probs), weights=list(probs.values()), k=32)
        pairs = [
            (ACTIONS[a][0] + rng.gauss(0, 0.1), ACTIONS[a][1] + rng.gauss(0, 0.1)) for a in actions
        ]
        proxy.append(sum(p for _, p in pairs) / len(pairs))
        scores, record = shaper.combine_with_report(_batch(pairs))
        if record is not None:
            records.append(record)
        rewards = [float(s.value) for s in scores]  # type: ignore[arg-type]
        baseline = sum(rewards) / len(rewards)
        for name in logits:
            grad = sum(
                (r - baseline) * ((a == name) - probs[name])
                for a, r in zip(actions, rewards, strict=True)
            )
            logits[name] += grad / len(actions)
    return hack, proxy, records


@pytest.mark.parametrize("seed", range(5))
def test_policy_learns_to_hack_a_sum_but_not_a_constrained_combination(seed: int) -> None:
    hack, proxy, _ = _policy_run(seed, "sum")
    assert sum(hack[-100:]) / 100 > 0.9 and sum(proxy[-100:]) / 100 > 2.0
    hack, proxy, records = _policy_run(seed, "constrained")
    # The multiplier rose whenever the constraint was violated (it started lazy: proxy 0.2).
    violated = [r for r in records if r["violations"]["proxy"] > 0]  # type: ignore[index]
    assert len(violated) >= 20
    assert all(r["updated"]["proxy"] > r["multipliers"]["proxy"] for r in violated)  # type: ignore[index]
    # ... and the policy ends near the threshold without hacking.
    assert sum(hack[-100:]) / 100 < 0.1
    assert 0.2 < sum(proxy[-100:]) / 100 < 1.0


def test_bundled_example_steps_its_multiplier_per_batch() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    spec = load_spec(examples / "constrained.toml")
    with Engine(workers=1) as engine:
        first = rewardsmith.score(examples / "qa.jsonl", spec, engine=engine)
        second = rewardsmith.score(examples / "qa.jsonl", spec, engine=engine)
    assert first.constraints is not None and second.constraints is not None
    mean = first.constraints["means"]["format"]
    assert mean < 0.9  # the example's rows break the format often enough to violate it
    multiplier = min(0.5 * (0.9 - mean), 5.0)
    assert second.constraints["multipliers"]["format"] == pytest.approx(multiplier)
    for before, after in zip(first, second, strict=True):
        if before.value is None:
            continue
        fmt = after.components["format"]
        objective = before.value  # λ = 0 on the first batch: the objective alone
        assert after.value == pytest.approx(objective + multiplier * (fmt - 0.9))


def test_file_scoring_logs_each_chunks_multipliers_in_the_run_log(tmp_path: Path) -> None:
    from rewardsmith.engine.files import score_file
    from rewardsmith.io.runlog import RunLog

    examples = Path(__file__).resolve().parents[2] / "examples"
    spec = load_spec(examples / "constrained.toml")
    with Engine(workers=1) as engine:
        score_file(
            examples / "qa.jsonl",
            spec,
            output=tmp_path / "out.jsonl",
            chunk_size=10,
            log_dir=tmp_path / "runs",
            engine=engine,
        )
    logged = RunLog(tmp_path / "runs").latest().logged_rows()
    used = [logged[i].score.info["multipliers"]["format"] for i in sorted(logged)]
    assert len(used) == 20
    # One value per chunk (chunks end on group boundaries, so their sizes vary): contiguous runs,
    # the first scored before any update, later ones with the stepped multiplier.
    runs = [value for i, value in enumerate(used) if i == 0 or value != used[i - 1]]
    assert len(runs) >= 2 and len(set(runs)) == len(runs)
    assert runs[0] == 0.0 and runs[1] > 0.0

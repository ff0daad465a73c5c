"""End to end on real data: MiniLM embeddings of AlpacaEval pairs, heads, save/load, the ``rm``
spec term and the ``rewardsmith rm`` commands. 200 pairs, 96 tokens, embedded once per session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rm_helpers import ENCODER, MAX_LENGTH, PAIRS_FILE, needs_encoder, needs_pairs, train_small
from typer.testing import CliRunner

import rewardsmith

pytestmark = [needs_encoder, needs_pairs]


def test_held_out_accuracy_on_models_not_trained_on(trained) -> None:
    _, report, _ = trained
    held = report["heldout"]
    assert held["n"] >= 40
    # 150 training pairs and 96 tokens: far from the full run (docs/models.md), but a head that
    # learned nothing would sit at 0.5.
    assert held["accuracy"] > 0.6
    assert set(held["by_subset"]) == {"alpaca-eval"}
    assert report["train"]["accuracy"] > held["accuracy"] - 0.05
    assert len(held["per_head_accuracy"]) == 3


def test_swapped_labels_learn_the_opposite(split_pairs, embedding_cache_path) -> None:
    from dataclasses import replace

    from rewardsmith.models.bt.train import TrainConfig

    train, test = split_pairs
    swapped = [replace(p, chosen=p.rejected, rejected=p.chosen) for p in train]
    _, report = train_small(swapped, TrainConfig(epochs=30, hidden=64), test, embedding_cache_path)
    assert report["heldout"]["accuracy"] < 0.4
    # Every embedding came from the session's cache: no encoder call.
    assert report["embeddings_computed"] == 0 and report["embeddings_cached"] > 0


def test_a_saved_model_loads_and_scores_the_same(trained, embedding_cache_path) -> None:
    from rewardsmith.models.bt.model import load_reward_model

    model, _, directory = trained
    loaded = load_reward_model(directory, cache=embedding_cache_path)
    prompts, responses = ["Say hi", "Add 2 and 2"], ["Hi!", "2 + 2 = 4."]
    np.testing.assert_allclose(
        loaded.score(prompts, responses), model.score(prompts, responses), rtol=1e-5
    )
    manifest = json.loads((directory / "rewardsmith_rm.json").read_text())
    assert manifest["encoder"] == ENCODER and manifest["heads"] == 3
    assert manifest["report"]["heldout"]["n"] > 0


def test_loading_refuses_a_different_encoder(trained, tmp_path: Path) -> None:
    import shutil

    from rewardsmith.models.bt.model import load_reward_model

    _, _, directory = trained
    copy = tmp_path / "copy"
    shutil.copytree(directory, copy)
    manifest = json.loads((copy / "rewardsmith_rm.json").read_text())
    manifest["encoder_fingerprint"] = "0" * 24
    (copy / "rewardsmith_rm.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="not the one the heads were trained on"):
        load_reward_model(copy, cache=False)


def spec(directory: Path, cache: Path, **params: Any) -> dict[str, Any]:
    return {
        "terms": [
            {
                "name": "rm",
                "use": "rm",
                "params": {"model": str(directory), "cache": str(cache), **params},
            }
        ]
    }


def test_rm_as_a_spec_term_matches_the_model(trained, embedding_cache_path) -> None:
    model, _, directory = trained
    rows = [
        {"prompt": "Explain gravity.", "completion": "Gravity is the attraction between masses."},
        {"prompt": "Explain gravity.", "completion": "idk"},
        {"prompt": [{"role": "user", "content": "Explain gravity."}], "completion": "idk"},
    ]
    with rewardsmith.Engine(workers=1) as engine:
        batch = engine.score(rows, spec(directory, embedding_cache_path, concurrency=8))
        worst = engine.score(rows[:2], spec(directory, embedding_cache_path, pool="min"))
    expected = model.score(["Explain gravity."] * 2, [r["completion"] for r in rows[:2]])
    assert [s.status for s in batch] == ["ok"] * 3
    assert [s.value for s in batch[:2]] == pytest.approx(expected.mean(1).tolist(), rel=1e-5)
    assert [s.value for s in worst] == pytest.approx(expected.min(1).tolist(), rel=1e-5)
    assert batch[0].components["rm.head_2"] == pytest.approx(expected[0, 2], rel=1e-5)
    # Chat prompts are rendered as "role: content" lines, so they score as a different text.
    assert batch[2].value != pytest.approx(batch[1].value)


def test_rm_term_batches_rows_into_few_forward_passes(trained, embedding_cache_path) -> None:
    from rewardsmith.models.bt import reward as rm_module

    _, _, directory = trained
    term = spec(directory, embedding_cache_path, concurrency=16)
    batches: list[int] = []
    with rewardsmith.Engine(workers=1) as engine:
        engine.score([{"prompt": "warm", "completion": "up"}], term)  # loads the model
        loaded = next(
            m for key, m in rm_module._models.items() if key[0] == str(directory.resolve())
        )
        original = loaded.score

        def counting(prompts, responses):
            batches.append(len(prompts))
            return original(prompts, responses)

        loaded.score = counting
        try:
            rows = [
                {"prompt": "Name a colour.", "completion": f"Colour number {i}."} for i in range(12)
            ]
            batch = engine.score(rows, term)
        finally:
            del loaded.score
    assert [s.status for s in batch] == ["ok"] * 12
    assert sum(batches) == 12 and len(batches) <= 3  # rows share forward passes


def test_rm_term_with_a_missing_model_fails_when_the_spec_loads(tmp_path: Path) -> None:
    with pytest.raises(rewardsmith.SpecError, match="not a saved reward model"):
        rewardsmith.load_spec(
            {"terms": [{"name": "rm", "use": "rm", "params": {"model": str(tmp_path)}}]}
        )


def test_cli_train_then_score(tmp_path: Path, embedding_cache_path) -> None:
    from rewardsmith.cli import app

    runner = CliRunner()
    out = tmp_path / "rm"
    trained = runner.invoke(
        app,
        [
            "rm", "train", str(PAIRS_FILE), "--out", str(out), "--limit", "120",
            "--holdout-by", "chosen_model,rejected_model", "--max-length", str(MAX_LENGTH),
            "--epochs", "10", "--heads", "2", "--cache", str(embedding_cache_path),
        ],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "held-out pairs" in trained.output and "alpaca-eval" in trained.output
    report = json.loads((out / "report.json").read_text())
    assert report["train_pairs"] + report["eval_pairs"] == 120 and report["heldout_groups"]

    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        json.dumps({"prompt": "Say hi", "completion": "Hello there!"})
        + "\n"
        + json.dumps({"prompt": "Say hi", "completion": "no"})
        + "\n"
    )
    scored = tmp_path / "scored.jsonl"
    result = runner.invoke(
        app,
        [
            "rm",
            "score",
            str(out),
            str(samples),
            "-o",
            str(scored),
            "--cache",
            str(embedding_cache_path),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in scored.read_text().splitlines()]
    assert [len(r["reward_heads"]) for r in rows] == [2, 2]
    assert rows[0]["reward"] == pytest.approx(sum(rows[0]["reward_heads"]) / 2)

    pairs_file = tmp_path / "pairs.jsonl"
    pairs_file.write_text(
        json.dumps({"prompt": "Say hi", "chosen": "Hello there!", "rejected": "no", "subset": "s1"}) + "\n"
        + json.dumps({"prompt": "Add 2+2", "chosen": "4", "rejected": "5", "subset": "s2"}) + "\n"
    )  # fmt: skip
    report_file = tmp_path / "pairs.report.json"
    result = runner.invoke(
        app,
        [
            "rm",
            "score",
            str(out),
            str(pairs_file),
            "-o",
            str(report_file),
            "--cache",
            str(embedding_cache_path),
        ],
    )
    assert result.exit_code == 0, result.output
    pair_report = json.loads(report_file.read_text())
    assert pair_report["n"] == 2 and set(pair_report["by_subset"]) == {"s1", "s2"}

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "p", "chosen": "a"}) + "\n")
    failed = runner.invoke(app, ["rm", "train", str(bad), "--out", str(tmp_path / "x")])
    assert failed.exit_code == 2 and "field 'rejected' is missing" in failed.output


def test_example_rm_spec_scores_its_rows(
    trained, embedding_cache_path, tmp_path, monkeypatch
) -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    _, _, directory = trained
    spec = tomllib.loads((root / "examples" / "rm.toml").read_text())
    spec["terms"][0]["params"]["model"] = str(directory)
    spec["terms"][0]["params"]["cache"] = str(embedding_cache_path)
    rows = [json.loads(line) for line in (root / "examples" / "rm.jsonl").read_text().splitlines()]
    with rewardsmith.Engine(workers=1) as engine:
        batch = engine.score(rows, spec)
    assert [s.status for s in batch] == ["ok"] * len(rows)
    assert all(s.info["terms"]["preference"]["status"] == "ok" for s in batch)


@pytest.mark.slow
def test_full_finetuning_trains_saves_and_loads(split_pairs, tmp_path: Path) -> None:
    from rewardsmith.models.bt.finetune import FinetuneConfig, finetune_reward_model
    from rewardsmith.models.bt.model import load_reward_model

    train, test = split_pairs
    config = FinetuneConfig(epochs=1, batch_size=8, max_length=64, lr=5e-5)
    model, report = finetune_reward_model(
        train[:48], base=ENCODER, config=config, eval_pairs=test[:24]
    )
    assert report["heldout"]["n"] == 24 and 0.0 <= report["heldout"]["accuracy"] <= 1.0
    assert report["final_loss"] < 0.75  # below log(2): it learned something on its own data
    model.save(tmp_path / "ft")
    loaded = load_reward_model(tmp_path / "ft")
    prompts, responses = ["Say hi"], ["Hello!"]
    np.testing.assert_allclose(
        loaded.score(prompts, responses), model.score(prompts, responses), rtol=1e-4
    )


def test_prm_with_a_reward_model_step_scorer(trained, embedding_cache_path) -> None:
    from rewardsmith.models.prm import prm

    model, _, directory = trained
    sample = rewardsmith.Sample(
        id="1", prompt="Add 2 and 3.", completion="2 + 3 = 5.\n\nSo the answer is 5."
    )
    args = {"model": str(directory), "cache": str(embedding_cache_path)}
    score = prm(
        sample,
        scorer="rewardsmith.models.prm:reward_model_steps",
        scorer_args=args,
        aggregate_by="last",
    )
    prefixes = ["2 + 3 = 5.", "2 + 3 = 5.\n\nSo the answer is 5."]
    rewards = model.score(["Add 2 and 3."] * 2, prefixes).mean(1)
    expected = [1 / (1 + np.exp(-r)) for r in rewards]
    assert score.info["steps"] == pytest.approx(expected, rel=1e-5)
    assert score.value == pytest.approx(expected[-1], rel=1e-5)

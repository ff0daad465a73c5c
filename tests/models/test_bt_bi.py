"""The ``bi`` feature mode on real data: prompt and response embedded apart, contrast pairs,
the length head, save/load and the CLI. 200 AlpacaEval pairs at 96 tokens, session cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rm_helpers import MAX_LENGTH, PAIRS_FILE, needs_encoder, needs_pairs, train_small
from typer.testing import CliRunner

pytestmark = [needs_encoder, needs_pairs]


@pytest.fixture(scope="module")
def bi_models(split_pairs, embedding_cache_path) -> dict[str, Any]:
    """Two bi models on the same training split: without and with contrast pairs."""
    from rewardsmith.models.bt.train import TrainConfig

    train, test = split_pairs
    out: dict[str, Any] = {}
    for name, contrast in (("plain", 0.0), ("contrast", 0.5)):
        config = TrainConfig(
            epochs=30, hidden=64, features="bi", contrast=contrast, length_head=True, seed=0
        )
        out[name] = train_small(train, config, test, embedding_cache_path)
    return out


def off_topic_pairs(pairs: list[Any]) -> list[Any]:
    """Held-out pairs whose rejected answer is the chosen answer of another held-out prompt."""
    from dataclasses import replace

    prompts = list(dict.fromkeys(p.prompt for p in pairs))
    answer = {p.prompt: p.chosen for p in pairs}
    return [
        replace(p, rejected=answer[prompts[(prompts.index(p.prompt) + 1) % len(prompts)]])
        for p in pairs
    ]


def test_bi_model_learns_preferences_of_models_not_trained_on(bi_models) -> None:
    # 147 training pairs, 96 tokens: a head that learned nothing would sit at 0.5 (measured
    # 0.64-0.70 over seeds 0-3). With contrast pairs the held-out accuracy at this size swings
    # with the seed (0.51-0.62), so it is not asserted here; on the full set both reach 0.94
    # (docs/models.md).
    assert bi_models["plain"][1]["heldout"]["accuracy"] > 0.6
    _, report = bi_models["contrast"]
    assert report["contrast_pairs"] == round(0.5 * report["train_pairs"])
    held = report["heldout"]
    assert 0.0 <= held["model_prefers_longer"] <= 1.0 and 0.0 <= held["labels_prefer_longer"] <= 1


def test_contrast_pairs_teach_that_an_answer_must_fit_its_instruction(
    bi_models, split_pairs
) -> None:
    from rewardsmith.models.bt.model import evaluate_pairs

    _, test = split_pairs
    swapped = off_topic_pairs(test)
    plain = evaluate_pairs(bi_models["plain"][0], swapped)["accuracy"]
    contrast = evaluate_pairs(bi_models["contrast"][0], swapped)["accuracy"]
    # Held-out prompts, answers that are good but answer another prompt (measured over seeds
    # 0-3: 1.0 with contrast pairs, 0.74-0.81 without).
    assert contrast > 0.9 and contrast > plain


def test_a_saved_bi_model_loads_and_scores_the_same(
    bi_models, embedding_cache_path, tmp_path: Path
) -> None:
    from rewardsmith.models.bt.model import load_reward_model

    model, _ = bi_models["contrast"]
    model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "rewardsmith_rm.json").read_text())
    assert manifest["features"] == "bi" and manifest["dim"] == 2 * 384 + 1
    loaded = load_reward_model(tmp_path / "m", cache=embedding_cache_path)
    prompts, responses = ["Say hi", "Add 2 and 2"], ["Hi!", "2 + 2 = 4."]
    np.testing.assert_allclose(
        loaded.score(prompts, responses), model.score(prompts, responses), rtol=1e-5
    )


def test_cli_trains_a_debiased_bi_model_and_reports_other_sets(
    tmp_path: Path, embedding_cache_path
) -> None:
    from rewardsmith.cli import app

    other = tmp_path / "other.jsonl"
    other.write_text(
        json.dumps({"prompt": "Say hi", "chosen": "Hello there!", "rejected": "no"}) + "\n"
        + json.dumps({"prompt": "Add 2+2", "chosen": "4", "rejected": "It is five."}) + "\n"
    )  # fmt: skip
    out = tmp_path / "rm"
    result = CliRunner().invoke(
        app,
        [
            "rm", "train", str(PAIRS_FILE), "--out", str(out), "--limit", "120",
            "--holdout-by", "chosen_model,rejected_model", "--max-length", str(MAX_LENGTH),
            "--epochs", "10", "--cache", str(embedding_cache_path), "--features", "bi",
            "--contrast", "0.5", "--length-head", "--length-decorrelate", "1",
            "--report-on", str(other),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "longer preferred: model / labels" in result.output and "other.jsonl" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["report_on"][str(other)]["n"] == 2
    assert report["report_on"][str(other)]["labels_prefer_longer"] == 0.5
    assert report["contrast_pairs"] == round(0.5 * report["train_pairs"])

    joint = CliRunner().invoke(
        app,
        ["rm", "train", str(PAIRS_FILE), "--out", str(tmp_path / "x"), "--limit", "20",
         "--contrast", "1", "--cache", str(embedding_cache_path)],
    )  # fmt: skip
    assert joint.exit_code == 2 and "features='bi'" in joint.output

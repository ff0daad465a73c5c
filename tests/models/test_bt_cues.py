"""Text cues of the ``bi`` mode (``--cues``): each cue fires on the defect it names, and a model
trained with them saves, loads and scores the same. Real pairs at 96 tokens, session cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rm_helpers import ENCODER, needs_encoder, needs_pairs, train_small

from rewardsmith.models.bt.cues import CUE_NAMES, cue_features, length_violation, text_cues

ANSWER = (
    "Paris is the capital of France. It lies on the Seine. About two million people live there."
)


def cue(prompt: str, response: str, name: str) -> float:
    return dict(zip(CUE_NAMES, text_cues(prompt, response), strict=True))[name]


def test_a_clean_answer_raises_no_defect_cue() -> None:
    row = dict(zip(CUE_NAMES, text_cues("Tell me about Paris.", ANSWER), strict=True))
    for name in ("repeated_sentences", "truncated", "refusal", "length_violation", "empty"):
        assert row[name] == 0.0, name
    assert row["prompt_recall"] == 0.5  # of the prompt's content words "tell" and "paris"


def test_an_answer_cut_mid_sentence_is_truncated() -> None:
    assert cue("Tell me about Paris.", ANSWER[:45], "truncated") == 1.0
    assert cue("Give me code.", "```python\nprint(1)\n```", "truncated") == 0.0


def test_a_repeated_sentence_and_a_loop_are_seen() -> None:
    looped = ANSWER + " It lies on the Seine. It lies on the Seine."
    assert cue("Tell me about Paris.", looped, "repeated_sentences") == pytest.approx(2 / 5)
    assert cue("x", "la la la la la la la", "repeated_trigrams") == pytest.approx(4 / 5)


def test_a_refusal_and_a_copied_prompt_are_seen() -> None:
    assert cue("How do I bake bread?", "I'm sorry, but I cannot help with that.", "refusal") == 1
    prompt = "Rewrite this sentence so that it sounds more formal and polite to a reader: gimme it"
    assert cue(prompt, prompt, "prompt_copy") == 1.0
    assert cue(prompt, "Could you please give it to me?", "prompt_copy") == 0.0


@pytest.mark.parametrize(
    ("prompt", "response", "expected"),
    [
        ("Describe rain in at most 5 words.", "Water falls from clouds.", 0.0),
        ("Describe rain in at most 5 words.", "Water falls from the grey clouds above us.", 0.6),
        ("Describe rain in one sentence.", "Water falls. It is wet. It is cold.", 2.0),
        ("Name three things to pack.", "- tent\n- rope\n- map", 0.0),
        ("Name three things to pack.", "a tent", 2 / 3),
        ("Give at least 4 reasons to sleep.", "1. rest\n2. health", 0.5),
        ("Write about rain.", "Water falls.", 0.0),  # no stated length
    ],
)
def test_a_stated_length_is_checked(prompt: str, response: str, expected: float) -> None:
    assert length_violation(prompt, response) == pytest.approx(expected)


def test_cue_features_are_one_row_per_pair() -> None:
    rows = cue_features(["a", "b"], ["x y", ""])
    assert rows.shape == (2, len(CUE_NAMES)) and rows.dtype == np.float32
    assert rows[1, CUE_NAMES.index("empty")] == 1.0
    with pytest.raises(ValueError, match="2 prompts but 1 responses"):
        cue_features(["a", "b"], ["x"])


@needs_encoder
@needs_pairs
def test_a_model_with_cues_trains_saves_and_scores_the_same(
    split_pairs, embedding_cache_path, tmp_path: Path
) -> None:
    from rewardsmith.models.bt.model import load_reward_model
    from rewardsmith.models.bt.train import TrainConfig

    train, test = split_pairs
    config = TrainConfig(epochs=30, hidden=64, features="bi", cues=True, length_head=True, seed=0)
    model, report = train_small(train, config, test, embedding_cache_path)
    # Held-out models at this size, seeds 0-3: measured 0.70-0.74 (the plain bi head: 0.64-0.70).
    assert report["heldout"]["accuracy"] > 0.6
    model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "rewardsmith_rm.json").read_text())
    assert manifest["cues"] is True and manifest["dim"] == 2 * 384 + 1 + len(CUE_NAMES)
    loaded = load_reward_model(tmp_path / "m", cache=embedding_cache_path)
    prompts, responses = ["Say hi", "Add 2 and 2"], ["Hi!", "2 + 2 = 4."]
    np.testing.assert_allclose(
        loaded.score(prompts, responses), model.score(prompts, responses), rtol=1e-5
    )


def test_cues_need_the_bi_mode() -> None:
    from rewardsmith.models.bt.data import PreferencePair
    from rewardsmith.models.bt.model import train_reward_model
    from rewardsmith.models.bt.train import TrainConfig

    pair = PreferencePair(prompt="p", chosen="a", rejected="b")
    with pytest.raises(ValueError, match="text cues need features='bi'"):
        train_reward_model([pair], base=ENCODER, config=TrainConfig(cues=True))

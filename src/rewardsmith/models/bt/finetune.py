"""Full fine-tuning of a Hugging Face sequence-classification model with the Bradley-Terry loss.

This is the path for a user with a GPU and a real base model: every weight trains, so nothing
can be cached and each step runs the whole model on both answers of each pair. The loss is the
same as for heads (`rewardsmith.models.bt.train.bt_loss`: margin, soft labels, centering). The
result saves with ``save_pretrained`` under ``model/`` beside a ``rewardsmith_rm.json`` manifest
and loads through `rewardsmith.models.bt.model.load_reward_model` like a head model.

On a CPU it works but is slow (MiniLM-L6: ~1 s per step of 8 pairs at 256 tokens); the frozen
encoder + heads path is the CPU default.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rewardsmith.models.bt.data import PreferencePair
from rewardsmith.models.bt.encoder import resolve_encoder, tokenize_pairs
from rewardsmith.models.bt.evaluate import evaluate_pairs
from rewardsmith.models.deps import require

__all__ = ["FinetuneConfig", "FinetunedRewardModel", "finetune_reward_model"]


@dataclass(frozen=True)
class FinetuneConfig:
    """Settings of one fine-tuning run."""

    epochs: int = 1
    """Passes over the training pairs."""
    lr: float = 2e-5
    """AdamW learning rate (linear warm-up over the first 3% of steps, then linear decay)."""
    batch_size: int = 8
    """Pairs per optimiser step."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    center_coef: float = 0.01
    """η of the centering term η·(r⁺ + r⁻)²."""
    soft_labels: bool = False
    """Train towards each pair's ``p_chosen`` when given."""
    use_margin: bool = True
    """Use each pair's ``margin``."""
    max_length: int = 512
    """Tokens per (prompt, response)."""
    seed: int = 0
    """Seed of the classification head's initial weights and the batch order."""


class FinetunedRewardModel:
    """A sequence-classification model with one output: the reward."""

    kind = "finetune"
    heads = 1

    def __init__(
        self, model: Any, tokenizer: Any, *, max_length: int, device: str, batch_size: int = 16
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.max_length, self.device, self.batch_size = max_length, device, batch_size
        self.meta: dict[str, Any] = {}

    def _rewards(self, prompts: Sequence[str], responses: Sequence[str]) -> Any:
        batch = tokenize_pairs(self.tokenizer, prompts, responses, self.max_length, self.device)
        return self.model(**batch).logits[:, 0]

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        import torch

        self.model.eval()
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(prompts), self.batch_size):
                stop = start + self.batch_size
                out.append(
                    self._rewards(prompts[start:stop], responses[start:stop]).float().cpu().numpy()
                )
        values = np.concatenate(out) if out else np.zeros(0)
        return values.astype(np.float64)[:, None]

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        self.model.save_pretrained(directory / "model")
        self.tokenizer.save_pretrained(directory / "model")
        manifest = {"format": 1, "kind": self.kind, "max_length": self.max_length, **self.meta}
        (directory / "rewardsmith_rm.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return directory

    @classmethod
    def load(
        cls, directory: Path, manifest: dict[str, Any], *, device: str = "cpu", batch_size: int = 16
    ) -> FinetunedRewardModel:
        transformers = require("transformers", "rm")
        path = str(directory / "model")
        model = transformers.AutoModelForSequenceClassification.from_pretrained(path).to(device)
        tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        made = cls(
            model,
            tokenizer,
            max_length=int(manifest["max_length"]),
            device=device,
            batch_size=batch_size,
        )
        made.meta = {k: v for k, v in manifest.items() if k in ("training", "report")}
        return made


def finetune_reward_model(
    pairs: Sequence[PreferencePair],
    *,
    base: str,
    config: FinetuneConfig | None = None,
    eval_pairs: Sequence[PreferencePair] = (),
    device: str = "cpu",
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[FinetunedRewardModel, dict[str, Any]]:
    """Fine-tune ``base`` (a local directory or model package) on the pairs; evaluate held-out."""
    torch = require("torch", "rm")
    transformers = require("transformers", "rm")
    from rewardsmith.models.bt.train import bt_loss

    config = config or FinetuneConfig()
    if not pairs:
        raise ValueError("no training pairs")
    path = str(resolve_encoder(base))
    torch.manual_seed(config.seed)
    transformers.utils.logging.disable_progress_bar()
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    if model.config.pad_token_id is None and tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
    model.to(device)
    wrapped = FinetunedRewardModel(model, tokenizer, max_length=config.max_length, device=device)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    steps = config.epochs * math.ceil(len(pairs) / config.batch_size)
    warmup = max(1, round(0.03 * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup))),
    )
    order = list(range(len(pairs)))
    rng = random.Random(config.seed)
    losses: list[float] = []
    started = time.perf_counter()
    done = 0
    for _ in range(config.epochs):
        rng.shuffle(order)
        model.train()
        for start in range(0, len(order), config.batch_size):
            batch = [pairs[i] for i in order[start : start + config.batch_size]]
            prompts = [p.prompt for p in batch]
            rewards = wrapped._rewards(
                prompts * 2, [p.chosen for p in batch] + [p.rejected for p in batch]
            )
            n = len(batch)
            loss = bt_loss(
                rewards[:n, None],
                rewards[n:, None],
                torch.tensor(
                    [p.margin if config.use_margin else 0.0 for p in batch], device=device
                ),
                torch.tensor(
                    [p.label if config.soft_labels else 1.0 for p in batch], device=device
                ),
                center_coef=config.center_coef,
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            losses.append(float(loss.detach()))
            done += 1
            if progress is not None:
                progress("train", done, steps)
    train_seconds = time.perf_counter() - started
    report = {
        "train_pairs": len(pairs),
        "eval_pairs": len(eval_pairs),
        "train_seconds": round(train_seconds, 2),
        "final_loss": round(float(np.mean(losses[-10:])), 5),
        "train": evaluate_pairs(wrapped, pairs),
        "heldout": evaluate_pairs(wrapped, list(eval_pairs)) if eval_pairs else {"n": 0},
    }
    wrapped.meta = {"training": {**asdict(config), "base": base}, "report": report}
    return wrapped, report

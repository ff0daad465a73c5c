"""Bradley-Terry training of reward heads on cached embeddings.

The loss of one pair with reward difference ``Δ = r⁺ − r⁻``, margin ``m`` and label ``p``
(1 for a hard preference, the soft label ``p_chosen`` otherwise) is::

    p · softplus(−(Δ − m)) + (1 − p) · softplus(Δ − m) + η · (r⁺ + r⁻)²

that is the negative log-likelihood of ``P(chosen ≻ rejected) = σ(Δ − m)`` (Llama 2's margin
loss when ``p = 1``), plus the centering term of Eisenstein et al. 2023 that pins the rewards
of a pair around zero (BT is blind to a constant shift, so without it heads of an ensemble can
drift apart by a constant and scores are not comparable across models). ``softplus(−x)`` is
``−log σ(x)`` computed without overflow.

Example:
    >>> import torch
    >>> loss = bt_loss(torch.tensor([[2.0]]), torch.tensor([[0.0]]), torch.tensor([0.0]),
    ...                torch.tensor([1.0]))
    >>> round(float(loss), 4)  # -log(sigmoid(2))
    0.1269
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch

from rewardsmith.models.bt.heads import HeadEnsemble

__all__ = ["TrainConfig", "bt_loss", "fit_heads"]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one head-training run."""

    epochs: int = 40
    """Passes over the training pairs."""
    batch_size: int = 128
    """Pairs per optimiser step."""
    lr: float = 1e-3
    """AdamW learning rate."""
    weight_decay: float = 1e-2
    """AdamW weight decay (L2 pull towards zero; the main guard against overfitting a head)."""
    heads: int = 1
    """Ensemble size k: heads with different initial weights (and bootstrap samples)."""
    hidden: int = 256
    """Width of the heads' hidden layer; 0 for linear heads."""
    dropout: float = 0.1
    """Dropout on the standardised embedding during training."""
    center_coef: float = 0.01
    """η of the centering term η·(r⁺ + r⁻)²; 0 turns it off."""
    soft_labels: bool = False
    """Train towards each pair's ``p_chosen`` when given (else every label is 1)."""
    use_margin: bool = True
    """Use each pair's ``margin`` in the loss (pairs without one have margin 0)."""
    bootstrap: bool = False
    """Each head sees a bootstrap resample of the pairs (weights drawn per head), so the heads
    disagree where data is thin; their spread is then an uncertainty estimate."""
    seed: int = 0
    """Seed of initial weights, batch order, dropout and bootstrap draws."""
    features: str = "joint"
    """``joint``: one embedding of ``[CLS] prompt [SEP] response``; ``bi``: prompt and response
    embedded apart, joined by relevance features (`rewardsmith.models.bt.features`)."""
    contrast: float = 0.0
    """``bi`` only: contrast pairs per training pair, each (p, r) over (p, r') with r' an answer
    to a neighbouring instruction (`rewardsmith.models.bt.features.contrast_pairs`)."""
    contrast_neighbours: int = 5
    """r' comes from one of this many nearest other prompts."""
    cues: bool = False
    """``bi`` only: append the text cues of `rewardsmith.models.bt.cues` (truncation, repetition,
    refusal, prompt overlap, a stated length missed) to the head's input."""
    length_head: bool = False
    """ODIN-style: during training each reward is the head's plus a per-head linear term in
    ``log(1 + characters)`` that absorbs length; only the head scores at inference."""
    length_decorrelate: float = 0.0
    """Weight of the squared batch correlation between the head's reward and the length
    covariate (ODIN's disentangling term); 0 turns it off."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bt_loss(
    r_chosen: torch.Tensor,
    r_rejected: torch.Tensor,
    margin: torch.Tensor,
    label: torch.Tensor,
    *,
    center_coef: float = 0.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """The mean Bradley-Terry loss over pairs and heads.

    Args:
        r_chosen: rewards of the chosen answers, ``(n, k)``.
        r_rejected: rewards of the rejected answers, ``(n, k)``.
        margin: per-pair margin, ``(n,)``.
        label: per-pair probability that ``chosen`` is preferred, ``(n,)``.
        center_coef: η of the centering term.
        weight: optional per-pair, per-head weights ``(n, k)`` (bootstrap counts).
    """
    delta = r_chosen - r_rejected - margin[:, None]
    p = label[:, None]
    loss = p * torch.nn.functional.softplus(-delta) + (1 - p) * torch.nn.functional.softplus(delta)
    if center_coef:
        loss = loss + center_coef * (r_chosen + r_rejected) ** 2
    if weight is None:
        return loss.mean()
    return (loss * weight).sum() / weight.sum().clamp(min=1.0)


def _batch_correlation(values: torch.Tensor, covariate: torch.Tensor) -> torch.Tensor:
    """Mean over heads of the squared Pearson correlation of ``(m, k)`` values with ``(m,)``."""
    x = values - values.mean(0, keepdim=True)
    y = (covariate - covariate.mean())[:, None]
    corr = (x * y).sum(0) / (x.norm(dim=0) * y.norm(dim=0)).clamp(min=1e-6)
    return (corr**2).mean()


def fit_heads(
    chosen: torch.Tensor,
    rejected: torch.Tensor,
    margins: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    *,
    lengths: tuple[torch.Tensor, torch.Tensor] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> tuple[HeadEnsemble, dict[str, Any]]:
    """Train ``config.heads`` heads on embedded pairs; returns the heads and a short history.

    Args:
        chosen: ``(n, dim)`` embeddings of (prompt, chosen).
        rejected: ``(n, dim)`` embeddings of (prompt, rejected).
        margins: ``(n,)`` margins (zeros when unused).
        labels: ``(n,)`` preference probabilities (ones for hard labels).
        config: the settings.
        lengths: ``(n,)`` length covariates of the chosen and the rejected answers; required by
            ``config.length_head`` and ``config.length_decorrelate``.
        on_epoch: called with (epoch number from 1, mean training loss) after each epoch.
    """
    if (config.length_head or config.length_decorrelate) and lengths is None:
        raise ValueError("length_head and length_decorrelate need the answers' lengths")
    n, dim = chosen.shape
    if n == 0:
        raise ValueError("no training pairs")
    torch.manual_seed(config.seed)
    head = HeadEnsemble(
        dim, heads=config.heads, hidden=config.hidden, dropout=config.dropout, seed=config.seed
    )
    head.set_standardisation(torch.cat([chosen, rejected]))
    groups: list[dict[str, Any]] = [{"params": list(head.parameters())}]
    length_weight = torch.zeros(config.heads, requires_grad=True)
    length_c = length_r = torch.zeros(n)
    if lengths is not None:
        # Centred and scaled with the training answers' statistics, so the weight's scale is O(1).
        both = torch.cat(lengths)
        length_c, length_r = ((x - both.mean()) / both.std().clamp(min=1e-6) for x in lengths)
    if config.length_head:
        # No weight decay on the length term: shrinking it would hand length back to the head.
        # Ten times the head's rate: one scalar per head, it must keep pace with a whole layer.
        groups.append({"params": [length_weight], "weight_decay": 0.0, "lr": 10 * config.lr})
    optimiser = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    weights = None
    if config.bootstrap and config.heads > 1:
        # Bootstrap counts: each head draws n pairs with replacement.
        draws = torch.randint(0, n, (config.heads, n), generator=generator)
        weights = torch.zeros(config.heads, n).scatter_add_(1, draws, torch.ones(config.heads, n)).T
    steps_per_epoch = math.ceil(n / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser,
        max_lr=[group.get("lr", config.lr) for group in groups],
        total_steps=max(1, config.epochs * steps_per_epoch),
    )
    history: list[float] = []
    started = time.perf_counter()
    head.train()
    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, config.batch_size):
            index = order[start : start + config.batch_size]
            r_chosen, r_rejected = head(chosen[index]), head(rejected[index])
            if config.length_decorrelate:
                both = torch.cat([r_chosen, r_rejected])
                penalty = _batch_correlation(both, torch.cat([length_c[index], length_r[index]]))
            if config.length_head:
                # The length term takes the part of the preference that length explains.
                r_chosen = r_chosen + length_c[index, None] * length_weight
                r_rejected = r_rejected + length_r[index, None] * length_weight
            loss = bt_loss(
                r_chosen,
                r_rejected,
                margins[index],
                labels[index],
                center_coef=config.center_coef,
                weight=None if weights is None else weights[index],
            )
            if config.length_decorrelate:
                loss = loss + config.length_decorrelate * penalty
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(index)
        history.append(total / n)
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    head.eval()
    return head, {
        "loss": history,
        "train_seconds": time.perf_counter() - started,
        "length_weight": [round(float(w), 4) for w in length_weight.detach()],
    }

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


def fit_heads(
    chosen: torch.Tensor,
    rejected: torch.Tensor,
    margins: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    *,
    on_epoch: Callable[[int, float], None] | None = None,
) -> tuple[HeadEnsemble, dict[str, Any]]:
    """Train ``config.heads`` heads on embedded pairs; returns the heads and a short history.

    Args:
        chosen: ``(n, dim)`` embeddings of (prompt, chosen).
        rejected: ``(n, dim)`` embeddings of (prompt, rejected).
        margins: ``(n,)`` margins (zeros when unused).
        labels: ``(n,)`` preference probabilities (ones for hard labels).
        config: the settings.
        on_epoch: called with (epoch number from 1, mean training loss) after each epoch.
    """
    n, dim = chosen.shape
    if n == 0:
        raise ValueError("no training pairs")
    torch.manual_seed(config.seed)
    head = HeadEnsemble(
        dim, heads=config.heads, hidden=config.hidden, dropout=config.dropout, seed=config.seed
    )
    head.set_standardisation(torch.cat([chosen, rejected]))
    optimiser = torch.optim.AdamW(head.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    weights = None
    if config.bootstrap and config.heads > 1:
        # Bootstrap counts: each head draws n pairs with replacement.
        draws = torch.randint(0, n, (config.heads, n), generator=generator)
        weights = torch.zeros(config.heads, n).scatter_add_(1, draws, torch.ones(config.heads, n)).T
    steps_per_epoch = math.ceil(n / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=max(1, config.epochs * steps_per_epoch)
    )
    history: list[float] = []
    started = time.perf_counter()
    head.train()
    for epoch in range(1, config.epochs + 1):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, config.batch_size):
            index = order[start : start + config.batch_size]
            loss = bt_loss(
                head(chosen[index]),
                head(rejected[index]),
                margins[index],
                labels[index],
                center_coef=config.center_coef,
                weight=None if weights is None else weights[index],
            )
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(index)
        history.append(total / n)
        if on_epoch is not None:
            on_epoch(epoch, history[-1])
    head.eval()
    return head, {"loss": history, "train_seconds": time.perf_counter() - started}

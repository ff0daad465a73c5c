"""Reward heads on frozen embeddings: ``k`` linear or one-hidden-layer heads evaluated at once.

The ``k`` heads of an ensemble share nothing but their input; their weights are stacked into
single tensors so one matrix product scores every head (training ``k`` heads costs about as much
as training one on a CPU). Inputs are standardised with the training set's per-feature mean and
standard deviation, stored in the head so a loaded model scores exactly as it did in training.

Example:
    >>> import torch
    >>> head = HeadEnsemble(dim=4, heads=3, hidden=8, seed=0)
    >>> head(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["HeadEnsemble"]


class HeadEnsemble(nn.Module):
    """``heads`` independent reward heads; ``forward`` maps ``(n, dim)`` to ``(n, heads)``.

    Args:
        dim: embedding size.
        heads: ensemble size k (1 for a single reward model).
        hidden: 0 for linear heads, else the width of one hidden GELU layer.
        dropout: dropout on the standardised input during training.
        seed: each head ``i`` is initialised from ``seed + i``.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self, dim: int, *, heads: int = 1, hidden: int = 0, dropout: float = 0.0, seed: int = 0
    ) -> None:
        super().__init__()
        if dim < 1 or heads < 1 or hidden < 0:
            raise ValueError(
                f"need dim >= 1, heads >= 1, hidden >= 0; got {dim}, {heads}, {hidden}"
            )
        self.dim, self.heads, self.hidden = dim, heads, hidden
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.dropout = nn.Dropout(dropout)
        width = hidden or 1
        w1 = torch.empty(heads, dim, width)
        for index in range(heads):
            generator = torch.Generator().manual_seed(seed + index)
            # Kaiming-uniform bound for a layer with `dim` inputs, per head.
            bound = 1.0 / math.sqrt(dim)
            w1[index].uniform_(-bound, bound, generator=generator)
        self.w1 = nn.Parameter(w1)
        self.b1 = nn.Parameter(torch.zeros(heads, width))
        if hidden:
            w2 = torch.empty(heads, hidden)
            for index in range(heads):
                generator = torch.Generator().manual_seed(seed + 10_000 + index)
                bound = 1.0 / math.sqrt(hidden)
                w2[index].uniform_(-bound, bound, generator=generator)
            self.w2 = nn.Parameter(w2)
            self.b2 = nn.Parameter(torch.zeros(heads))

    def set_standardisation(self, features: torch.Tensor) -> None:
        """Store the per-feature mean and std of the training features."""
        self.mean.copy_(features.mean(0))
        self.std.copy_(features.std(0).clamp(min=1e-6))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.dropout((features - self.mean) / self.std)
        # (n, dim) x (k, dim, width) -> (n, k, width)
        h = torch.einsum("nd,kdw->nkw", x, self.w1) + self.b1
        if not self.hidden:
            return h.squeeze(-1)
        return torch.einsum("nkw,kw->nk", nn.functional.gelu(h), self.w2) + self.b2

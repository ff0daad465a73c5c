"""Bradley-Terry loss and head training on synthetic embeddings (torch only, no encoder)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch", reason="the [rm] extra (torch==2.13.0) is not installed")

from rewardsmith.models.bt.train import TrainConfig, bt_loss, fit_heads  # noqa: E402


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_bt_loss_matches_the_formula() -> None:
    rc, rr = torch.tensor([[1.5], [0.2]]), torch.tensor([[0.5], [0.7]])
    margin, label = torch.tensor([0.3, 0.0]), torch.tensor([1.0, 0.8])
    expected = [
        softplus(-(1.0 - 0.3)) + 0.1 * (2.0) ** 2,
        0.8 * softplus(0.5) + 0.2 * softplus(-0.5) + 0.1 * (0.9) ** 2,
    ]
    got = bt_loss(rc, rr, margin, label, center_coef=0.1)
    assert float(got) == pytest.approx(sum(expected) / 2, rel=1e-6)


def test_a_half_label_is_minimised_at_equal_rewards() -> None:
    delta = torch.zeros(1, 1, requires_grad=True)
    loss = bt_loss(delta, torch.zeros(1, 1), torch.zeros(1), torch.tensor([0.5]))
    loss.backward()
    assert float(delta.grad) == pytest.approx(0.0)


def synthetic(n: int, dim: int, seed: int) -> tuple:
    generator = torch.Generator().manual_seed(seed)
    w = torch.arange(1, dim + 1, dtype=torch.float32)
    a, b = torch.randn(n, dim, generator=generator), torch.randn(n, dim, generator=generator)
    a_better = (a @ w) > (b @ w)
    chosen = torch.where(a_better[:, None], a, b)
    rejected = torch.where(a_better[:, None], b, a)
    return chosen, rejected


def accuracy(head, chosen, rejected) -> float:
    with torch.inference_mode():
        return float((head(chosen).mean(1) > head(rejected).mean(1)).float().mean())


def test_heads_learn_a_linear_preference_and_its_opposite() -> None:
    chosen, rejected = synthetic(400, 8, seed=0)
    test_c, test_r = synthetic(400, 8, seed=1)
    ones, zeros = torch.ones(400), torch.zeros(400)
    config = TrainConfig(epochs=30, hidden=0, dropout=0.0, batch_size=64, lr=1e-2)
    head, history = fit_heads(chosen, rejected, zeros, ones, config)
    assert accuracy(head, test_c, test_r) > 0.95
    assert history["loss"][-1] < history["loss"][0]
    flipped, _ = fit_heads(rejected, chosen, zeros, ones, config)
    assert accuracy(flipped, test_c, test_r) < 0.05


def test_an_ensemble_has_distinct_heads_and_is_reproducible() -> None:
    chosen, rejected = synthetic(200, 6, seed=2)
    ones, zeros = torch.ones(200), torch.zeros(200)
    config = TrainConfig(epochs=5, heads=3, hidden=16, bootstrap=True, seed=7)
    head, _ = fit_heads(chosen, rejected, zeros, ones, config)
    out = head(chosen[:10]).detach()
    assert out.shape == (10, 3)
    assert not torch.allclose(out[:, 0], out[:, 1])
    again, _ = fit_heads(chosen, rejected, zeros, ones, config)
    assert torch.allclose(again(chosen[:10]).detach(), out)


def test_centering_pulls_pair_rewards_towards_zero() -> None:
    chosen, rejected = synthetic(300, 4, seed=3)
    chosen, rejected = chosen + 5.0, rejected + 5.0  # an offset BT alone cannot see
    ones, zeros = torch.ones(300), torch.zeros(300)
    base = TrainConfig(epochs=20, hidden=0, dropout=0.0, lr=1e-2, center_coef=0.0, weight_decay=0.0)
    centred = TrainConfig(
        epochs=20, hidden=0, dropout=0.0, lr=1e-2, center_coef=1.0, weight_decay=0.0
    )
    loose, _ = fit_heads(chosen, rejected, zeros, ones, base)
    tight, _ = fit_heads(chosen, rejected, zeros, ones, centred)
    with torch.inference_mode():
        mean_loose = float((loose(chosen) + loose(rejected)).abs().mean())
        mean_tight = float((tight(chosen) + tight(rejected)).abs().mean())
    assert mean_tight < mean_loose
    assert mean_tight < 0.5

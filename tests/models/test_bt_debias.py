"""Length-debiased training and train-time contrast pairs (synthetic data, no encoder)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the [rm] extra (torch==2.13.0) is not installed")

from rewardsmith.models.bt.features import contrast_pairs, relevance_features  # noqa: E402
from rewardsmith.models.bt.train import TrainConfig, fit_heads  # noqa: E402


def length_confounded(n: int, seed: int) -> tuple:
    """Pairs whose labels follow quality (features 1..7) plus length; feature 0 is the length.

    Returns chosen, rejected features and their lengths (the covariate a length head reads).
    """
    generator = torch.Generator().manual_seed(seed)
    w = torch.arange(1, 8, dtype=torch.float32) / 7
    a, b = torch.randn(n, 8, generator=generator), torch.randn(n, 8, generator=generator)
    # Length decides as much as quality does: a head that may read length learns it.
    score_a = a[:, 1:] @ w + 2.0 * a[:, 0]
    score_b = b[:, 1:] @ w + 2.0 * b[:, 0]
    a_better = score_a > score_b
    chosen = torch.where(a_better[:, None], a, b)
    rejected = torch.where(a_better[:, None], b, a)
    return chosen, rejected, (chosen[:, 0].clone(), rejected[:, 0].clone())


def prefers_longer(head, n: int, seed: int) -> tuple[float, float]:
    """On random pairs (length independent of quality): (rate of ranking the longer answer
    first, accuracy at ranking by quality alone)."""
    generator = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, 8, generator=generator), torch.randn(n, 8, generator=generator)
    w = torch.arange(1, 8, dtype=torch.float32) / 7
    with torch.inference_mode():
        ra, rb = head(a).mean(1), head(b).mean(1)
    longer = ((ra > rb) == (a[:, 0] > b[:, 0])).float().mean()
    quality = ((ra > rb) == ((a[:, 1:] @ w) > (b[:, 1:] @ w))).float().mean()
    return float(longer), float(quality)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_length_head_absorbs_length_and_keeps_quality(seed: int) -> None:
    chosen, rejected, lengths = length_confounded(600, seed)
    ones, zeros = torch.ones(600), torch.zeros(600)
    base = TrainConfig(epochs=30, hidden=0, dropout=0.0, batch_size=64, lr=1e-2, seed=seed)
    plain, _ = fit_heads(chosen, rejected, zeros, ones, base)
    debiased_config = TrainConfig(
        **{**base.as_dict(), "length_head": True, "length_decorrelate": 1.0}
    )
    debiased, history = fit_heads(chosen, rejected, zeros, ones, debiased_config, lengths=lengths)
    plain_longer, plain_quality = prefers_longer(plain, 2000, seed + 100)
    longer, quality = prefers_longer(debiased, 2000, seed + 100)
    # Without the length head the ranking follows length (0.73 at seed 0) ...
    assert plain_longer > 0.65 and plain_quality < 0.85
    # ... with it, length is absorbed and the ranking follows quality.
    assert abs(longer - 0.5) < 0.1 and quality > 0.9
    assert history["length_weight"][0] > 0.5  # the length term took the length preference


def test_length_options_need_lengths() -> None:
    chosen, rejected, _ = length_confounded(10, 0)
    with pytest.raises(ValueError, match="lengths"):
        fit_heads(
            chosen, rejected, torch.zeros(10), torch.ones(10), TrainConfig(length_decorrelate=1.0)
        )


def test_contrast_pairs_take_an_answer_of_a_near_other_prompt() -> None:
    # Prompts on a circle: each prompt's nearest others are its neighbours on the circle.
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    circle = np.stack([np.cos(angles), np.sin(angles)], 1).astype(np.float32)
    prompts = [f"p{k}" for k in range(12)] * 2  # two training pairs per prompt
    vectors = np.concatenate([circle, circle])
    found = contrast_pairs(prompts, vectors, per_pair=1.0, neighbours=2, seed=3)
    assert len(found) == len(prompts)
    for own, foreign in found:
        mine = int(prompts[own][1:])
        theirs = int(prompts[foreign % len(prompts)][1:])
        assert theirs != mine
        assert min((mine - theirs) % 12, (theirs - mine) % 12) == 1  # one of the two nearest
    assert found == contrast_pairs(prompts, vectors, per_pair=1.0, neighbours=2, seed=3)
    assert contrast_pairs(prompts, vectors, per_pair=0.0) == []


def test_near_duplicate_prompts_are_never_contrasted() -> None:
    # p0 and p1 are the same instruction worded twice: an answer to one answers the other.
    vectors = np.array([[1.0, 0.0], [0.999, 0.0447], [0.0, 1.0]], dtype=np.float32)
    found = contrast_pairs(["p0", "p1", "p2"], vectors, per_pair=3.0, neighbours=2, seed=0)
    assert found and all({own, foreign % 3} != {0, 1} for own, foreign in found)


def test_relevance_features_see_whether_an_answer_is_on_topic() -> None:
    u = np.array([[1.0, 0.0]], dtype=np.float32)
    on, off = np.array([[1.0, 0.0]], dtype=np.float32), np.array([[0.0, 1.0]], dtype=np.float32)
    assert relevance_features(u, on)[0, -1] == pytest.approx(1.0)
    assert relevance_features(u, off)[0, -1] == pytest.approx(0.0)

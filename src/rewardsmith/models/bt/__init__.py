"""Bradley-Terry reward models: pairs, a frozen encoder with an embedding cache, head ensembles,
training, save/load, and the ``rm`` reward. torch is imported only when a model is used.

Example:
    >>> from rewardsmith.models.bt import PreferencePair
    >>> PreferencePair(prompt="2+2?", chosen="4", rejected="5", p_chosen=0.9).label
    0.9
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rewardsmith.models.bt.data import PreferencePair, holdout_split, load_pairs, random_split

if TYPE_CHECKING:
    from rewardsmith.models.bt.model import evaluate_pairs, load_reward_model, train_reward_model
    from rewardsmith.models.bt.train import TrainConfig

__all__ = [
    "PreferencePair",
    "TrainConfig",
    "evaluate_pairs",
    "holdout_split",
    "load_pairs",
    "load_reward_model",
    "random_split",
    "train_reward_model",
]


_LAZY = {
    "TrainConfig": "rewardsmith.models.bt.train",  # beside the torch training loop
    "evaluate_pairs": "rewardsmith.models.bt.model",  # numpy
    "load_reward_model": "rewardsmith.models.bt.model",
    "train_reward_model": "rewardsmith.models.bt.model",
}


def __getattr__(name: str) -> Any:
    # Reading pairs needs nothing optional; models need numpy and torch: import on first use.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Core types: Sample, Score, Reward, the registry and the spec. Imports no I/O libraries."""

from rewardsmith.core.errors import (
    EngineError,
    InputError,
    RegistryError,
    RewardFailedError,
    RewardsmithError,
    SpecError,
    TransientError,
)
from rewardsmith.core.registry import Registry, default_registry, get_reward, list_rewards
from rewardsmith.core.reward import Kind, Reward, reward
from rewardsmith.core.sample import Sample, SampleError
from rewardsmith.core.score import STATUSES, Score, Status
from rewardsmith.core.spec import Limits, Spec, StatusPolicy, TermSpec, load_spec

__all__ = [
    "STATUSES",
    "EngineError",
    "InputError",
    "Kind",
    "Limits",
    "Registry",
    "RegistryError",
    "Reward",
    "RewardFailedError",
    "RewardsmithError",
    "Sample",
    "SampleError",
    "Score",
    "Spec",
    "SpecError",
    "Status",
    "StatusPolicy",
    "TermSpec",
    "TransientError",
    "default_registry",
    "get_reward",
    "list_rewards",
    "load_spec",
    "reward",
]

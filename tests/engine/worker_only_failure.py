"""A reward module that imports in the test process but fails to import in a worker."""

from __future__ import annotations

import os

import rewardsmith
from rewardsmith import Sample

if os.environ.get("REWARDSMITH_TEST_FAIL_IN_WORKER") == "1":
    raise ImportError("this module refuses to load in a worker (test)")


@rewardsmith.reward("test.fails_in_worker", reads=("completion",))
def fails_in_worker(sample: Sample) -> float:
    """Never runs: its module cannot be imported where workers run."""
    return 1.0

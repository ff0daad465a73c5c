"""Make the shared labelled-case helpers of tests/rewards importable from this folder."""

from __future__ import annotations

import sys
from pathlib import Path

_REWARDS_TESTS = str(Path(__file__).resolve().parent.parent)
if _REWARDS_TESTS not in sys.path:
    sys.path.insert(0, _REWARDS_TESTS)

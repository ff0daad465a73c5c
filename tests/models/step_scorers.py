"""A step scorer for the ``prm`` tests: importable by the engine's worker processes."""

from __future__ import annotations

from collections.abc import Sequence


def length_scorer(prompt: str, steps: Sequence[str]) -> list[float]:
    """0.1 per character of each step: deterministic and easy to check."""
    return [0.1 * len(step) for step in steps]

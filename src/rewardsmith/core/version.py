"""The package version, kept in core so that every layer may read it without importing the root.

Keep it equal to ``version`` in pyproject.toml (tests/core/test_version.py checks).
"""

from __future__ import annotations

from typing import Final

__all__ = ["__version__"]

__version__: Final = "0.1.0"

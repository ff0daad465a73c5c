"""Where the tests find the project's labelled data: ``../shared/data`` beside the repository.

One place decides the path (relative to this checkout, never an absolute one), and a test whose
data is missing skips with one reason that says where it looked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""``<repository>/../shared/data``: laid beside every checkout, CI's included."""


def shared_path(*parts: str) -> Path:
    """The path of a file or folder under the shared data (it may not exist)."""
    return SHARED_DATA.joinpath(*parts)


def needs_shared(*parts: str) -> pytest.MarkDecorator:
    """Skip marker for tests that read ``shared/data/<parts>``, with one clear reason."""
    path = shared_path(*parts)
    return pytest.mark.skipif(
        not path.exists(), reason=f"shared data not found at {path} (clone with ../shared beside)"
    )

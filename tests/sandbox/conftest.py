"""One sandbox shared by the tests of a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rewardsmith.sandbox import Sandbox


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        sandbox.start()
        yield sandbox

"""Every `Example:` in a docstring runs: documentation that drifts from the code fails here."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rewardsmith

# Modules whose optional dependencies may be missing are skipped, not failed, when they do not import.
MODULES = sorted(
    info.name for info in pkgutil.walk_packages(rewardsmith.__path__, prefix="rewardsmith.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("rewardsmith"):
            raise
        pytest.skip(f"optional dependency missing: {exc}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"

from __future__ import annotations

import tomllib
from pathlib import Path

import rewardsmith
from rewardsmith.core.version import __version__

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_the_version_in_core_is_the_packages() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    assert __version__ == declared
    assert rewardsmith.__version__ is __version__

"""Shared fixtures: every test gets its own run-log root, so nothing leaks between tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_run_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "rewardsmith-home"
    monkeypatch.setenv("REWARDSMITH_HOME", str(home))
    return home / "runs"

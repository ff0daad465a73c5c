"""`rewardsmith audit distance` and `audit overopt`, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rewardsmith.audit.overopt import bon_distance

np = pytest.importorskip("numpy")

HERE = Path(__file__).resolve().parent


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(HERE), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "rewardsmith.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_one_step_distance_between_two_rewards(tmp_path: Path) -> None:
    completions = [["1", "22", "333"], ["4444", "5", "66"], ["7", "8.5", "99.25"]]
    rows = [
        {"group": f"g{g}", "completion": text}
        for g, texts in enumerate(completions)
        for text in texts
    ]
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "d.json"
    result = _cli(
        "audit",
        "distance",
        "audit_rewards:table",
        "audit_rewards:chars",
        "--data",
        str(data),
        "--json",
        str(out),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    saved = json.loads(out.read_text())
    values = np.array([[float(t) for t in texts] for texts in completions])
    lengths = np.array([[len(t) for t in texts] for texts in completions], dtype=float)
    a = values - values.mean(axis=1, keepdims=True)
    b = lengths - lengths.mean(axis=1, keepdims=True)
    rho = (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum())  # centred rows have mean 0
    assert saved["epic"] == pytest.approx(np.sqrt((1 - rho) / 2))
    unit = a / np.linalg.norm(a) - b / np.linalg.norm(b)
    assert saved["starc"] == pytest.approx(np.linalg.norm(unit))
    assert saved["prompts"] == 3 and saved["responses_per_prompt"] == 3
    same = _cli(
        "audit",
        "distance",
        "audit_rewards:chars",
        "audit_rewards:chars",
        "--data",
        str(data),
        cwd=tmp_path,
    )
    assert "EPIC 0.0000" in same.stdout and "STARC 0.0000" in same.stdout
    uneven = tmp_path / "uneven.jsonl"
    uneven.write_text("".join(json.dumps(row) + "\n" for row in rows[:-1]))
    bad = _cli(
        "audit",
        "distance",
        "audit_rewards:table",
        "audit_rewards:chars",
        "--data",
        str(uneven),
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "same number (>= 2) of responses" in bad.stderr


def test_tabular_distance_from_npy(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    R = rng.normal(size=(5, 2, 5))
    np.save(tmp_path / "a.npy", R)
    np.save(tmp_path / "b.npy", -R)
    result = _cli(
        "audit", "distance", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "EPIC 1.0000" in result.stdout and "STARC 2.0000" in result.stdout


def test_overopt_cli(tmp_path: Path) -> None:
    points = tmp_path / "points.jsonl"
    rows = [
        {"n": n, "proxy": 0.3 * d, "gold": d * (0.5 - 0.1 * d)}
        for n in (1, 2, 4, 16, 64, 256, 1024, 4096)
        for d in [bon_distance(n)]
    ]
    points.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "fit.json"
    result = _cli(
        "audit", "overopt", str(points), "--bootstrap", "50", "--json", str(out), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "gold peaks at KL 6.25" in result.stdout
    saved = json.loads(out.read_text())
    assert saved["gold_peak_d"] == pytest.approx(2.5)
    bad = _cli("audit", "overopt", str(points), "--method", "ppo", cwd=tmp_path)
    assert bad.returncode == 2 and "--method must be bon or rl" in bad.stderr

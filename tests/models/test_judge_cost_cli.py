"""Judge cost totals in `rewardsmith score`, `show` and the HTML report, from a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("httpx", reason="the [judge] extra (httpx) is not installed")

from judge_server import JudgeServer


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rewardsmith.cli", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, COLUMNS="200"),
        timeout=180,
    )


def test_cost_totals_count_each_real_request_once(tmp_path: Path) -> None:
    server = JudgeServer().start()
    try:
        spec = tmp_path / "judge.toml"
        spec.write_text(
            "[[terms]]\nname = 'j'\nuse = 'judge'\n"
            f"params = {{ base_url = '{server.url}', model = 'm', retries = 2, "
            "price_in = 1.0, price_out = 2.0 }\n"
        )
        rows = [
            {"id": "a", "prompt": "q", "completion": "GOOD same", "step": 0},
            {"id": "b", "prompt": "q", "completion": "GOOD same", "step": 0},  # a copy of a
            {"id": "c", "prompt": "q", "completion": "BAD " + "long " * 40, "step": 1},
            {"id": "d", "prompt": "q", "completion": "FLAKY GOOD", "step": 1},  # 500, then ok
        ]
        data = tmp_path / "rows.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        logs = tmp_path / "logs"
        scored = _cli(
            "score", str(data), "--spec", str(spec), "--log-dir", str(logs),
            "-o", str(tmp_path / "out.jsonl"),
        )  # fmt: skip
        assert scored.returncode == 0, scored.stderr
        made = server.count
    finally:
        server.stop()
    assert made == 4  # a (b is a copy), c, and d twice
    assert "judge calls (failed)" in scored.stdout and "4 (1)" in scored.stdout
    shown = _cli("show", "last", "--log-dir", str(logs))
    assert shown.returncode == 0, shown.stderr
    assert "4 (1)" in shown.stdout
    report = tmp_path / "report.html"
    written = _cli("report", "last", "--log-dir", str(logs), "-o", str(report))
    assert written.returncode == 0, written.stderr
    html = report.read_text()
    assert "Judge cost" in html
    assert "Component means per step" in html and "Completion length per step" in html

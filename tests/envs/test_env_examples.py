"""The examples under examples/envs do what their comments say."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("gymnasium", reason="needs the [gym] extra")

from design_candidates import GOOD, USELESS
from design_server import FixedReplyServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "envs"


def test_abc_reward_machine_example() -> None:
    spec = importlib.util.spec_from_file_location("abc_example", EXAMPLES / "abc_reward_machine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main()
    assert results["markov reward on cells"][0] == 0.0
    assert results["reward machine"][0] == 1.0
    assert results["reward machine + CRM"][0] == 1.0
    assert results["reward machine + CRM"][1] < results["reward machine"][1]


def test_design_goal_script_against_a_local_endpoint(tmp_path: Path) -> None:
    pytest.importorskip("httpx", reason="needs the [judge] extra")
    server = FixedReplyServer([GOOD, USELESS]).start()
    try:
        done = subprocess.run(
            ["sh", str(EXAMPLES / "design_goal.sh"), server.url, "fixed-model"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env={
                **os.environ,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                "REWARDSMITH_HOME": str(tmp_path / "home"),
            },
        )
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert "candidate: good" in (tmp_path / "best_reward.py").read_text()
    assert len(server.requests) == 3 * 4
    assert {r["model"] for r in server.requests} == {"fixed-model"}

"""The engine inside real programs: Python started the ways users start it, as subprocesses.

Every script defines a reward in its own ``__main__`` (so it must travel to the workers by
value), scores it and the built-in ``math`` reward in worker processes, and records each run
of its top level in a file: workers must never run the caller's main module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYTHON = sys.executable
SRC = str(Path(__file__).resolve().parents[2] / "src")

# The body every launch mode runs. {marker} is the file that counts top-level runs.
BODY = """
import json, os, sys, time
import rewardsmith
from rewardsmith import Sample

with open({marker!r}, "a") as handle:
    handle.write(f"{{os.getpid()}}\\n")
time.sleep({sleep_s})  # a slow top level (imports, model loading) before any scoring

SCALE = 10.0

def _twice(text):
    return 2 * len(text)

@rewardsmith.reward("launch.length", reads=("completion",), timeout_s={timeout_s})
def length(sample: Sample) -> float:
    return _twice(sample.completion_text) * SCALE

ROWS = [{{"id": str(i), "completion": "x" * i}} for i in range(1, 6)]
MATH = [
    {{"id": "a", "completion": "so $\\\\boxed{{\\\\frac{{1}}{{2}}}}$", "reference": "0.5"}},
    {{"id": "b", "completion": "the answer is $\\\\boxed{{3}}$", "reference": "4"}},
]
MATH_SPEC = {{"terms": [{{"name": "m", "use": "math", "params": {{"timeout_s": {timeout_s}}}}}]}}

def run():
    mine = rewardsmith.score(ROWS, "launch.length", workers=2)
    math = rewardsmith.score(MATH, MATH_SPEC, workers=2)
    return {{
        "values": [s.value for s in mine] + [s.value for s in math],
        "statuses": [s.status for s in mine] + [s.status for s in math],
        "reasons": [s.reason for s in mine if s.status != "ok"],
    }}
"""

EXPECTED_VALUES = [20.0, 40.0, 60.0, 80.0, 100.0, 1.0, 0.0]

TAILS = {
    "guarded": 'if __name__ == "__main__":\n    print("RESULT", json.dumps(run()))\n',
    "unguarded": 'print("RESULT", json.dumps(run()))\n',
    "thread_and_asyncio": textwrap.dedent(
        """
        import asyncio, threading
        out = {}
        thread = threading.Thread(target=lambda: out.setdefault("thread", run()))
        thread.start()
        thread.join()

        async def main():
            loop_ticks = 0
            async def tick():
                nonlocal loop_ticks
                while True:
                    await asyncio.sleep(0.01)
                    loop_ticks += 1
            ticker = asyncio.create_task(tick())
            batch = await rewardsmith.ascore(ROWS, "launch.length", workers=2)
            ticker.cancel()
            return [s.value for s in batch]

        values = asyncio.run(main())
        result = out["thread"]
        assert values == result["values"][:5], values
        print("RESULT", json.dumps(result))
        """
    ),
}


def _script(tmp_path: Path, tail: str, *, sleep_s: float = 0.0, timeout_s: float = 10.0) -> str:
    marker = tmp_path / "top_level_runs"
    return BODY.format(marker=str(marker), sleep_s=sleep_s, timeout_s=timeout_s) + tail


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _check(proc: subprocess.CompletedProcess[str], tmp_path: Path) -> dict[str, object]:
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout[-2000:] + proc.stderr[-4000:]
    result: dict[str, object] = json.loads(lines[-1][len("RESULT ") :])
    assert result["values"] == EXPECTED_VALUES, result
    assert result["statuses"] == ["ok"] * 7, result
    runs = (tmp_path / "top_level_runs").read_text().split()
    assert runs == [str(runs[0])], f"the top level ran {len(runs)} times: {runs}"
    return result


@pytest.mark.parametrize("mode", sorted(TAILS))
def test_script_file(tmp_path: Path, mode: str) -> None:
    script = tmp_path / "train.py"
    script.write_text(_script(tmp_path, TAILS[mode]))
    proc = subprocess.run(
        [PYTHON, str(script)], capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path
    )
    _check(proc, tmp_path)


def test_stdin_script(tmp_path: Path) -> None:
    proc = subprocess.run(
        [PYTHON, "-"],
        input=_script(tmp_path, TAILS["unguarded"]),
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=tmp_path,
    )
    _check(proc, tmp_path)


def test_dash_c(tmp_path: Path) -> None:
    proc = subprocess.run(
        [PYTHON, "-c", _script(tmp_path, TAILS["guarded"])],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=tmp_path,
    )
    _check(proc, tmp_path)


def test_slow_top_level_is_never_charged_to_a_row(tmp_path: Path) -> None:
    """A guarded script whose top level takes longer than the rewards' time limit (as importing
    torch and transformers does) still gets every row scored: start-up is not a row's time."""
    script = tmp_path / "train.py"
    script.write_text(_script(tmp_path, TAILS["guarded"], sleep_s=2.5, timeout_s=1.0))
    proc = subprocess.run(
        [PYTHON, str(script)], capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path
    )
    result = _check(proc, tmp_path)
    assert "timeout" not in result["statuses"]  # type: ignore[operator]


@pytest.mark.slow
def test_script_importing_torch_and_transformers_gets_no_timeouts(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    script = tmp_path / "train.py"
    heavy = "import torch, transformers\n"
    try:
        import trl  # noqa: F401

        heavy = "import torch, transformers, trl\n"
    except ImportError:
        pass
    script.write_text(heavy + _script(tmp_path, TAILS["guarded"], timeout_s=2.0))
    proc = subprocess.run(
        [PYTHON, str(script)], capture_output=True, text=True, timeout=300, env=_env(), cwd=tmp_path
    )
    _check(proc, tmp_path)


def test_a_reward_that_cannot_be_shipped_names_itself_and_the_fix(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import threading
            import rewardsmith

            LOCK = threading.Lock()

            @rewardsmith.reward("launch.locked")
            def locked(sample):
                with LOCK:
                    return 1.0

            if __name__ == "__main__":
                try:
                    rewardsmith.score([{"completion": "a"}], "launch.locked", workers=1)
                except rewardsmith.EngineError as exc:
                    print("ERROR", exc)
            """
        )
    )
    proc = subprocess.run(
        [PYTHON, str(script)], capture_output=True, text=True, timeout=120, env=_env(), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    message = proc.stdout.split("ERROR", 1)[1]
    assert "'launch.locked'" in message
    assert "cannot be sent to worker processes" in message
    assert "_thread.lock" in message
    assert "importable module" in message and "inline=True" in message


def test_jupyter_kernel_cells(tmp_path: Path) -> None:
    """A notebook: cells executed one by one by a real ipykernel."""
    pytest.importorskip("ipykernel")
    client_mod = pytest.importorskip("jupyter_client.manager")
    manager, client = client_mod.start_new_kernel(
        kernel_name="python3", cwd=str(tmp_path), env=_env(), startup_timeout=120
    )
    try:
        source = _script(tmp_path, "")
        cells = [source, "import json\nprint('RESULT', json.dumps(run()))"]
        outputs: list[str] = []
        for cell in cells:
            reply = client.execute_interactive(
                cell,
                timeout=120,
                output_hook=lambda msg: (
                    outputs.append(msg["content"].get("text", ""))
                    if msg["msg_type"] == "stream"
                    else None
                ),
            )
            assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    proc = subprocess.CompletedProcess(args=[], returncode=0, stdout="".join(outputs), stderr="")
    _check(proc, tmp_path)

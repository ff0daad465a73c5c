"""`rewardsmith score` under faults, run as a real process the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ENGINE_TESTS = Path(__file__).resolve().parents[1] / "engine"
CLI = [sys.executable, "-m", "rewardsmith.cli"]
sys.path.insert(0, str(ENGINE_TESTS))

from test_process_tree import gone_within  # noqa: E402


def cli_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ENGINE_TESTS), COLUMNS="200")


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout
    )


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_piped_score_ends_although_a_hung_reward_started_a_subprocess(tmp_path: Path) -> None:
    tag = f"0.{uuid.uuid4().int % 10**12:012d}"
    data = write_jsonl(
        tmp_path / "rows.jsonl",
        [{"id": "hung", "completion": "wait", "reference": tag}]
        + [{"id": f"r{i}", "completion": "quick", "reference": tag} for i in range(3)],
    )
    command = " ".join(
        [*CLI, "score", str(data), "--reward", "sample_rewards:spawns", "--workers", "1", "| cat"]
    )
    started = time.monotonic()
    # `| cat` ends only when every writer of the pipe has closed it: a surviving `sleep 777`
    # that inherited the CLI's stdout would hold it for 13 minutes.
    done = subprocess.run(
        command, shell=True, cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    assert "status timeout" in done.stdout
    assert gone_within(tag, 2.0) == []


ROWS = [{"id": f"r{i}", "completion": "Paris", "reference": "paris"} for i in range(20)]


def test_a_missing_output_directory_fails_before_any_row_is_scored(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    done = run_cli(
        "score", str(data), "-r", "exact_match", "-o", "missing_dir/x.jsonl", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "missing_dir" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
    # Nothing was scored or logged: no run exists.
    runs = run_cli("runs", cwd=tmp_path)
    assert "no runs" in runs.stdout


def test_an_unwritable_output_directory_fails_before_any_row_is_scored(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    if os.geteuid() == 0:
        target = "/sys/x.jsonl"  # root may write in a chmod 555 directory, not in sysfs
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        target = str(locked / "x.jsonl")
    done = run_cli("score", str(data), "-r", "exact_match", "-o", target, cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert "cannot write in the output directory" in done.stderr
    assert "Traceback" not in done.stderr
    assert "no runs" in run_cli("runs", cwd=tmp_path).stdout


def test_an_unknown_output_format_fails_before_scoring(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    done = run_cli("score", str(data), "-r", "exact_match", "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 2 and "unknown file type" in done.stderr
    assert "no runs" in run_cli("runs", cwd=tmp_path).stdout


def test_a_deeply_nested_line_costs_one_row_in_score_and_check(tmp_path: Path) -> None:
    deep = '{"id": "deep", "completion": "x", "extra": ' + "[" * 999 + "]" * 999 + "}"
    data = tmp_path / "rows.jsonl"
    data.write_text(
        json.dumps(ROWS[0]) + "\n" + deep + "\n" + "".join(json.dumps(r) + "\n" for r in ROWS[1:])
    )
    done = run_cli("score", str(data), "-r", "exact_match", "-o", "out.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(out) == 21
    assert out[1]["status"] == "error" and "line 2: nested" in out[1]["reason"]
    assert sum(row["status"] == "ok" for row in out) == 20
    checked = run_cli("check", str(data), "-r", "exact_match", cwd=tmp_path)
    assert "Traceback" not in checked.stderr
    assert "line 2: nested" in checked.stdout


def test_parquet_output_when_no_row_has_components(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    data = write_jsonl(tmp_path / "rows.jsonl", [{"pred": "a", "gold": "a"}] * 5)
    done = run_cli("score", str(data), "-r", "exact_match", "-o", "out.parquet", cwd=tmp_path)
    assert "Traceback" not in done.stderr
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [row["status"] for row in rows] == ["error"] * 5


def test_memory_limit_from_the_spec_and_from_the_command_line(tmp_path: Path) -> None:
    data = write_jsonl(
        tmp_path / "rows.jsonl",
        [{"id": "small", "completion": "5"}, {"id": "big", "completion": "900"}],
    )
    spec = tmp_path / "hog.toml"
    spec.write_text(
        '[[terms]]\nname = "hog"\nuse = "sample_rewards:hog"\n\n[limits]\nworker_memory_mb = 250\n'
    )
    done = run_cli(
        "score", str(data), "-s", str(spec), "-o", "out.jsonl", "--workers", "1", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [row["status"] for row in out] == ["ok", "error"]
    assert "memory limit" in out[1]["reason"] and "limit of 250 MiB" in out[1]["reason"]
    # The command line wins over the spec.
    done = run_cli(
        "score",
        str(data),
        "-s",
        str(spec),
        "-o",
        "out.jsonl",
        "--workers",
        "1",
        "--memory-mb",
        "2000",
        cwd=tmp_path,
    )
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [row["status"] for row in out] == ["ok", "ok"], done.stderr


def test_hung_rows_spread_over_the_workers_across_chunks(tmp_path: Path) -> None:
    """The fault run: hung rows in different chunks of the file hang side by side, so the wall
    time stays within (hung rows / workers) x timeout + 1 s (+ the command's own start-up)."""
    hung_at = {5, 45, 85, 125}  # one hung row in each 40-row chunk
    rows = [
        {"id": f"r{i}", "completion": "sleep" if i in hung_at else "x", "reference": "x"}
        for i in range(160)
    ]
    data = write_jsonl(tmp_path / "rows.jsonl", rows)
    spec = tmp_path / "hang.toml"
    spec.write_text(
        '[[terms]]\nname = "b"\nuse = "sample_rewards:behaves"\nparams = {timeout_s = 1.5}\n'
    )
    # The command's start-up (imports, worker start), measured on a file without hung rows.
    calm = write_jsonl(tmp_path / "calm.jsonl", [dict(row, completion="x") for row in rows])
    began = time.monotonic()
    done = run_cli(
        "score", str(calm), "-s", str(spec), "--workers", "2", "--chunk-size", "40", cwd=tmp_path
    )
    startup = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    began = time.monotonic()
    done = run_cli(
        "score",
        str(data),
        "-s",
        str(spec),
        "--workers",
        "2",
        "--chunk-size",
        "40",
        "-o",
        "out.jsonl",
        cwd=tmp_path,
    )
    wall = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [row["id"] for row in out] == [f"r{i}" for i in range(160)]  # file order kept
    assert sorted(i for i, row in enumerate(out) if row["status"] == "timeout") == sorted(hung_at)
    bound = len(hung_at) / 2 * 1.5 + 1.0
    # Chunk after chunk, each waiting for its own hung row, would take 4 x 1.5 s = 6 s.
    assert wall - startup <= bound, (wall, startup)
    # Timeout rows log how long they ran, not 0.
    logged = run_cli(
        "query",
        "select min(latency_s) from scores where status = 'timeout'",
        "--run",
        "last",
        cwd=tmp_path,
    )
    assert float(logged.stdout.split()[-1]) >= 1.5, logged.stdout


def test_score_exits_1_when_no_row_could_be_scored(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "rows.jsonl", [{"pred": "a", "gold": "a"}] * 8)
    done = run_cli("score", str(data), "-r", "exact_match", cwd=tmp_path)
    assert done.returncode == 1
    assert "no row could be scored: 8 error (first:" in done.stderr
    assert "completion" in done.stderr  # the reason names the missing field


def test_bad_counts_are_clear_errors(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    for flag, value, words in (
        ("--workers", "-1", "--workers must be at least 1, got -1"),
        ("--chunk-size", "0", "--chunk-size must be at least 1, got 0"),
        ("--memory-mb", "-5", "--memory-mb must be at least 0, got -5"),
    ):
        done = run_cli("score", str(data), "-r", "exact_match", flag, value, cwd=tmp_path)
        assert done.returncode == 2 and words in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_progress_lines_when_stderr_is_a_log_file(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "rows.jsonl", ROWS * 10)
    done = run_cli(
        "score",
        str(data),
        "-r",
        "exact_match",
        "--chunk-size",
        "50",
        "--progress-every",
        "0.001",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("scoring: ")]
    assert len(lines) >= 2, done.stderr
    assert all(" rows (" in line and "rows/s" in line for line in lines), lines
    assert done.stdout.count("scoring:") == 0  # stdout keeps the summary only


def test_the_summary_names_a_weak_sandbox_level_and_a_refusal_once(tmp_path: Path) -> None:
    rows = [{"completion": c} for c in ("weak", "refused", "ok", "refused", "weak")]
    data = write_jsonl(tmp_path / "rows.jsonl", rows)
    done = run_cli("score", str(data), "-r", "sample_rewards:sandboxed", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 rows ran programs at sandbox level 'trusted-code-only'" in done.stderr
    assert "unmet requirements: no network" in done.stderr
    assert done.stderr.count("To fix: run as root") == 1
    from rewardsmith.io.runlog import RunLog

    run = RunLog().latest()  # REWARDSMITH_HOME: the test's own, also the command's
    assert run.manifest["sandbox"] == {
        "levels": {"trusted-code-only": 2, "isolated": 3},
        "unmet": ["no network"],
    }


def test_no_sandbox_words_when_programs_ran_isolated(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "rows.jsonl", [{"completion": "ok"}] * 3)
    done = run_cli("score", str(data), "-r", "sample_rewards:sandboxed", cwd=tmp_path)
    assert done.returncode == 0 and "sandbox" not in done.stderr

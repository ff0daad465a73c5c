"""The `rewardsmith` command, run as a real process the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ENGINE_TESTS = Path(__file__).resolve().parents[1] / "engine"
CLI = [sys.executable, "-m", "rewardsmith.cli"]


def run_cli(
    *args: str, cwd: Path, env_extra: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ENGINE_TESTS), COLUMNS="200", **(env_extra or {}))
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


ROWS = [
    {"id": "a", "completion": "Paris", "reference": "paris"},
    {"id": "b", "completion": "Lyon", "reference": "Paris"},
    {"completion": "The Paris", "reference": ["Paris", "Île-de-France"]},
]


def test_score_with_a_reward_writes_jsonl_next_to_the_input(tmp_path: Path) -> None:
    data = _write_jsonl(tmp_path / "qa.jsonl", ROWS)
    result = run_cli("score", str(data), "--reward", "exact_match", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in (tmp_path / "qa.scored.jsonl").read_text().splitlines()]
    assert [row["id"] for row in out] == ["a", "b", "row-2"]
    assert [row["reward"] for row in out] == [1.0, 0.0, 1.0]
    assert all(row["status"] == "ok" and row["reason"] == "" for row in out)
    assert out[0]["components"] == {"exact_match": 1.0}
    assert out[0]["completion"] == "Paris"  # input fields ride along
    assert "mean reward" in result.stdout and "0.6667" in result.stdout
    assert "status ok" in result.stdout


def test_score_parquet_to_parquet_with_a_spec(tmp_path: Path) -> None:
    data = tmp_path / "qa.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS[:2]), data)
    spec = tmp_path / "spec.toml"
    spec.write_text('name = "t"\n[[terms]]\nname = "em"\nuse = "exact_match"\nweight = 2.0\n')
    result = run_cli(
        "score",
        str(data),
        "--spec",
        str(spec),
        "-o",
        str(tmp_path / "out.parquet"),
        "--workers",
        "1",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    table = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [(row["id"], row["reward"], row["status"]) for row in table] == [
        ("a", 2.0, "ok"),
        ("b", 0.0, "ok"),
    ]


def test_bad_input_lines_are_reported_and_the_rest_scored(tmp_path: Path) -> None:
    data = tmp_path / "messy.jsonl"
    data.write_bytes(
        b'{"id": "a", "completion": "x", "reference": "x"}\n{broken\n\xff\xfe\n{"id": "d"}\n'
    )
    result = run_cli("score", str(data), "--reward", "exact_match", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in (tmp_path / "messy.scored.jsonl").read_text().splitlines()]
    assert [row["status"] for row in out] == ["ok", "error", "error", "error"]
    assert "line 2: malformed JSON" in out[1]["reason"]
    assert "line 3: not valid UTF-8" in out[2]["reason"]
    assert out[3]["id"] == "d" and "'completion': missing" in out[3]["reason"]
    assert out[1]["reward"] is None  # error -> mask


def test_bad_spec_fails_before_scoring_with_file_and_key(tmp_path: Path) -> None:
    data = _write_jsonl(tmp_path / "qa.jsonl", ROWS)
    spec = tmp_path / "bad.toml"
    spec.write_text('[[terms]]\nname = "em"\nuse = "exact_match"\nwieght = 1\n')
    result = run_cli("score", str(data), "--spec", str(spec), cwd=tmp_path)
    assert result.returncode == 2
    assert (
        "bad.toml" in result.stderr
        and "wieght" in result.stderr
        and "did you mean 'weight'" in result.stderr
    )
    assert not (tmp_path / "qa.scored.jsonl").exists()
    neither = run_cli("score", str(data), cwd=tmp_path)
    assert neither.returncode == 2 and "exactly one of --spec" in neither.stderr


def test_list_shows_rewards_with_their_docs(tmp_path: Path) -> None:
    result = run_cli("list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "exact_match" in result.stdout and "inline" in result.stdout


def test_runs_show_and_query_read_the_run_log(tmp_path: Path) -> None:
    data = _write_jsonl(tmp_path / "qa.jsonl", ROWS)
    assert run_cli("score", str(data), "--reward", "exact_match", cwd=tmp_path).returncode == 0
    runs = run_cli("runs", cwd=tmp_path)
    assert runs.returncode == 0 and "completed" in runs.stdout and "exact_match" in runs.stdout
    show = run_cli("show", "last", cwd=tmp_path)
    assert show.returncode == 0, show.stderr
    assert "exact_match@1" in show.stdout and "0.6667" in show.stdout
    query = run_cli("query", "SELECT id, reward FROM scores ORDER BY row_index", cwd=tmp_path)
    assert query.returncode == 0, query.stderr
    assert "row-2" in query.stdout
    bad = run_cli("query", "SELECT nope FROM scores", cwd=tmp_path)
    assert bad.returncode == 2 and "query failed" in bad.stderr


def test_raise_policy_stops_the_run_naming_row_and_term(tmp_path: Path) -> None:
    data = _write_jsonl(tmp_path / "qa.jsonl", [{"id": "x", "completion": "raise"}])
    spec = tmp_path / "spec.toml"
    # An import path finds a reward that no installed package registers.
    spec.write_text(
        '[[terms]]\nname = "t"\nuse = "sample_rewards:behaves"\n[on_status]\nerror = "raise"\n'
    )
    result = run_cli("score", str(data), "--spec", str(spec), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "row 'x', term 't': error" in result.stderr
    assert "on_status.error = 'raise'" in result.stderr


def test_query_can_select_every_column(tmp_path: Path) -> None:
    data = _write_jsonl(tmp_path / "qa.jsonl", ROWS)
    assert run_cli("score", str(data), "--reward", "exact_match", cwd=tmp_path).returncode == 0
    result = run_cli("query", "SELECT * FROM scores", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "scored_at" in result.stdout


def test_error_messages_print_user_text_literally(tmp_path: Path) -> None:
    data = _write_jsonl(tmp_path / "qa.jsonl", ROWS)
    result = run_cli("score", str(data), "--reward", "[bold]nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown reward '[bold]nope'" in result.stderr  # not swallowed as rich markup


def test_runs_and_query_print_whole_values_into_a_pipe(tmp_path: Path) -> None:
    from rewardsmith.io.runlog import RunLog

    data = _write_jsonl(tmp_path / "a-rather-long-input-file-name-for-a-narrow-pipe.jsonl", ROWS)
    assert run_cli("score", str(data), "--reward", "exact_match", cwd=tmp_path).returncode == 0
    run_id = RunLog().latest().id  # the same $REWARDSMITH_HOME as the command
    runs = run_cli("runs", cwd=tmp_path)  # stdout is a pipe here, as in `rewardsmith runs | grep`
    assert runs.returncode == 0, runs.stderr
    header, line = runs.stdout.splitlines()
    assert header.split("\t") == ["run", "created", "status", "spec", "rows", "input"]
    fields = line.split("\t")
    assert fields[0] == run_id and fields[2] == "completed" and fields[4] == "3"
    assert fields[5] == str(data.resolve())
    last = run_cli(
        "query", "--run", "last", "SELECT id FROM scores ORDER BY row_index", cwd=tmp_path
    )
    assert last.returncode == 0, last.stderr
    assert last.stdout.split() == ["id", "a", "b", "row-2"]
    by_prefix = run_cli(
        "query", "--run", run_id[:12], "SELECT count(*) AS n FROM scores", cwd=tmp_path
    )
    assert by_prefix.stdout.split() == ["n", "3"]

"""Scoring a file by byte ranges in helper processes (`engine.split`) gives what one process gives:
the same output bytes, run log, summary and errors; a helper's crash fails the run with its
reason; Ctrl-C and kill -9 leave no helper behind, and a resume loses and repeats nothing."""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from pathlib import Path

import duckdb
import pytest
import sample_rewards  # noqa: F401 - registers the test rewards

import rewardsmith
from cli_process import start_score, wait_for_logged_rows
from rewardsmith.core.errors import EngineError
from rewardsmith.engine import files
from rewardsmith.engine.files import score_file
from rewardsmith.engine.split import split_ranges
from rewardsmith.io.readers import count_lines
from rewardsmith.io.runlog import RunLog


@pytest.fixture(autouse=True)
def _no_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Earlier tests of this process may leave threads running (engines' event loops); a
    process with threads never splits, so these tests, which are about splitting, ignore them."""
    monkeypatch.setattr(files, "_other_threads", lambda: False)


ENGINE_TESTS = Path(__file__).resolve().parent
QA_SPEC = ENGINE_TESTS.parents[1] / "examples" / "qa.toml"


def _qa_rows(count: int) -> list[bytes]:
    words = ["Paris", "Lyon", "Zürich", "東京", "São Paulo 🚀"]
    out = []
    for i in range(count):
        said, gold = words[i % 5], words[(i // 4) % 5]
        row = {
            "id": f"r{i}",
            "task": "qa" if i % 3 else "mcq",
            "group": f"g{i // 4}",
            "completion": f"<think>{'é' * (i % 50)}</think><answer>{said if i % 3 else 'B'}</answer>",
            "reference": gold if i % 3 else "B",
        }
        out.append(json.dumps(row, ensure_ascii=i % 2 == 0).encode() + b"\n")
    return out


def _file_with_bad_rows(path: Path) -> Path:
    lines = _qa_rows(600)
    lines[10] = b"\n"  # blank: not a row, but a line
    lines[11] = b'{"id": "broken", "completion": \n'  # malformed JSON
    lines[150] = b"[1, 2]\n"  # not an object
    lines[151] = b'{"id": "no-completion", "reference": "x"}\n'
    lines[152] = b'{"id": [1], "completion": "x"}\n'  # bad id type
    lines[153] = b'{"id": "latin1", "completion": "caf\xe9"}\n'  # not UTF-8
    lines[154] = b'{"completion": "no id"}\n'  # id generated from the row index
    lines[155] = b"  \t \n"  # whitespace only: blank too
    # A long row across the middle of the file, where a two-way split looks for a cut.
    middle = sum(len(line) for line in lines) // 2
    size = 0
    position = 0
    while size + len(lines[position]) < middle - 100:
        size += len(lines[position])
        position += 1
    lines[position] = (
        json.dumps({"id": "long", "completion": "<answer>" + "x" * 5000 + "</answer>"}).encode()
        + b"\n"
    )
    path.write_bytes(b"".join(lines))
    return path


def _log_content(log_dir: Path) -> list[tuple[object, ...]]:
    query = (
        "SELECT row_index, id, reward, status, reason, components, info, input_hash, versions "
        f"FROM read_parquet('{log_dir}/**/part-*.parquet') ORDER BY row_index"
    )
    return duckdb.sql(query).fetchall()


def _helper_parts(log_dir: Path) -> list[Path]:
    # A helper's parts carry the parent writer's token plus its index: part-<token>-<NNN>-...
    return [p for p in log_dir.rglob("part-*.parquet") if p.name.count("-") == 4]


def _one_process_then_split(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: Path,
    spec: rewardsmith.Spec,
    helpers: int,
) -> tuple[dict[str, object], dict[str, object]]:
    """Score ``source`` in one process (out one.jsonl, log l1), then split across ``helpers``
    (out split.jsonl, log l2), checking that it was split; both summaries."""
    one = score_file(
        source, spec, output=tmp_path / "one.jsonl", log_dir=tmp_path / "l1", workers=1
    )
    monkeypatch.setattr(files, "MIN_BYTES", 1)
    split = score_file(
        source, spec, output=tmp_path / "split.jsonl", log_dir=tmp_path / "l2", workers=helpers
    )
    assert len(_helper_parts(tmp_path / "l2")) >= 2, "the file was not split"
    return one, split


@pytest.mark.parametrize("helpers", [2, 3])
def test_split_run_matches_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helpers: int
) -> None:
    source = _file_with_bad_rows(tmp_path / "rows.jsonl")
    spec = rewardsmith.load_spec(QA_SPEC)
    one, split = _one_process_then_split(tmp_path, monkeypatch, source, spec, helpers)
    assert (tmp_path / "split.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert _log_content(tmp_path / "l2") == _log_content(tmp_path / "l1")
    for key in ("rows", "scored", "status_counts", "first_reasons", "resumed_rows"):
        assert split[key] == one[key], key
    assert split["mean_reward"] == pytest.approx(one["mean_reward"])
    assert split["component_means"] == pytest.approx(one["component_means"])
    out = [json.loads(line) for line in (tmp_path / "split.jsonl").read_text().splitlines()]
    assert len(out) == 600 - 2  # two blank lines
    reasons = {row["id"]: row["reason"] for row in out}
    assert "line 12: malformed JSON" in reasons["row-10"]
    assert "line 151: expected a JSON object" in reasons["row-149"]
    assert reasons["no-completion"].startswith("row 150: field 'completion': missing")
    assert reasons["row-151"].startswith("row 151: field 'id'")
    assert "line 154: not valid UTF-8" in reasons["row-152"]
    assert "row-153" in reasons and reasons["long"] == ""
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    runs = RunLog(tmp_path / "l2").runs()
    assert runs[-1].status == "completed" and runs[-1].row_count() == 598


def test_ranges_cut_at_line_starts_and_counts_match(tmp_path: Path) -> None:
    source = _file_with_bad_rows(tmp_path / "rows.jsonl")
    data = source.read_bytes()
    for parts in (1, 2, 3, 7):
        ranges = split_ranges(source, parts)
        assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
        assert all(data[start - 1 : start] == b"\n" for start, _ in ranges[1:])
        for start, end in ranges:
            lines = data[start:end].splitlines()
            assert count_lines(source, start, end) == (
                len(lines),
                sum(1 for line in lines if line.strip()),
            )
    # One line longer than the file's share per part: fewer ranges, never an empty one.
    (tmp_path / "one.jsonl").write_bytes(b'{"completion": "' + b"x" * 1000 + b'"}\n{}\n')
    assert split_ranges(tmp_path / "one.jsonl", 4) == [(0, 1019), (1019, 1022)]


def _probe_spec(tmp_path: Path, **params: object) -> Path:
    rendered = ", ".join(f"{key} = {json.dumps(value)}" for key, value in params.items())
    spec = tmp_path / "spec.toml"
    spec.write_text(
        f'[[terms]]\nname = "probe"\nuse = "sample_rewards:split_probe"\nparams = {{ {rendered} }}\n'
    )
    return spec


def _gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if state != "Z":
            return False
    return True


@pytest.mark.parametrize("command", ["CRASH", "KILL"])
def test_a_helper_crash_fails_the_run_and_names_the_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    pids = tmp_path / "pids.txt"
    rows = [{"id": f"q{i}", "completion": "ok" * (i % 5), "n": i} for i in range(400)]
    rows[300]["completion"] = command
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    spec = rewardsmith.load_spec(_probe_spec(tmp_path, pids_file=str(pids)))
    monkeypatch.setattr(files, "MIN_BYTES", 1)
    expected = "exit status 3" if command == "CRASH" else "killed by signal SIGKILL"
    with pytest.raises(EngineError, match=f"file scoring helper 1 .* died: {expected}"):
        score_file(source, spec, output=tmp_path / "out.jsonl", workers=2)
    helper_pids = [int(line) for line in pids.read_text().split()]
    assert len(helper_pids) == 2 and os.getpid() not in helper_pids
    assert _gone(helper_pids), "a helper outlived the failed run"
    assert not (tmp_path / "out.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert RunLog().runs()[-1].status == "failed"


# -- the command: Ctrl-C and kill -9 in the middle of a split run, then --resume ---------------

ROWS = 2000  # ~4.4 MB with the padding below: over the size that splits


def _prepare_cli(tmp_path: Path) -> tuple[Path, Path]:
    calls, pids = tmp_path / "calls.txt", tmp_path / "pids.txt"
    (tmp_path / "rows.jsonl").write_text(
        "".join(
            json.dumps({"id": f"q{i}", "n": i, "completion": f"{i}:" + "y" * 2200}) + "\n"
            for i in range(ROWS)
        )
    )
    # Each helper's first 500 rows take ~1 s (so a log part is written), then its rows wait
    # for the gate file: the run cannot finish before the signal.
    _probe_spec(
        tmp_path,
        calls_file=str(calls),
        pids_file=str(pids),
        delay_s=0.002,
        gate_file=str(tmp_path / "gate"),
        gate_every=1000,
    )
    return calls, pids


def _finish_with_resume(tmp_path: Path, calls: Path, log: RunLog) -> None:
    (tmp_path / "gate").touch()
    done_before = {row.id for row in log.runs()[-1].logged_rows().values()}
    calls_before = len(calls.read_text().splitlines())
    resumed = start_score(tmp_path, "--resume")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert f"resumed rows: {len(done_before)}" in out
    again = {line.split()[1] for line in calls.read_text().splitlines()[calls_before:]}
    assert not again & done_before, "rows already in the log were scored again"
    out_rows = [json.loads(line) for line in (tmp_path / "rows.scored.jsonl").open()]
    assert [row["id"] for row in out_rows] == [f"q{i}" for i in range(ROWS)]
    assert [row["reward"] for row in out_rows] == [
        float(len(f"{i}:" + "y" * 2200) % 7) for i in range(ROWS)
    ]
    run = log.runs()[-1]
    assert len(log.runs()) == 1 and run.manifest["status"] == "completed"
    assert sorted(run.logged_rows()) == list(range(ROWS))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_split_run_leaves_no_helper_and_resumes_exactly(
    tmp_path: Path, isolated_run_log: Path, stop: signal.Signals
) -> None:
    calls, pids = _prepare_cli(tmp_path)
    log = RunLog(isolated_run_log)
    process = start_score(tmp_path)
    wait_for_logged_rows(log, 16)
    helper_pids = [int(line) for line in pids.read_text().split()]
    assert len(helper_pids) == 2 and process.pid not in helper_pids
    process.send_signal(stop)
    _, err = process.communicate(timeout=30)
    if stop == signal.SIGINT:
        assert process.returncode == 130, err
        assert "rerun with --resume" in err
        assert log.runs()[-1].status == "interrupted"
    deadline = time.monotonic() + 10
    while not _gone(helper_pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(helper_pids), "a helper outlived the run"
    _finish_with_resume(tmp_path, calls, log)


def test_split_run_reports_sandbox_levels_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands = ["ok", "weak", "refused", "ok"] * 50
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps({"completion": c}) + "\n" for c in commands))
    spec = rewardsmith.load_spec("sample_rewards:sandboxed")
    one, split = _one_process_then_split(tmp_path, monkeypatch, source, spec, 2)
    assert split["sandbox"] == one["sandbox"]
    assert split["sandbox"]["levels"] == {"isolated": 150, "trusted-code-only": 50}
    assert split["first_reasons"] == one["first_reasons"]
    manifests = [RunLog(tmp_path / name).runs()[-1].manifest for name in ("l1", "l2")]
    assert manifests[0]["sandbox"] == manifests[1]["sandbox"]


@pytest.mark.parametrize("ending", ["crlf", "no final newline"])
def test_line_endings_split_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ending: str
) -> None:
    lines = [line.rstrip(b"\n") for line in _qa_rows(300)]
    lines[40] = b"   "
    data = (
        b"\r\n".join(lines) + b"\r\n" if ending == "crlf" else b"\n".join(lines)  # no final \n
    )
    source = tmp_path / "rows.jsonl"
    source.write_bytes(data)
    spec = rewardsmith.load_spec(QA_SPEC)
    one, split = _one_process_then_split(tmp_path, monkeypatch, source, spec, 3)
    assert (tmp_path / "split.jsonl").read_bytes() == (tmp_path / "one.jsonl").read_bytes()
    assert _log_content(tmp_path / "l2") == _log_content(tmp_path / "l1")
    assert split["rows"] == one["rows"] == 299


def test_a_process_running_other_threads_scores_in_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forking beside a thread that holds a lock could hang a helper forever: not split."""
    monkeypatch.undo()  # the real check, not the fixture's
    source = _file_with_bad_rows(tmp_path / "rows.jsonl")
    spec = rewardsmith.load_spec(QA_SPEC)
    monkeypatch.setattr(files, "MIN_BYTES", 1)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        score_file(source, spec, output=tmp_path / "out.jsonl", log_dir=tmp_path / "log", workers=2)
    finally:
        stop.set()
        thread.join(5)
    assert _helper_parts(tmp_path / "log") == [], "split although another thread was running"
    assert RunLog(tmp_path / "log").runs()[-1].row_count() == 598

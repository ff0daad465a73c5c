"""Scoring a file in chunks gives the same numbers as scoring it whole, groups included."""

from __future__ import annotations

import json
from pathlib import Path

import sample_rewards  # noqa: F401 - registers the test rewards

import rewardsmith
from rewardsmith.engine.files import score_file


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _read(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_groups_are_never_split_across_chunks(tmp_path: Path) -> None:
    rows = [
        {"id": f"{g}-{i}", "group": g, "completion": "x" * (i + 1)}
        for g in ("a", "b", "c")
        for i in range(5)
    ]
    data = _write(tmp_path / "groups.jsonl", rows)
    spec = rewardsmith.load_spec("test.group_rank")
    score_file(data, spec, output=tmp_path / "out.jsonl", chunk_size=3, workers=1)
    whole = rewardsmith.score(rows, spec, workers=1)
    assert [row["reward"] for row in _read(tmp_path / "out.jsonl")] == [s.value for s in whole]
    assert [row["reward"] for row in _read(tmp_path / "out.jsonl")][:5] == [
        0.0,
        0.25,
        0.5,
        0.75,
        1.0,
    ]


def test_a_group_split_apart_in_the_file_is_an_error_not_a_wrong_number(tmp_path: Path) -> None:
    rows = [
        {"id": "a1", "group": "a", "completion": "x"},
        {"id": "a2", "group": "a", "completion": "xx"},
        {"id": "b1", "group": "b", "completion": "x"},
        {"id": "a3", "group": "a", "completion": "xxx"},
    ]
    data = _write(tmp_path / "split.jsonl", rows)
    summary = score_file(
        data,
        rewardsmith.load_spec("test.group_rank"),
        output=tmp_path / "out.jsonl",
        chunk_size=2,
        workers=1,
    )
    out = _read(tmp_path / "out.jsonl")
    assert [row["status"] for row in out] == ["ok", "ok", "ok", "error"]
    assert "group 'a' reappears" in str(out[3]["reason"])
    assert summary["status_counts"]["error"] == 1


def test_advantages_are_written_beside_rewards(tmp_path: Path) -> None:
    rows = [
        {"id": f"r{i}", "group": "g", "completion": "ok" if i < 2 else "no", "reference": "ok"}
        for i in range(4)
    ]
    data = _write(tmp_path / "adv.jsonl", rows)
    spec = rewardsmith.load_spec(
        {"terms": [{"name": "t", "use": "test.behaves"}], "normalize": {"method": "grpo"}}
    )
    score_file(data, spec, output=tmp_path / "out.jsonl", workers=1)
    out = _read(tmp_path / "out.jsonl")
    advantages = [row["advantage"] for row in out]
    assert advantages[0] == advantages[1] > 0 > advantages[2] == advantages[3]
    assert abs(sum(advantages)) < 1e-9  # type: ignore[arg-type]


def test_progress_reports_rows_rate_and_eta(tmp_path: Path) -> None:
    from rewardsmith.engine.files import FileProgress

    data = tmp_path / "rows.jsonl"
    data.write_text(
        "".join(json.dumps({"id": str(i), "completion": "x" * i}) + "\n" for i in range(50))
    )
    seen: list[FileProgress] = []
    summary = score_file(
        data,
        rewardsmith.load_spec("test.inline_len"),
        output=tmp_path / "out.jsonl",
        chunk_size=10,
        progress=seen.append,
    )
    assert [p.rows for p in seen] == [10, 20, 30, 40, 50]
    assert seen[-1].fraction == 1.0 and seen[-1].eta_s == 0.0
    assert all(p.rows_per_s > 0 for p in seen)
    assert summary["rows"] == 50
    assert [row["reward"] for row in _read(tmp_path / "out.jsonl")] == [float(i) for i in range(50)]

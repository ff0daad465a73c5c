"""Streaming reads and writes: one pass, chunk by chunk, atomic output."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rewardsmith import Score
from rewardsmith.io.readers import ChunkReader
from rewardsmith.io.writers import RowWriter


def test_a_line_with_two_values_is_an_error_row_and_shifts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b"}, {"id": "c"}\n{"id": "d"}\n')
    reader = ChunkReader(path, chunk_size=10)
    [rows] = list(reader)
    assert rows[0] == {"id": "a"}
    assert isinstance(rows[1], Score) and "line 2: malformed JSON" in rows[1].reason
    assert rows[2] == {"id": "d"}
    assert reader.fraction == 1.0


def test_reader_reports_how_far_it_is(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"id": str(i)}) + "\n" for i in range(100)))
    reader = ChunkReader(path, chunk_size=25)
    seen = []
    for chunk in reader:
        seen.append((len(chunk), reader.fraction))
    assert [n for n, _ in seen] == [25] * 4
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] < 0.3  # type: ignore[operator]


def test_jsonl_writer_is_atomic(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    with pytest.raises(RuntimeError), RowWriter(out) as writer:
        writer.write([{"id": "a"}])
        raise RuntimeError("scoring failed")
    assert out.read_text() == "old\n"  # the previous output is untouched
    assert list(tmp_path.iterdir()) == [out]  # and no temp file is left
    with RowWriter(out) as writer:
        writer.write([{"id": "a"}])
        writer.write([{"id": "b", "reward": 1.0}])
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"id": "a"},
        {"id": "b", "reward": 1.0},
    ]


def test_parquet_writer_streams_and_falls_back_when_columns_change(tmp_path: Path) -> None:
    steady = tmp_path / "steady.parquet"
    with RowWriter(steady) as writer:
        writer.write([{"id": "a", "reward": 1.0, "reference": "x"}])
        writer.write([{"id": "b", "reward": None, "reference": "y"}])
    assert pq.ParquetFile(steady).metadata.num_row_groups == 2  # one per chunk: streamed
    assert pq.read_table(steady).to_pylist()[1] == {"id": "b", "reward": None, "reference": "y"}

    mixed = tmp_path / "mixed.parquet"
    with RowWriter(mixed) as writer:
        writer.write([{"id": "a", "reward": 1.0, "reference": "x"}])
        writer.write([{"id": "b", "reward": 0.0, "reference": {"k": 1}}])  # type changes
        writer.write([{"id": "c", "reward": 0.5, "reference": "z", "late": 3}])  # new column
    rows = pq.read_table(mixed).to_pylist()
    assert [row["id"] for row in rows] == ["a", "b", "c"]
    assert [row["reward"] for row in rows] == [1.0, 0.0, 0.5]
    assert json.loads(rows[1]["reference"]) == {"k": 1}
    assert rows[2]["late"] == "3"

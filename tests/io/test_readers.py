from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rewardsmith import InputError, Score
from rewardsmith.io.readers import count_rows, read_rows


def test_bad_lines_become_error_rows_and_the_rest_are_read(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(
        b'{"id": "a", "completion": "x"}\n'
        b"\n"
        b'{"id": "b", "completion": \n'
        b'{"id": "c", "completion": "caf\xe9"}\n'
        b"[1, 2]\n"
        b'{"id": "d", "completion": "y"}\n'
    )
    rows = read_rows(path)
    assert len(rows) == 5
    assert rows[0] == {"id": "a", "completion": "x"}
    assert isinstance(rows[1], Score)
    assert "rows.jsonl line 3: malformed JSON" in rows[1].reason
    assert isinstance(rows[2], Score)
    assert "line 4: not valid UTF-8" in rows[2].reason
    assert isinstance(rows[3], Score)
    assert "line 5: expected a JSON object, got list" in rows[3].reason
    assert rows[4] == {"id": "d", "completion": "y"}
    assert count_rows(path) == 5


def test_gzipped_jsonl_and_parquet_are_read(tmp_path: Path) -> None:
    gz = tmp_path / "rows.jsonl.gz"
    gz.write_bytes(gzip.compress(b'{"completion": "a"}\n{"completion": "b"}\n'))
    assert [r["completion"] for r in read_rows(gz)] == ["a", "b"]  # type: ignore[index]
    parquet = tmp_path / "rows.parquet"
    pq.write_table(
        pa.Table.from_pylist([{"id": "p", "completion": "z", "reference": {"k": 1}}]), parquet
    )
    assert read_rows(parquet) == [{"id": "p", "completion": "z", "reference": {"k": 1}}]
    assert count_rows(parquet) == 1


def test_unreadable_files_raise_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_rows(tmp_path / "absent.jsonl")
    fake = tmp_path / "fake.parquet"
    fake.write_text("not parquet")
    with pytest.raises(InputError, match=r"fake\.parquet: not a readable Parquet file"):
        read_rows(fake)
    with pytest.raises(InputError, match="unknown file type"):
        read_rows(Path(__file__))

"""Files that once stopped a whole run: deep nesting, rows without components in Parquet."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rewardsmith import Score
from rewardsmith.io.readers import MAX_DEPTH, ChunkReader, nesting_depth, read_rows
from rewardsmith.io.writers import RowWriter, write_rows


def deep(levels: int, kind: str = "list") -> str:
    """A row nested ``levels`` deep: the row object and ``levels - 1`` arrays (or objects)."""
    opening, closing = ("[", "]") if kind == "list" else ('{"k": ', "}")
    inner = opening * (levels - 1) + "1" + closing * (levels - 1)
    return f'{{"id": "deep{levels}", "completion": "x", "extra": {inner}}}'


@pytest.mark.parametrize("chunk_size", [1, 1000])
def test_a_line_nested_999_levels_is_an_error_row_naming_it(
    tmp_path: Path, chunk_size: int
) -> None:
    lines = [
        json.dumps({"id": "a", "completion": "x"}),
        deep(999),
        json.dumps({"id": "b", "completion": "[[[[not json nesting]]]]"}),
        deep(20_000, "dict"),
        deep(MAX_DEPTH - 2),  # within the limit: a normal row
        json.dumps({"id": "c", "completion": "x"}),
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rows = [row for chunk in ChunkReader(path, chunk_size) for row in chunk]
    assert len(rows) == 6
    assert [row["id"] for row in rows if isinstance(row, dict)] == [
        "a",
        "b",
        f"deep{MAX_DEPTH - 2}",
        "c",
    ]
    for position, line in ((1, 2), (3, 4)):
        failed = rows[position]
        assert isinstance(failed, Score) and failed.status == "error"
        assert f"rows.jsonl line {line}: nested" in failed.reason
        assert f"limit of {MAX_DEPTH}" in failed.reason


def test_depth_ignores_brackets_inside_strings() -> None:
    text = json.dumps({"a": "[" * 5000, "b": "{" * 5000}).encode()
    assert nesting_depth(text) <= MAX_DEPTH
    assert nesting_depth(deep(MAX_DEPTH + 5).encode()) == MAX_DEPTH + 5


def test_parquet_output_of_rows_without_components(tmp_path: Path) -> None:
    rows = [{"id": str(i), "reward": None, "status": "error", "components": {}} for i in range(3)]
    write_rows(tmp_path / "all.parquet", rows)
    assert [r["id"] for r in pq.read_table(tmp_path / "all.parquet").to_pylist()] == ["0", "1", "2"]
    # Chunk by chunk: empty first, components later; an empty dict nested in an input column.
    with RowWriter(tmp_path / "chunks.parquet") as writer:
        writer.write([{"id": "a", "components": {}, "meta": {"tags": {}}}])
        writer.write([{"id": "b", "components": {"f1": 0.5}, "meta": {"tags": {}}}])
    got = pq.read_table(tmp_path / "chunks.parquet").to_pylist()
    assert [r["id"] for r in got] == ["a", "b"]
    assert got[1]["components"] == {"f1": 0.5}
    assert json.loads(got[0]["meta"]) == {"tags": {}}


def test_read_rows_keeps_going_after_a_deep_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(deep(5000) + "\n" + json.dumps({"id": "z"}) + "\n")
    first, second = read_rows(path)
    assert isinstance(first, Score) and second == {"id": "z"}

"""Write scored rows as JSONL or Parquet, atomically (temp file, then rename).

`RowWriter` writes as rows come (JSONL line by line, Parquet a row group per chunk), so
scoring a file holds one chunk in memory, not the whole output.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from rewardsmith.core.score import Score
from rewardsmith.io.readers import file_format

__all__ = ["RESULT_FIELDS", "RowWriter", "output_row", "parquet_safe", "write_rows"]

RESULT_FIELDS = ("reward", "status", "reason", "components", "advantage")

_encoder = msgspec.json.Encoder(enc_hook=repr)


def output_row(row_id: str, score: Score, source: Any = None) -> dict[str, Any]:
    """The input row (when it was a readable object) with ``id`` and the result fields added,
    plus ``advantage`` when the spec normalizes rewards into advantages."""
    out: dict[str, Any] = dict(source) if isinstance(source, dict) else {}
    out["id"] = row_id
    out["reward"] = score.value
    out["status"] = score.status
    out["reason"] = score.reason
    out["components"] = score.components
    if "advantage" in score.info:  # the spec has a [normalize] table
        out["advantage"] = score.info["advantage"]
    return out


def write_rows(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write rows to ``path`` (format from the extension) through a temp file and a rename."""
    with RowWriter(path) as writer:
        writer.write(list(rows))


class RowWriter:
    """Write chunks of rows to a temp file beside ``path``; renamed into place on a clean exit
    from the ``with`` block, removed on an error (the old output, if any, stays untouched).

    Parquet: each chunk becomes a row group. A chunk whose columns do not fit the schema of the
    first (a column that changes type, or appears late) sends the writer to its fallback: it
    reads back what it wrote and writes everything as one table at the end, with mixed-type
    input columns stored as JSON text.

    Example:
        >>> with RowWriter("out.jsonl") as writer:  # doctest: +SKIP
        ...     writer.write([{"id": "a", "reward": 1.0}])
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.format = file_format(self.path)
        self.temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._handle: Any = None
        self._parquet: Any = None
        self._held: list[dict[str, Any]] | None = None  # the Parquet fallback
        self._schema: Any = None

    def __enter__(self) -> RowWriter:
        if self.format == "jsonl":
            self._handle = self.temp.open("wb", buffering=1 << 20)
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Append rows (in order)."""
        if not rows:
            return
        if self.format == "jsonl":
            self._handle.write(_encoder.encode_lines(rows))
        elif self._held is not None:
            self._held.extend(rows)
        else:
            self._write_parquet_chunk(rows)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        try:
            if self._handle is not None:
                self._handle.close()
            if self._parquet is not None:
                self._parquet.close()
            if exc_type is None:
                if self._held is not None:
                    _write_parquet(self.temp, self._held)
                elif self.format == "parquet" and self._parquet is None:
                    _write_parquet(self.temp, [])
                os.replace(self.temp, self.path)
        finally:
            self.temp.unlink(missing_ok=True)

    def _write_parquet_chunk(self, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            names = list(dict.fromkeys(key for row in rows for key in row))
            if any(len(row) != len(names) for row in rows):
                raise ValueError("rows of this chunk have different columns")
            table = pa.Table.from_pylist(rows)
            if any(_nested_empty_struct(field.type) for field in table.schema):
                # Stored as JSON text, which a later chunk read back could not be told from
                # real text: hold the rows and write them as one table at the end.
                raise ValueError("an empty object nested in a column")
            table = parquet_safe(table)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.temp, table.schema)
                self._schema = table.schema
            elif table.schema != self._schema:
                schema = self._schema
                if set(table.schema.names) != set(schema.names):
                    raise ValueError("the chunk's columns differ from the first chunk's")
                table = table.select(schema.names).cast(schema)
            self._parquet.write_table(table)
        except (
            pa.ArrowInvalid,
            pa.ArrowTypeError,
            pa.ArrowNotImplementedError,
            KeyError,
            ValueError,
        ):
            self._fall_back(rows)

    def _fall_back(self, rows: list[dict[str, Any]]) -> None:
        import pyarrow.parquet as pq

        held: list[dict[str, Any]] = []
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
            held = pq.read_table(self.temp).to_pylist()
        held.extend(rows)
        self._held = held


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # pyarrow takes the columns from the first row: give every row every column.
    names = list(dict.fromkeys(key for row in rows for key in row))
    if any(len(row) != len(names) for row in rows):
        rows = [{name: row.get(name) for name in names} for row in rows]
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # Input columns of mixed types (a reference that is text here and a dict there) are
        # stored as JSON text; the result columns keep their types.
        table = pa.Table.from_pylist([_jsonify_inputs(row) for row in rows])
    pq.write_table(parquet_safe(table), path)


def parquet_safe(table: Any) -> Any:
    """``table`` with every column Parquet can store: Parquet has no struct without fields,
    which is what pyarrow infers for a column of empty dicts (``components`` when no term
    gave one). Such a column is stored as nulls; a column with an empty struct deeper inside
    is stored as JSON text."""
    import pyarrow as pa

    for position, field in enumerate(table.schema):
        if not _has_empty_struct(field.type):
            continue
        if not _nested_empty_struct(field.type):
            column = pa.nulls(table.num_rows)
        else:
            values = table.column(position).to_pylist()
            column = pa.array(
                [None if v is None else _encoder.encode(v).decode() for v in values], pa.string()
            )
        table = table.set_column(position, pa.field(field.name, column.type), column)
    return table


def _nested_empty_struct(data_type: Any) -> bool:
    """An empty struct somewhere below the top of the type (not the type itself)."""
    import pyarrow as pa

    if pa.types.is_struct(data_type):
        return any(_has_empty_struct(data_type.field(i).type) for i in range(data_type.num_fields))
    return _has_empty_struct(data_type)


def _has_empty_struct(data_type: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_struct(data_type):
        return data_type.num_fields == 0 or any(
            _has_empty_struct(data_type.field(i).type) for i in range(data_type.num_fields)
        )
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return _has_empty_struct(data_type.value_type)
    if pa.types.is_map(data_type):
        return _has_empty_struct(data_type.key_type) or _has_empty_struct(data_type.item_type)
    return False


def _jsonify_inputs(row: dict[str, Any]) -> dict[str, Any]:
    keep = {"id", *RESULT_FIELDS}
    return {
        key: value if key in keep or value is None else _encoder.encode(value).decode()
        for key, value in row.items()
    }

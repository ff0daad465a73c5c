"""Write scored rows as JSONL or Parquet, atomically (temp file, then rename)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from rewardsmith.core.score import Score
from rewardsmith.io.readers import file_format

__all__ = ["RESULT_FIELDS", "output_row", "write_rows"]

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
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if file_format(path) == "parquet":
            _write_parquet(temp, list(rows))
        else:
            with temp.open("wb") as handle:
                for row in rows:
                    handle.write(_encoder.encode(row))
                    handle.write(b"\n")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # Input columns of mixed types (a reference that is text here and a dict there) are
        # stored as JSON text; the result columns keep their types.
        table = pa.Table.from_pylist([_jsonify_inputs(row) for row in rows])
    pq.write_table(table, path)


def _jsonify_inputs(row: dict[str, Any]) -> dict[str, Any]:
    keep = {"id", *RESULT_FIELDS}
    return {
        key: value if key in keep or value is None else _encoder.encode(value).decode()
        for key, value in row.items()
    }

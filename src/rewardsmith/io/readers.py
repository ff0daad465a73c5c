"""Read input rows from JSONL or Parquet, turning each unreadable line into an error row.

A line that is not UTF-8 or not JSON costs that line only: it becomes a `Score` with
``status="error"`` and a reason naming the file and line, and the rows around it are read as
usual. A file that cannot be opened at all raises `InputError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from rewardsmith.core.errors import InputError
from rewardsmith.core.score import Score

__all__ = ["count_rows", "file_format", "iter_row_chunks", "read_rows"]

_decoder = msgspec.json.Decoder()

RawRow = dict[str, Any] | Score


def file_format(path: str | Path) -> str:
    """``jsonl`` or ``parquet``, from the file name; anything else is an `InputError`."""
    name = str(path).lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise InputError(f"{path}: unknown file type; use .jsonl or .parquet")


def read_rows(path: str | Path) -> list[RawRow]:
    """Every row of a JSONL or Parquet file, in order."""
    return [row for chunk in iter_row_chunks(path) for row in chunk]


def iter_row_chunks(path: str | Path, chunk_size: int = 1024) -> Iterator[list[RawRow]]:
    """Rows in chunks, for files larger than memory would like."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if file_format(path) == "parquet":
        yield from _parquet_chunks(path, chunk_size)
    else:
        yield from _jsonl_chunks(path, chunk_size)


def count_rows(path: str | Path) -> int:
    """The number of rows (non-blank lines for JSONL), read cheaply for progress bars."""
    path = Path(path)
    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with _open_binary(path) as handle:
        return sum(1 for line in handle if line.strip())


def _open_binary(path: Path) -> Any:
    try:
        if str(path).endswith(".gz"):
            import gzip

            return gzip.open(path, "rb")
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from None


def _jsonl_chunks(path: Path, chunk_size: int) -> Iterator[list[RawRow]]:
    chunk: list[RawRow] = []
    with _open_binary(path) as handle:
        try:
            for line_number, raw in enumerate(handle, 1):
                if not raw.strip():
                    continue
                chunk.append(_decode_line(raw, path, line_number))
                if len(chunk) >= chunk_size:
                    yield chunk
                    chunk = []
        except OSError as exc:  # e.g. a truncated .gz
            raise InputError(f"{path}: read failed after line {line_number}: {exc}") from None
    if chunk:
        yield chunk


def _decode_line(raw: bytes, path: Path, line_number: int) -> RawRow:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Score.fail(
            "error",
            f"{path.name} line {line_number}: not valid UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})",
            line=line_number,
        )
    try:
        row = _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        return Score.fail(
            "error", f"{path.name} line {line_number}: malformed JSON: {exc}", line=line_number
        )
    if not isinstance(row, dict):
        return Score.fail(
            "error",
            f"{path.name} line {line_number}: expected a JSON object, got {type(row).__name__}",
            line=line_number,
        )
    return row


def _parquet_chunks(path: Path, chunk_size: int) -> Iterator[list[RawRow]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
    for batch in parquet.iter_batches(batch_size=chunk_size):
        yield list(batch.to_pylist())

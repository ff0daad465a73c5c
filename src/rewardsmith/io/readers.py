"""Read input rows from JSONL or Parquet, turning each unreadable line into an error row.

A line that is not UTF-8 or not JSON costs that line only: it becomes a `Score` with
``status="error"`` and a reason naming the file and line, and the rows around it are read as
usual. A file that cannot be opened at all raises `InputError`.

Files are read once, in chunks (`ChunkReader`), so memory stays flat in the number of rows; a
chunk of JSONL lines is decoded by msgspec in one call, line by line only when one is bad.

A line nested deeper than `MAX_DEPTH` levels is an error row too, found before it is decoded:
decoding, hashing and pickling such a value recurse once per level, and past the interpreter's
recursion limit that is a RecursionError that would end the whole file, not one row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from rewardsmith.core.errors import InputError
from rewardsmith.core.score import Score

__all__ = [
    "MAX_DEPTH",
    "ChunkReader",
    "count_lines",
    "count_rows",
    "file_format",
    "iter_row_chunks",
    "read_rows",
]

MAX_DEPTH = 256
"""Deepest nesting of arrays and objects a JSONL line may have (real rows stay under ~20)."""

_decoder = msgspec.json.Decoder()
_list_decoder = msgspec.json.Decoder(list[Any])

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
    return iter(ChunkReader(path, chunk_size))


class ChunkReader:
    """Iterate a file's rows in chunks, reading it once, and say how far along it is.

    Example:
        >>> reader = ChunkReader("rows.jsonl", 512)  # doctest: +SKIP
        >>> for chunk in reader:                       # doctest: +SKIP
        ...     print(len(chunk), reader.fraction)
    """

    def __init__(
        self,
        path: str | Path,
        chunk_size: int = 1024,
        *,
        byte_range: tuple[int, int] | None = None,
        first_line: int = 1,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such file")
        self.chunk_size = chunk_size
        self.format = file_format(self.path)
        self.byte_range = byte_range
        """Read only these bytes (start at a line start, end after a newline or at the end
        of the file) of an uncompressed JSONL file; ``first_line`` numbers the first line."""
        self.first_line = first_line
        self._done = 0
        self._total: int | None = None
        if byte_range is not None and (self.format != "jsonl" or str(self.path).endswith(".gz")):
            raise InputError(f"{self.path}: only uncompressed JSONL can be read by byte range")
        if self.format == "parquet":
            self._total = None  # set when the file is opened
        elif byte_range is not None:
            self._total = byte_range[1] - byte_range[0]
        elif not str(self.path).endswith(".gz"):
            self._total = self.path.stat().st_size

    @property
    def fraction(self) -> float | None:
        """The share of the input read so far (bytes for JSONL, rows for Parquet), or None
        when the size is unknown (gzip)."""
        if not self._total:
            return None
        return min(1.0, self._done / self._total)

    def __iter__(self) -> Iterator[list[RawRow]]:
        if self.format == "parquet":
            yield from self._parquet_chunks()
        else:
            yield from self._jsonl_chunks()

    def _jsonl_chunks(self) -> Iterator[list[RawRow]]:
        path, size = self.path, self.chunk_size
        lines: list[bytes] = []
        numbers: list[int] = []
        line_number = self.first_line - 1
        left = -1  # bytes of the range still to read; -1: to the end of the file
        with _open_binary(path) as handle:
            if self.byte_range is not None:
                handle.seek(self.byte_range[0])
                left = self.byte_range[1] - self.byte_range[0]
            try:
                for line_number, raw in enumerate(handle, self.first_line):
                    if left >= 0:
                        if left == 0:
                            break
                        left -= len(raw)
                    self._done += len(raw)
                    if not raw.strip():
                        continue
                    lines.append(raw)
                    numbers.append(line_number)
                    if len(lines) >= size:
                        yield _decode_lines(lines, numbers, path)
                        lines, numbers = [], []
            except OSError as exc:  # e.g. a truncated .gz
                raise InputError(f"{path}: read failed after line {line_number}: {exc}") from None
        if lines:
            yield _decode_lines(lines, numbers, path)

    def _parquet_chunks(self) -> Iterator[list[RawRow]]:
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(self.path)
        except Exception as exc:
            raise InputError(f"{self.path}: not a readable Parquet file: {exc}") from None
        self._total = int(parquet.metadata.num_rows)
        for batch in parquet.iter_batches(batch_size=self.chunk_size):
            rows: list[RawRow] = list(batch.to_pylist())
            self._done += len(rows)
            yield rows


def _decode_lines(lines: list[bytes], numbers: list[int], path: Path) -> list[RawRow]:
    """A chunk of JSONL lines in one msgspec call; line by line (with reasons) if one is bad."""
    too_deep = {
        position: depth
        for position, raw in enumerate(lines)
        if (depth := nesting_depth(raw, MAX_DEPTH)) > MAX_DEPTH
    }
    if too_deep:
        keep = [position for position in range(len(lines)) if position not in too_deep]
        decoded = _decode_lines([lines[p] for p in keep], [numbers[p] for p in keep], path)
        out: list[RawRow] = [_too_deep(path, numbers[p], d) for p, d in too_deep.items()]
        by_position = dict(zip(too_deep, out, strict=True))
        by_position.update(zip(keep, decoded, strict=True))
        return [by_position[position] for position in range(len(lines))]
    try:
        rows: list[RawRow] = _list_decoder.decode(b"[" + b",".join(lines) + b"]")
    except (msgspec.DecodeError, RecursionError):
        rows = []
    # A line holding two values ("1, 2") would shift every later row: then go line by line.
    if len(rows) != len(lines):
        return [_decode_line(raw, path, number) for raw, number in zip(lines, numbers, strict=True)]
    for position, row in enumerate(rows):
        if not isinstance(row, dict):
            rows[position] = _decode_line(lines[position], path, numbers[position])
    return rows


_BRACKETS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[{]}"))
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def nesting_depth(raw: bytes, limit: int = MAX_DEPTH) -> int:
    """How deeply arrays and objects nest in one JSON text (brackets inside strings do not
    count). Exact when the result is over ``limit``; any result <= ``limit`` means "within".

    A line holds at least as many opening brackets as it is deep, so most lines are settled by
    two C-level counts; only a line with more than ``limit`` of them is scanned.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return 0
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS).translate(_BRACKETS)
    depth = deepest = 0
    for step in brackets:  # 2 opens a level, 0 closes one
        depth += step - 1
        if depth > deepest:
            deepest = depth
    return deepest


def _too_deep(path: Path, line_number: int, depth: int) -> Score:
    return Score.fail(
        "error",
        f"{path.name} line {line_number}: nested {depth} levels deep, over the limit of "
        f"{MAX_DEPTH} (rewardsmith.io.readers.MAX_DEPTH)",
        line=line_number,
    )


# A newline followed by a line of ASCII whitespace (what ``bytes.strip`` removes): a blank line.
_BLANK_AFTER = re.compile(rb"\n(?=[ \t\r\x0b\x0c]*\n)")


def count_lines(path: str | Path, start: int, end: int) -> tuple[int, int]:
    """Lines and rows (non-blank lines) of bytes ``start`` to ``end`` of a JSONL file, where
    ``start`` is a line start; counted in C a block at a time, not line by line."""
    lines = rows = 0
    block = 1 << 22
    with Path(path).open("rb") as handle:
        handle.seek(start)
        left = end - start
        carry = b""
        while left > 0:
            data = handle.read(min(block, left))
            if not data:
                break
            left -= len(data)
            data = carry + data
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            whole = data[:cut]
            count = whole.count(b"\n")
            # The newline put in front stands for the line start before the block's first line.
            blank = len(_BLANK_AFTER.findall(b"\n" + whole)) if count else 0
            lines += count
            rows += count - blank
        if carry:  # the file's last line, without a newline
            lines += 1
            rows += 1 if carry.strip() else 0
    return lines, rows


def count_rows(path: str | Path) -> int:
    """The number of rows (non-blank lines for JSONL), read cheaply for progress bars."""
    path = Path(path)
    if file_format(path) == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if not str(path).endswith(".gz"):
        return count_lines(path, 0, path.stat().st_size)[1]
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


def _decode_line(raw: bytes, path: Path, line_number: int) -> RawRow:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Score.fail(
            "error",
            f"{path.name} line {line_number}: not valid UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r})",
            line=line_number,
        )
    depth = nesting_depth(raw, MAX_DEPTH)
    if depth > MAX_DEPTH:
        return _too_deep(path, line_number, depth)
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

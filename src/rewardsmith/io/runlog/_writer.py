"""The background writer of one run's parts.

The scoring thread hands over records, column by column (`PartWriter.put`), and goes on; a
daemon thread buffers them and writes a part (`_parts.write_part`) every ``flush_rows`` rows or ``flush_s``
seconds, so a ``kill -9`` loses at most the last second. The queue is bounded: a scoring
thread that outruns the writer waits instead of piling up rows (an unbounded queue grew the
memory of long file runs with their length). A failed write is kept and raised to
the scoring thread at its next `put`, or at `raise_if_failed` after `stop`.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

from rewardsmith.io.runlog._parts import part_name, write_part, writer_token

__all__ = ["PartWriter"]

# Chunks of records the scoring thread may queue ahead of the writer thread.
_QUEUE_CHUNKS = 8

Columns = dict[str, list[Any]]


class PartWriter:
    """Writes one run's parts from a thread of its own, started by the first `put`."""

    def __init__(self, directory: Path, *, flush_rows: int, flush_s: float) -> None:
        self.dir = directory
        self.flush_rows = flush_rows
        self.flush_s = flush_s
        """Read at every wait, so a change applies to a running writer."""
        self._queue: queue.Queue[Columns | None] = queue.Queue(_QUEUE_CHUNKS)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.token = writer_token()
        """In every part name; a helper process's writer extends its parent's."""
        self._next_part = 1

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"run log writer failed: {self._error}") from self._error

    def put(self, columns: Columns) -> None:
        """Queue records (a list per field of the part schema) for the next part."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._write_loop, name="rewardsmith-runlog", daemon=True
            )
            self._thread.start()
        self._queue.put(columns)

    def write_now(self, columns: Columns) -> None:
        """Write ``columns`` as one part in the calling thread; raises on failure."""
        self._flush(columns)
        self.raise_if_failed()

    def stop(self) -> None:
        """Write every queued record, then end the thread (a no-op if it never started)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _write_loop(self) -> None:
        buffer: Columns = {}
        buffered = 0
        last_flush = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=self.flush_s)
            except queue.Empty:
                item = {}
            if item is None:
                self._flush(buffer)
                return
            if item:
                buffered += len(item["row_index"])
                if not buffer:
                    buffer = item
                else:
                    for name, values in item.items():
                        buffer[name].extend(values)
            if buffered >= self.flush_rows or (
                buffered and time.monotonic() - last_flush >= self.flush_s
            ):
                self._flush(buffer)
                buffer, buffered = {}, 0
                last_flush = time.monotonic()

    def _flush(self, columns: Columns) -> None:
        if not columns or not columns["row_index"] or self._error is not None:
            return
        try:
            write_part(self.dir, part_name(self.token, self._next_part), columns)
            self._next_part += 1
        except BaseException as exc:
            self._error = exc

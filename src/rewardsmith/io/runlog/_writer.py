"""The background writer of one run's parts.

The scoring thread hands over records (`PartWriter.put`) and goes on; a daemon thread buffers
them and writes a part (`_parts.write_part`) every ``flush_rows`` rows or ``flush_s``
seconds, so a ``kill -9`` loses at most the last second. A failed write is kept and raised to
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


class PartWriter:
    """Writes one run's parts from a thread of its own, started by the first `put`."""

    def __init__(self, directory: Path, *, flush_rows: int, flush_s: float) -> None:
        self.dir = directory
        self.flush_rows = flush_rows
        self.flush_s = flush_s
        """Read at every wait, so a change applies to a running writer."""
        self._queue: queue.Queue[list[dict[str, Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._token = writer_token()
        self._next_part = 1

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"run log writer failed: {self._error}") from self._error

    def put(self, records: list[dict[str, Any]]) -> None:
        """Queue ``records`` for the next part."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._write_loop, name="rewardsmith-runlog", daemon=True
            )
            self._thread.start()
        self._queue.put(records)

    def stop(self) -> None:
        """Write every queued record, then end the thread (a no-op if it never started)."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _write_loop(self) -> None:
        buffer: list[dict[str, Any]] = []
        last_flush = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=self.flush_s)
            except queue.Empty:
                item = []
            if item is None:
                self._flush(buffer)
                return
            buffer.extend(item)
            if len(buffer) >= self.flush_rows or (
                buffer and time.monotonic() - last_flush >= self.flush_s
            ):
                self._flush(buffer)
                buffer = []
                last_flush = time.monotonic()

    def _flush(self, records: list[dict[str, Any]]) -> None:
        if not records or self._error is not None:
            return
        try:
            write_part(self.dir, part_name(self._token, self._next_part), records)
            self._next_part += 1
        except BaseException as exc:
            self._error = exc

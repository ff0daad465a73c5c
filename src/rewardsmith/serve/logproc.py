"""`RunLogProcess`: the server's run log, written by a child process.

Logging every row in the server process cost about half its throughput at batch 256 (measured
with bench/serve.py: ~32k rows/s with the in-process writer against ~60k without a log): the
records, the Arrow conversion and the writer thread all hold the GIL that scoring and HTTP
need. Here the server only encodes each batch with msgpack (~1 µs/row) and writes it to a pipe;
a child process rebuilds the scores and appends them to the same `Run` as always. The run is
created (its manifest written) in the server, so the child needs no reward imports.

A full pipe blocks the sender: backpressure rather than unbounded memory. A dead child makes the
next append raise (the pipe has no reader), so rows are never dropped silently.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from rewardsmith.core.errors import EngineError
from rewardsmith.core.score import Score
from rewardsmith.io.runlog import Run

__all__ = ["RunLogProcess"]

_Batch = tuple[list[int], list[str], list[Score]]


class RunLogProcess:
    """Appends to ``run`` from a child process; same ``append``/``close`` as `Run`."""

    def __init__(self, run: Run) -> None:
        self.run_id = run.id
        self.manifest = run.manifest
        context = multiprocessing.get_context("spawn")
        child_end, self._conn = context.Pipe(duplex=False)  # (reader, writer)
        self._process = context.Process(
            target=_child_main,
            args=(child_end, str(run.dir), run.manifest),
            name="rewardsmith-runlog",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        self._encoder = msgspec.msgpack.Encoder(enc_hook=repr)
        self._lock = threading.Lock()
        self._closed = False

    @property
    def id(self) -> str:
        return self.run_id

    def append(
        self, row_indices: Iterable[int], ids: Iterable[str], scores: Iterable[Score]
    ) -> None:
        batch = (list(row_indices), list(ids), list(scores))
        try:
            payload = self._encoder.encode(batch)
        except (TypeError, OverflowError, ValueError):
            # A reward put something msgpack cannot hold in `info` (a huge int, an object):
            # log its repr rather than lose the row.
            safe = [
                msgspec.structs.replace(s, info={"info_repr": repr(s.info)[:4000]})
                for s in batch[2]
            ]
            payload = self._encoder.encode((batch[0], batch[1], safe))
        with self._lock:
            if self._closed:
                raise EngineError("the run log is closed")
            try:
                self._conn.send_bytes(payload)
            except OSError as exc:
                raise EngineError(
                    f"the run-log process is gone (exit code {self._process.exitcode}): {exc}"
                ) from exc

    def close(self, status: str = "completed") -> None:
        """Send the final status, wait for every row to be written, and check the child."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(OSError):  # a dead child is reported just below
                self._conn.send_bytes(self._encoder.encode(status))
            self._conn.close()
        self._process.join(60)
        if self._process.is_alive():
            self._process.kill()
            raise EngineError("the run-log process did not finish writing within 60 s")
        if self._process.exitcode != 0:
            raise EngineError(f"the run-log process failed (exit code {self._process.exitcode})")


def _child_main(conn: Any, directory: str, manifest: dict[str, Any]) -> None:
    decoder = msgspec.msgpack.Decoder(_Batch | str)
    run = Run(Path(directory), manifest)
    status = "interrupted"
    try:
        while True:
            try:
                item = decoder.decode(conn.recv_bytes())
            except EOFError:
                break
            if isinstance(item, str):
                status = item
                break
            indices, ids, scores = item
            run.append(indices, ids, scores)
    finally:
        run.close(status)

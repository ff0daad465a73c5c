"""`Run`: one run's manifest, its writer lock and the background writer of its Parquet parts.

The scoring thread calls `Run.append`, which hashes each input row (cheap, and before the
caller can touch the row again) and queues the records; a daemon thread buffers them and writes
a part every ``flush_rows`` rows or ``flush_s`` seconds, to a dot-temp file renamed into place.
Part names carry the writer's own token (start time + random), so two processes that ever
wrote the same run could not overwrite each other's parts; the lock (`_lock.RunLock`) makes
sure they never write at the same time.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from rewardsmith.core.score import Score
from rewardsmith.core.spec import ResolvedTerm
from rewardsmith.io.runlog._lock import RunLock, lock_holder
from rewardsmith.io.runlog._rows import LoggedRow, input_hash, reward_versions, schema

__all__ = ["Run"]

_json = msgspec.json.Encoder(enc_hook=repr)

# Chunks of records the scoring thread may queue ahead of the writer thread.
_QUEUE_CHUNKS = 8


class Run:
    """One run: its manifest, its writer lock and a background writer of Parquet parts.

    A `Run` from `RunLog.create` or `RunLog.resume` holds the run's writer lock until `close`;
    one built directly (``Run(directory, manifest)``) writes without it, for a helper process
    of a writer that holds it (the server's log process).
    """

    def __init__(
        self,
        directory: Path,
        manifest: dict[str, Any],
        *,
        flush_rows: int = 1000,
        flush_s: float = 1.0,
    ) -> None:
        self.dir = directory
        self.manifest = manifest
        self.flush_rows = flush_rows
        self.flush_s = flush_s
        self.lock = RunLock(directory)
        self.lock.on_sigterm = self._mark_interrupted
        self.versions = _manifest_versions(manifest)
        """`reward_versions` of the rewards this writer scores with (logged with each row)."""
        self.changed_inputs = 0
        """Logged rows `reusable` refused because their input row changed."""
        self.changed_rewards = 0
        """Logged rows `reusable` refused because a reward's version changed."""
        # Bounded: a scoring thread that outruns the writer waits instead of piling up rows
        # (an unbounded queue grew the memory of long file runs with their length).
        self._queue: queue.Queue[dict[str, list[Any]] | None] = queue.Queue(_QUEUE_CHUNKS)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        # Sorts after every earlier writer's parts (name order = write order), unique per writer.
        self._writer = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + secrets.token_hex(3)
        self._next_part = 1

    @property
    def id(self) -> str:
        return str(self.manifest["run_id"])

    @property
    def status(self) -> str:
        """The run's status: ``running``, ``completed``, ``interrupted`` or ``failed``.

        A run read through `RunLog` whose manifest says ``running`` while no process holds its
        writer lock reads ``interrupted``: its writer was killed before it could say so.
        """
        return str(self.manifest.get("status"))

    def parts(self) -> list[Path]:
        return sorted(self.dir.glob("part-*.parquet"))

    def row_count(self) -> int:
        """Rows logged so far (from Parquet footers, without reading the data)."""
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(part).metadata.num_rows for part in self.parts())

    # -- the writer lock ------------------------------------------------------------------------

    def take_over(self, terms: Sequence[ResolvedTerm]) -> None:
        """Become the run's writer again (for resume): take the lock, or raise
        `RunLockedError` naming the process that writes it; mark it ``running``."""
        self.lock.acquire(self.id)
        self.versions = reward_versions(terms)
        self.manifest["status"] = "running"
        self.manifest.pop("status_reason", None)
        self.manifest.pop("finished_at", None)
        self.manifest.setdefault("resumes", []).append(
            {"at": _now(), "pid": os.getpid(), "versions": self.versions}
        )
        write_json(self.dir / "manifest.json", self.manifest)

    def check_writer(self) -> None:
        """Read ``running`` with no lock holder as ``interrupted``, in memory only (the file
        is left to writers: the next one rewrites it)."""
        if self.manifest.get("status") != "running" or self.lock.held:
            return
        if lock_holder(self.dir) is None:
            self.manifest["status"] = "interrupted"
            self.manifest["status_reason"] = (
                "its writer died without closing the run (killed, or the machine stopped)"
            )

    def _mark_interrupted(self) -> None:
        """SIGTERM: the manifest on disk says ``interrupted`` unless it is already final."""
        on_disk = json.loads((self.dir / "manifest.json").read_text())
        if on_disk.get("status") == "running":
            self.manifest["status"] = "interrupted"
            self.manifest["finished_at"] = _now()
            self.manifest["status_reason"] = "stopped by SIGTERM"
            write_json(self.dir / "manifest.json", self.manifest)

    # -- resuming -------------------------------------------------------------------------------

    def reusable(
        self,
        logged: dict[int, LoggedRow],
        rows: Sequence[Any],
        ids: Sequence[str],
        offset: int,
        *,
        whole: bool = False,
    ) -> dict[int, Score]:
        """The logged scores that still hold for ``rows`` (input positions ``offset`` on).

        A logged row is reused only if its id, its `input_hash` and the reward versions that
        scored it all match; the others are counted in `changed_inputs` / `changed_rewards`
        and left to be scored again. Matched rows are removed from ``logged``.

        Args:
            logged: `logged_rows` of this run (consumed as rows are matched).
            rows: the input rows as read, before any scoring.
            ids: their ids.
            offset: the input position of ``rows[0]``.
            whole: if any row changed, reuse nothing: group rewards and normalization must
                see a whole group (the caller's chunk) scored together.
        """
        reused: dict[int, Score] = {}
        changed = False
        for position, row_id in enumerate(ids):
            done = logged.pop(offset + position, None)
            if done is None:
                continue
            if done.id != row_id or done.input_hash != input_hash(rows[position]):
                self.changed_inputs += 1
                changed = True
            elif done.versions != self.versions:
                self.changed_rewards += 1
                changed = True
            else:
                reused[position] = done.score
        return {} if whole and changed else reused

    # -- writing ------------------------------------------------------------------------------

    def append(
        self,
        row_indices: Iterable[int],
        ids: Iterable[str],
        scores: Iterable[Score],
        inputs: Iterable[Any] | None = None,
    ) -> None:
        """Queue scored rows for the background writer.

        ``inputs`` are the input rows the scores are for; their `input_hash` is logged so that
        a resume can tell a changed row from an unchanged one. Without them (the server) the
        rows are logged with an empty hash and a resume scores them again.
        """
        if self._error is not None:
            raise RuntimeError(f"run log writer failed: {self._error}") from self._error
        columns = self.columns(row_indices, ids, scores, inputs)
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._write_loop, name="rewardsmith-runlog", daemon=True
            )
            self._thread.start()
        self._queue.put(columns)

    def columns(
        self,
        row_indices: Iterable[int],
        ids: Iterable[str],
        scores: Iterable[Score],
        inputs: Iterable[Any] | None = None,
    ) -> dict[str, list[Any]]:
        """The log records of scored rows, column by column (what `write_part` takes)."""
        now = datetime.now(UTC).replace(tzinfo=None)
        indices = list(row_indices)
        scores = list(scores)
        size = len(indices)
        return {
            "row_index": indices,
            "id": list(ids),
            "reward": [score.value for score in scores],
            "status": [score.status for score in scores],
            "reason": [score.reason for score in scores],
            "components": [list(score.components.items()) for score in scores],
            "info": _info_texts(scores),
            "latency_s": [score.latency_s for score in scores],
            "scored_at": [now] * size,
            "input_hash": [input_hash(row) for row in inputs]
            if inputs is not None
            else [""] * size,
            "versions": [self.versions] * size,
        }

    def helper(self, index: int) -> Run:
        """A writer of this run's parts for helper process ``index`` of this writer (which
        holds the lock): its part names sort with this writer's and never collide with them."""
        run = Run(self.dir, self.manifest, flush_rows=self.flush_rows, flush_s=self.flush_s)
        run._writer = f"{self._writer}-{index:03d}"
        return run

    def write_part(self, columns: dict[str, list[Any]]) -> None:
        """Write records (from `columns`) as one part now, in this thread; raises on failure."""
        self._flush(columns)
        if self._error is not None:
            raise RuntimeError(f"run log writer failed: {self._error}") from self._error

    def close(self, status: str = "completed") -> None:
        """Flush every queued row, record the run's final status, and release the lock."""
        try:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None
            self.manifest["status"] = status
            self.manifest["finished_at"] = _now()
            self.manifest.pop("status_reason", None)
            write_json(self.dir / "manifest.json", self.manifest)
        finally:
            self.lock.release()
        if self._error is not None:
            raise RuntimeError(f"run log writer failed: {self._error}") from self._error

    def _write_loop(self) -> None:
        buffer: dict[str, list[Any]] = {}
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

    def _flush(self, columns: dict[str, list[Any]]) -> None:
        if not columns or not columns["row_index"] or self._error is not None:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            # Column by column: ~10x cheaper than Table.from_pylist over dicts (12 µs/row), and
            # this thread shares the GIL with scoring (the reward server logs every row).
            part_schema = schema()
            table = pa.Table.from_arrays(
                [pa.array(columns[field.name], type=field.type) for field in part_schema],
                schema=part_schema,
            )
            name = f"part-{self._writer}-{self._next_part:06d}.parquet"
            temp = self.dir / f".{name}.tmp"
            pq.write_table(table, temp)
            os.replace(temp, self.dir / name)
            self._next_part += 1
        except BaseException as exc:
            self._error = exc

    # -- reading ------------------------------------------------------------------------------

    def logged_rows(self) -> dict[int, LoggedRow]:
        """Every logged row by input position (the last write wins if a row was logged twice)."""
        if not self.parts():
            return {}
        import duckdb

        # union_by_name: parts written before a column existed read it as NULL.
        query = (
            f"SELECT * FROM read_parquet({glob_literal(self.dir)}, union_by_name = true, "
            "filename = true, file_row_number = true) "
            "ORDER BY scored_at, filename, file_row_number"
        )
        rows: dict[int, LoggedRow] = {}
        with duckdb.connect() as connection:
            result = connection.execute(query)
            names = [column[0] for column in result.description]
            for values in result.fetchall():
                record = dict(zip(names, values, strict=True))
                score = Score(
                    value=record["reward"],
                    status=record["status"],
                    reason=record["reason"] or "",
                    components=dict(record["components"] or {}),
                    info=json.loads(record["info"]) if record["info"] else {},
                    latency_s=record["latency_s"] or 0.0,
                )
                index = record["row_index"]
                rows[index] = LoggedRow(
                    index,
                    record["id"],
                    score,
                    input_hash=record.get("input_hash") or "",
                    versions=record.get("versions") or "",
                )
        return rows


def _info_texts(scores: list[Score]) -> list[str]:
    """Each score's info as JSON text ("" when empty), encoded in one call for the batch:
    JSON text holds no raw newline, so the lines of one `encode_lines` are the rows' texts."""
    if not scores:
        return []
    texts = _json.encode_lines([score.info or {} for score in scores]).decode().split("\n")
    return [text if text != "{}" else "" for text in texts[:-1]]


def _manifest_versions(manifest: dict[str, Any]) -> str:
    """`reward_versions` as the manifest recorded them when the run was created."""
    rewards = manifest.get("rewards") or {}
    return ";".join(
        f"{term}={info.get('name')}@{info.get('version')}" for term, info in rewards.items()
    )


def _escape(path: Path) -> str:
    return str(path).replace("'", "''")


def glob_literal(directory: Path) -> str:
    """A SQL string literal globbing one run's parts."""
    return f"'{_escape(directory)}/part-*.parquet'"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a JSON file atomically (temp file, then rename)."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(temp, path)

"""`Run`: one run's life: its writer lock, its status, the rows it logs and reads back.

The scoring thread calls `Run.append`, which hashes each input row (cheap, and before the
caller can touch the row again) and hands the records to the run's `PartWriter` (`_writer`),
whose thread writes them as parts (`_parts`). The lock (`_lock.RunLock`) makes sure two
processes never write one run at the same time; the status lives in the manifest
(`_manifest`). For a resume, `logged_rows` reads the parts back and `reusable` says which
logged scores still hold.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from rewardsmith.core.score import Score
from rewardsmith.core.spec import ResolvedTerm
from rewardsmith.io.runlog._lock import RunLock, lock_holder
from rewardsmith.io.runlog._manifest import manifest_versions, now, write_json
from rewardsmith.io.runlog._parts import list_parts, read_rows
from rewardsmith.io.runlog._rows import LoggedRow, input_hash, reward_versions
from rewardsmith.io.runlog._writer import PartWriter

__all__ = ["Run"]

_json = msgspec.json.Encoder(enc_hook=repr)


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
        self.lock = RunLock(directory)
        self.lock.on_sigterm = self._mark_interrupted
        self.versions = manifest_versions(manifest)
        """`reward_versions` of the rewards this writer scores with (logged with each row)."""
        self.changed_inputs = 0
        """Logged rows `reusable` refused because their input row changed."""
        self.changed_rewards = 0
        """Logged rows `reusable` refused because a reward's version changed."""
        self._writer = PartWriter(directory, flush_rows=flush_rows, flush_s=flush_s)

    @property
    def flush_rows(self) -> int:
        """Rows that make the writer write a part."""
        return self._writer.flush_rows

    @flush_rows.setter
    def flush_rows(self, value: int) -> None:
        self._writer.flush_rows = value

    @property
    def flush_s(self) -> float:
        """Seconds after which buffered rows are written as a part."""
        return self._writer.flush_s

    @flush_s.setter
    def flush_s(self, value: float) -> None:
        self._writer.flush_s = value

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
        return list_parts(self.dir)

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
            {"at": now(), "pid": os.getpid(), "versions": self.versions}
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
            self.manifest["finished_at"] = now()
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
        self._writer.raise_if_failed()
        self._writer.put(self.columns(row_indices, ids, scores, inputs))

    def columns(
        self,
        row_indices: Iterable[int],
        ids: Iterable[str],
        scores: Iterable[Score],
        inputs: Iterable[Any] | None = None,
    ) -> dict[str, list[Any]]:
        """The log records of scored rows, column by column (what `write_part` takes)."""
        scored_at = datetime.now(UTC).replace(tzinfo=None)
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
            "scored_at": [scored_at] * size,
            "input_hash": [input_hash(row) for row in inputs]
            if inputs is not None
            else [""] * size,
            "versions": [self.versions] * size,
        }

    def helper(self, index: int) -> Run:
        """A writer of this run's parts for helper process ``index`` of this writer (which
        holds the lock): its part names sort with this writer's and never collide with them."""
        run = Run(self.dir, self.manifest, flush_rows=self.flush_rows, flush_s=self.flush_s)
        run._writer.token = f"{self._writer.token}-{index:03d}"
        return run

    def write_part(self, columns: dict[str, list[Any]]) -> None:
        """Write records (from `columns`) as one part now, in this thread; raises on failure."""
        self._writer.write_now(columns)

    def close(self, status: str = "completed") -> None:
        """Flush every queued row, record the run's final status, and release the lock."""
        try:
            self._writer.stop()
            self.manifest["status"] = status
            self.manifest["finished_at"] = now()
            self.manifest.pop("status_reason", None)
            write_json(self.dir / "manifest.json", self.manifest)
        finally:
            self.lock.release()
        self._writer.raise_if_failed()

    # -- reading ------------------------------------------------------------------------------

    def logged_rows(self) -> dict[int, LoggedRow]:
        """Every logged row by input position (the last write wins if a row was logged twice)."""
        return read_rows(self.dir)


def _info_texts(scores: list[Score]) -> list[str]:
    """Each score's info as JSON text ("" when empty), encoded in one call for the batch:
    JSON text holds no raw newline, so the lines of one `encode_lines` are the rows' texts."""
    if not scores:
        return []
    texts = _json.encode_lines([score.info or {} for score in scores]).decode().split("\n")
    return [text if text != "{}" else "" for text in texts[:-1]]

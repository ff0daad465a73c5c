"""Score one JSONL file in helper processes, each taking a byte range of it.

How the parts fit: `score_file` sends a file here when its spec's terms all run inline
(cheap, in-process, cannot hang), the input is uncompressed JSONL of at least `MIN_BYTES`,
the output is JSONL, there are at least two workers, no ``--resume`` and no other thread in
the process (forking beside one could leave a helper waiting on a lock it held). The parent
cuts the file at line starts into one byte range per helper and forks the helpers (fork, not
a fresh interpreter: the spec's rewards are already loaded, inline rewards defined in ``__main__``
included, and start-up costs milliseconds). Each helper

1. counts the lines and rows of its range (C-level, a block at a time) and tells the parent,
   which answers with the line and row numbers its range starts at (the sums of the ranges
   before it), so ids (``row-<index>``), reasons ("line N") and the run log's ``row_index``
   are the file's own;
2. reads, scores, logs and encodes its range chunk by chunk, exactly as `score_file` does in
   one process: it writes the run log's Parquet parts itself (a writer of the parent's run,
   whose lock the parent holds, with part names of its own) and the encoded output rows to its
   own file beside the output;
3. reports progress now and then, and at the end its tally (summary, first reasons).

The parent relays progress, then appends the helpers' output files in range order to the
first one and renames it into place. Memory is one chunk per helper, whatever the file's size.

Who kills whom: a helper dies with its parent (``PR_SET_PDEATHSIG``), so ``kill -9`` of the
run ends the helpers too; a resume then scores what the log lacks. A helper that fails or dies
fails the run with its error (the other helpers are killed); Ctrl-C lets the helpers write
what they scored to the log, then kills any that are still there. No helper is ever left
behind: the parent reaps every one before it returns or raises.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import itertools
import os
import pickle
import selectors
import signal
import struct
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from rewardsmith.core.errors import EngineError
from rewardsmith.core.spec import ResolvedTerm, Spec
from rewardsmith.io.readers import ChunkReader, count_lines
from rewardsmith.io.runlog import Run
from rewardsmith.io.writers import output_row

__all__ = ["MIN_BYTES", "score_split", "split_ranges"]

MIN_BYTES = 4 << 20
"""Smallest input worth splitting: below it, forking and joining cost more than they save."""

_HELPER_FLUSH_ROWS = 16384  # rows per run-log part a helper writes (or every second)
_PROGRESS_EVERY_S = 0.1
_GRACE_S = 2.0  # how long Ctrl-C waits for helpers to log what they scored
_HEADER = struct.Struct("<I")
_encoder = msgspec.json.Encoder(enc_hook=repr)


def split_ranges(path: Path, parts: int) -> list[tuple[int, int]]:
    """Byte ranges covering the file, cut at line starts, at most ``parts`` of them (fewer
    when lines are long); each holds whole lines."""
    size = path.stat().st_size
    cuts = [0]
    with path.open("rb") as handle:
        for k in range(1, parts):
            target = max(size * k // parts, cuts[-1])
            if target >= size:
                break
            handle.seek(target - 1 if target else 0)
            if target:
                handle.readline()  # to the end of the line that holds byte target - 1
            position = handle.tell()
            if position > cuts[-1] and position < size:
                cuts.append(position)
    cuts.append(size)
    return list(itertools.pairwise(cuts))


@dataclass
class _Job:
    """What every helper needs (inherited through fork, never pickled)."""

    path: Path
    spec: Spec
    terms: list[ResolvedTerm]
    run: Run
    chunk_size: int
    new_tally: Callable[[], Any]


def score_split(
    input_path: Path,
    spec: Spec,
    terms: list[ResolvedTerm],
    run: Run,
    temp: Path,
    *,
    helpers: int,
    chunk_size: int,
    new_tally: Callable[[], Any],
    progress: Callable[[int, float], None] | None = None,
) -> list[Any]:
    """Score ``input_path`` in up to ``helpers`` processes into the JSONL file ``temp``.

    Returns each helper's tally, in file order. ``progress(rows, fraction)`` is called as
    helpers report. Raises `EngineError` if a helper fails or dies; on any exit (Ctrl-C
    included) every helper has been reaped and no file but ``temp`` (on success) is left.
    """
    ranges = split_ranges(input_path, helpers)
    _load_writers()
    job = _Job(input_path, spec, terms, run, chunk_size, new_tally)
    outputs = [temp] + [temp.with_name(f"{temp.name}.{k}") for k in range(1, len(ranges))]
    pipes = [(os.pipe(), os.pipe()) for _ in ranges]  # (helper -> parent, parent -> helper)
    # Each fd is closed exactly once: a number closed twice may by then be someone else's file.
    open_fds = {fd for pair in pipes for ends in pair for fd in ends}
    helpers_by_fd: dict[int, _Helper] = {}
    done = False
    try:
        for k, byte_range in enumerate(ranges):
            (up_r, up_w), (down_r, down_w) = pipes[k]
            pid = os.fork()
            if pid == 0:  # the helper: never returns
                _helper_main(k, job, byte_range, outputs[k], up_w, down_r, open_fds)
            for fd in (up_w, down_r):
                open_fds.discard(fd)
                os.close(fd)
            helpers_by_fd[up_r] = _Helper(k, pid, up_r, down_w, byte_range)
        tallies = _supervise(helpers_by_fd, input_path.stat().st_size, progress)
        _concatenate(temp, outputs[1:])
        done = True
        return tallies
    finally:
        _stop(helpers_by_fd.values())
        for fd in open_fds:
            os.close(fd)
        for path in outputs[1:] if done else outputs:
            path.unlink(missing_ok=True)


def _load_writers() -> None:
    """Import what every helper needs to write log parts before forking them, so they share
    it: pyarrow's first array imports its pandas shim (~0.2 s), once here, not once a helper."""
    import pyarrow as pa
    import pyarrow.parquet

    pa.array([0], type=pa.int64())


class _Helper:
    """The parent's view of one helper process."""

    def __init__(
        self, index: int, pid: int, up: int, down: int, byte_range: tuple[int, int]
    ) -> None:
        self.index = index
        self.pid = pid
        self.up = up
        self.down = down
        self.byte_range = byte_range
        self.buffer = b""
        self.counts: tuple[int, int] | None = None
        self.first_line: int | None = None
        self.rows = 0
        self.bytes = 0
        self.tally: Any = None
        self.reaped = False
        self.status: int | None = None  # its wait status, once reaped

    def describe(self) -> str:
        where = f"from line {self.first_line}" if self.first_line else "range"
        start, end = self.byte_range
        return (
            f"file scoring helper {self.index} (pid {self.pid}, input {where}, bytes {start}-{end})"
        )


def _supervise(
    helpers: dict[int, _Helper], size: int, progress: Callable[[int, float], None] | None
) -> list[Any]:
    ordered = sorted(helpers.values(), key=lambda h: h.index)
    _send(ordered[0].down, (0, 0))
    ordered[0].first_line = 1
    selector = selectors.DefaultSelector()
    for fd in helpers:
        selector.register(fd, selectors.EVENT_READ)
    open_fds = set(helpers)
    while open_fds:
        for key, _events in selector.select():
            helper = helpers[key.fd]  # type: ignore[index]
            data = os.read(helper.up, 1 << 16)
            if not data:
                selector.unregister(helper.up)
                open_fds.discard(helper.up)
                _reap(helper)
                if helper.tally is None:
                    raise EngineError(f"{helper.describe()} died: {_exit_text(helper)}")
                continue
            helper.buffer += data
            for message in _messages(helper):
                kind = message[0]
                if kind == "count":
                    helper.counts = message[1]
                    _send_bases(ordered)
                elif kind == "progress":
                    helper.rows, helper.bytes = message[1], message[2]
                    if progress is not None:
                        rows = sum(h.rows for h in ordered)
                        progress(rows, sum(h.bytes for h in ordered) / size if size else 1.0)
                elif kind == "done":
                    helper.tally = message[1]
                else:  # "error": the helper's traceback
                    raise EngineError(f"{helper.describe()} failed:\n{message[1]}")
    selector.close()
    return [helper.tally for helper in ordered]


def _send_bases(ordered: list[_Helper]) -> None:
    """Tell each helper its first line and row once the counts of every range before it are
    known."""
    lines = rows = 0
    for previous, helper in itertools.pairwise(ordered):
        if previous.counts is None:
            return
        lines += previous.counts[0]
        rows += previous.counts[1]
        if helper.first_line is None:
            helper.first_line = lines + 1
            _send(helper.down, (lines, rows))


def _messages(helper: _Helper) -> list[Any]:
    out = []
    buffer = helper.buffer
    while len(buffer) >= _HEADER.size:
        (length,) = _HEADER.unpack_from(buffer)
        if len(buffer) < _HEADER.size + length:
            break
        out.append(pickle.loads(buffer[_HEADER.size : _HEADER.size + length]))
        buffer = buffer[_HEADER.size + length :]
    helper.buffer = buffer
    return out


def _send(fd: int, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _reap(helper: _Helper, *, block: bool = True) -> bool:
    if helper.reaped:
        return True
    pid, status = os.waitpid(helper.pid, 0 if block else os.WNOHANG)
    if pid == 0:
        return False
    helper.reaped = True
    helper.status = status
    return True


def _exit_text(helper: _Helper) -> str:
    status = helper.status
    if status is None:
        return "unknown exit"
    if os.WIFSIGNALED(status):
        return f"killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.WEXITSTATUS(status)} without a result"


def _stop(helpers: Any) -> None:
    """Reap every helper: at once when they are done; on an error or Ctrl-C, let them log what
    they scored (SIGINT) for up to `_GRACE_S`, then SIGKILL the rest."""
    alive = [helper for helper in helpers if not helper.reaped]
    if not alive:
        return
    for helper in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(helper.pid, signal.SIGINT)
    deadline = time.monotonic() + _GRACE_S
    while alive and time.monotonic() < deadline:
        alive = [helper for helper in alive if not _reap(helper, block=False)]
        if alive:
            time.sleep(0.01)
    for helper in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(helper.pid, signal.SIGKILL)
        _reap(helper)


def _concatenate(first: Path, rest: list[Path]) -> None:
    """Append the other helpers' output files to the first one, in file order (in the kernel,
    without copying through this process)."""
    if not rest:
        return
    # Not "ab": copy_file_range refuses a target opened for appending.
    with first.open("r+b") as target:
        target.seek(0, os.SEEK_END)
        for path in rest:
            with path.open("rb") as source:
                left = os.fstat(source.fileno()).st_size
                while left > 0:
                    copied = os.copy_file_range(source.fileno(), target.fileno(), left)
                    if copied == 0:
                        raise EngineError(f"{path}: shorter than its size while joining outputs")
                    left -= copied
            path.unlink()


# -- the helper process ------------------------------------------------------------------------


def _helper_main(
    index: int,
    job: _Job,
    byte_range: tuple[int, int],
    output: Path,
    up: int,
    down: int,
    inherited: set[int],
) -> None:
    """Run in the forked helper; ends the process with ``os._exit`` (never returns, never runs
    the parent's ``finally`` blocks or exit handlers)."""
    code = 1
    try:
        _die_with_parent()
        for fd in inherited - {up, down}:  # so that each pipe's EOF means its helper ended
            os.close(fd)
        # The parent's run lock marks the manifest on SIGTERM: not a helper's job.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # Scoring allocates thousands of short-lived objects per chunk, freed by reference
        # counting; with the default thresholds the cycle collector ran ~2,600 times per 100k
        # rows and walked the inherited heap (6 µs a row, 20% of the work). The inherited
        # objects are frozen (not walked, and their pages stay shared with the parent).
        gc.freeze()
        gc.set_threshold(10_000, 20, 100)
        code = _helper_run(index, job, byte_range, output, up, down)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        with contextlib.suppress(BaseException):
            _send(up, ("error", traceback.format_exc()))
        code = 1
    finally:
        os._exit(code)


def _die_with_parent() -> None:
    parent = os.getppid()
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _helper_run(
    index: int, job: _Job, byte_range: tuple[int, int], output: Path, up: int, down: int
) -> int:
    from rewardsmith.engine.engine import Engine, prepare_rows

    _send(up, ("count", count_lines(job.path, *byte_range)))
    base_lines, base_rows = _receive(down)
    run = job.run.helper(index)
    engine = Engine(1, cache=False)
    tally = job.new_tally()
    reader = ChunkReader(job.path, job.chunk_size, byte_range=byte_range, first_line=base_lines + 1)
    buffer: dict[str, list[Any]] = {}
    buffered = 0
    last_flush = last_report = time.monotonic()
    offset = base_rows
    done_rows = 0
    encode_lines = _encoder.encode_lines
    size = byte_range[1] - byte_range[0]
    try:
        with output.open("wb", buffering=1 << 20) as out:
            for chunk in reader:
                prepared, ids = prepare_rows(chunk, start=offset)
                scores = engine.score_prepared(prepared, ids, job.spec, job.terms)
                columns = run.columns(range(offset, offset + len(chunk)), ids, scores, chunk)
                if buffer:
                    for name, values in columns.items():
                        buffer[name].extend(values)
                else:
                    buffer = columns
                buffered += len(chunk)
                out.write(
                    encode_lines(
                        [
                            output_row(row_id, score, row)
                            for row, row_id, score in zip(chunk, ids, scores, strict=True)
                        ]
                    )
                )
                tally.add(scores)
                offset += len(chunk)
                done_rows += len(chunk)
                now = time.monotonic()
                if buffered >= _HELPER_FLUSH_ROWS or now - last_flush >= run.flush_s:
                    run.write_part(buffer)
                    buffer, buffered, last_flush = {}, 0, now
                if now - last_report >= _PROGRESS_EVERY_S:
                    _send(up, ("progress", done_rows, int((reader.fraction or 0.0) * size)))
                    last_report = now
    finally:
        # Ctrl-C included: what was scored is logged, so a resume does not score it again.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        run.write_part(buffer)
        engine.close()
    _send(up, ("progress", done_rows, int((reader.fraction or 0.0) * size)))
    _send(up, ("done", tally))
    return 0


def _receive(fd: int) -> Any:
    (length,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return pickle.loads(_read_exactly(fd, length))


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            raise EngineError("the parent closed the pipe before sending the range's start")
        data += more
    return data

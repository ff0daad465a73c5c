"""Rebuild a run's output file from its log and its input, scoring nothing.

For when the scoring finished but the output did not (a full disk, a wrong ``-o``): every score
is in the log, so the output is a join of the input file with the logged rows by position,
checked by each row's input hash. ``rewardsmith score ... --resume -o NEW`` does the same and
also scores what the log lacks; this helper never scores, so it needs no reward code at all.
"""

from __future__ import annotations

from pathlib import Path

from rewardsmith.core.errors import InputError
from rewardsmith.io.runlog._rows import input_hash
from rewardsmith.io.runlog._run import Run

__all__ = ["rebuild_output"]


def rebuild_output(
    run: Run, output: str | Path, *, input_path: str | Path | None = None, chunk_size: int = 1024
) -> int:
    """Write ``run``'s scored rows to ``output`` (.jsonl or .parquet) from the run log.

    The output is what ``rewardsmith score`` would have written: each input row with ``id``,
    ``reward``, ``status``, ``reason`` and ``components`` (and ``advantage``) added. It is
    written to a temp file renamed into place, so a refused rebuild leaves nothing behind.

    Args:
        run: the run, e.g. ``RunLog().open(run_id)``.
        output: where to write.
        input_path: the input file (default: the one the run's manifest names).
        chunk_size: input rows read at a time.

    Returns:
        The number of rows written.

    Raises:
        InputError: the run has no input file, or some input rows are not in the log or have
            changed since they were scored (the message counts both; score them with
            ``rewardsmith score INPUT --spec SPEC --resume -o OUTPUT``).

    Example:
        >>> from rewardsmith.io.runlog import RunLog, rebuild_output
        >>> rebuild_output(RunLog().latest(), "scored.jsonl")  # doctest: +SKIP
        20000
    """
    from rewardsmith.io.readers import ChunkReader
    from rewardsmith.io.writers import RowWriter, output_row

    source = input_path if input_path is not None else run.manifest.get("input")
    if not source:
        raise InputError(f"run {run.id} has no input file (a server run); pass input_path")
    logged = run.logged_rows()
    missing = changed = written = position = 0
    with RowWriter(Path(output)) as writer:
        for chunk in ChunkReader(Path(source), chunk_size):
            out = []
            for row in chunk:
                done = logged.get(position)
                position += 1
                if done is None:
                    missing += 1
                elif done.input_hash != input_hash(row):
                    changed += 1
                else:
                    out.append(output_row(done.id, done.score, row))
            written += len(out)
            # Keep reading to count every problem, but stop writing once one is found.
            if not (missing or changed):
                writer.write(out)
        if missing or changed:
            raise InputError(
                f"cannot rebuild {output} from run {run.id}: {missing} rows of {source} are not "
                f"in its log and {changed} changed since they were scored; score them with "
                f"`rewardsmith score {source} --spec SPEC --resume -o {output}`"
            )
    return written

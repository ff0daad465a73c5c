"""The run log: every scored row, appended as Parquet parts, queried with DuckDB.

Layout under the log root (``$REWARDSMITH_HOME/runs``, by default ``./.rewardsmith/runs``)::

    run=<run id>/manifest.json     provenance (spec, its hash, reward versions) and status
    run=<run id>/writer.lock       flock held by the one process writing the run
    run=<run id>/part-<writer>-000001.parquet    rows, one file per flush of one writer

How the parts fit, one module each:

- **Run** (`_run.py`): one run's life. `RunLog.create` or `RunLog.resume` hands out a `Run`
  holding the run's writer lock; the scoring thread calls `Run.append`, which hashes each input
  row (`_rows.py`) and passes the records to the run's writer; `Run.close` waits for the writer,
  records the final status and releases the lock.
- **Writer thread** (`_writer.py`): a daemon thread buffers the records and writes a part every
  1,000 rows or second, so a ``kill -9`` loses at most the last second; a failed write is raised
  to the scoring thread at its next `Run.append` or at `Run.close`.
- **Parts** (`_parts.py`): written to a temp file and renamed into place, so readers never see
  half a part; immutable once named, and named by their writer (start time + random token), so
  no two writers can overwrite each other. The same module reads them back for a resume.
- **Lock** (`_lock.py`): the writer holds an exclusive ``flock`` on ``writer.lock``; a second
  writer gets `RunLockedError` naming the first. The kernel drops the lock when its process dies,
  so a killed run needs no clean-up: ``running`` with no lock holder reads ``interrupted``.
  SIGTERM marks the manifest ``interrupted`` before the process dies.
- **Manifest** (`_manifest.py`): provenance written at creation; status ``running`` →
  ``completed`` / ``interrupted`` / ``failed``, moved by `Run` and rewritten atomically.
- **Finding runs and resume** (`_log.py`, `Run.reusable`, `_rows.py`): `RunLog` finds, creates
  and opens runs. The run to continue is the newest one over the same input whose spec hash
  (reward versions included) matches; when the newest run of the same spec was scored by
  another reward version, `RewardVersionError` names the reward. A logged score is reused only
  for a row with the same id, the same `input_hash` and the same `reward_versions`; any other
  row is scored again and counted. `rebuild_output` (`_rebuild.py`) writes the output file from
  the log alone.
- **DuckDB views** (`_views.py`, `RunLog.connect`): a ``scores`` view over the parts, read in
  place while the run is written, and a ``runs`` table of manifests; `run_summary`
  (`_summary.py`) reads one run through them.
"""

from rewardsmith.io.runlog._lock import RunLockedError, lock_holder
from rewardsmith.io.runlog._log import RewardVersionError, RunLog, default_log_root
from rewardsmith.io.runlog._rebuild import rebuild_output
from rewardsmith.io.runlog._rows import LOG_SCHEMA_FIELDS, LoggedRow, input_hash, reward_versions
from rewardsmith.io.runlog._run import Run
from rewardsmith.io.runlog._summary import run_summary

# Storage: LoggedRow, Run, RunLog; one writer per run: RunLockedError, lock_holder;
# resume and rebuild: input_hash, reward_versions, RewardVersionError, rebuild_output;
# reading: run_summary.
__all__ = [
    "LOG_SCHEMA_FIELDS",
    "LoggedRow",
    "RewardVersionError",
    "Run",
    "RunLockedError",
    "RunLog",
    "default_log_root",
    "input_hash",
    "lock_holder",
    "rebuild_output",
    "reward_versions",
    "run_summary",
]

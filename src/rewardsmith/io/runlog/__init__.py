"""The run log: every scored row, appended as Parquet parts, queried with DuckDB.

Layout under the log root (``$REWARDSMITH_HOME/runs``, by default ``./.rewardsmith/runs``)::

    run=<run id>/manifest.json     provenance (spec, its hash, reward versions) and status
    run=<run id>/writer.lock       flock held by the one process writing the run
    run=<run id>/part-<writer>-000001.parquet    rows, one file per flush of one writer

How the parts fit:

- **Writer thread** (`Run.append`, `_run.py`): the scoring thread hashes each input row and
  queues it; a daemon thread writes a part every 1,000 rows or second, to a temp file renamed
  into place, so readers never see half a part and a ``kill -9`` loses at most the last second.
- **Parts** are immutable once renamed and named by their writer (start time + random token), so
  no two writers can overwrite each other; DuckDB reads them while the run is being written.
- **Lock** (`_lock.py`): the writer holds an exclusive ``flock`` on ``writer.lock``; a second
  writer gets `RunLockedError` naming the first. The kernel drops the lock when its process dies,
  so a killed run needs no clean-up: ``running`` with no lock holder reads ``interrupted``.
  SIGTERM marks the manifest ``interrupted`` before the process dies.
- **Manifest**: ``running`` → ``completed`` / ``interrupted`` / ``failed``, rewritten atomically.
- **Resume** (`RunLog.resume`, `Run.reusable`, `_rows.py`): the run to continue is the newest one
  over the same input whose spec hash (reward versions included) matches; when the newest run
  of the same spec was scored by another reward version, `RewardVersionError` names the reward.
  A logged score is reused only for a row with the same id, the same `input_hash` and the same
  `reward_versions`; any other row is scored again and counted. `rebuild_output` writes the
  output file from the log alone.
"""

from rewardsmith.io.runlog._lock import RunLockedError, lock_holder
from rewardsmith.io.runlog._log import RewardVersionError, RunLog, default_log_root, run_summary
from rewardsmith.io.runlog._rebuild import rebuild_output
from rewardsmith.io.runlog._rows import LOG_SCHEMA_FIELDS, LoggedRow, input_hash, reward_versions
from rewardsmith.io.runlog._run import Run

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

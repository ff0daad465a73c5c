"""`RunLog`: every run under one root directory, found, created, resumed and queried.

See the package docstring (`rewardsmith.io.runlog`) for how writer, parts, manifest, lock and
resume fit together.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import InputError
from rewardsmith.core.spec import ResolvedTerm, Spec, term_versions
from rewardsmith.core.version import __version__
from rewardsmith.io.runlog._rows import EMPTY_TABLE_SQL
from rewardsmith.io.runlog._run import Run, glob_literal, write_json

__all__ = ["RunLog", "default_log_root", "run_summary"]


def default_log_root() -> Path:
    """``$REWARDSMITH_HOME/runs``, by default ``./.rewardsmith/runs``."""
    return Path(os.environ.get("REWARDSMITH_HOME", ".rewardsmith")) / "runs"


class RewardVersionError(InputError):
    """``--resume`` found the run it would continue, scored by another version of a reward."""


class RunLog:
    """All runs under one root directory."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_log_root()

    def create(
        self,
        spec: Spec,
        terms: list[ResolvedTerm],
        *,
        input_path: str | None = None,
        output_path: str | None = None,
        argv: list[str] | None = None,
    ) -> Run:
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        directory = self.root / f"run={run_id}"
        directory.mkdir(parents=True, exist_ok=False)
        manifest = {
            "run_id": run_id,
            "created_at": _now(),
            "status": "running",
            "spec_name": spec.name,
            "spec_hash": spec.content_hash(term_versions(terms)),
            "spec": spec.model_dump(mode="json"),
            "rewards": {
                term.name: {
                    "use": term.spec.use,
                    "name": term.reward.name,
                    "version": term.reward.version,
                    "ref": term.reward.ref,
                }
                for term in terms
            },
            "rewardsmith_version": __version__,
            "python": sys.version.split()[0],
            "input": str(Path(input_path).resolve()) if input_path else None,
            "output": str(Path(output_path).resolve()) if output_path else None,
            "argv": argv or [],
        }
        run = Run(directory, manifest)
        # Locked before the manifest exists: a reader never sees "running" with no writer.
        run.lock.acquire(run_id)
        write_json(directory / "manifest.json", manifest)
        return run

    def open(self, run_id: str) -> Run:
        """A run by id, or by a unique prefix of its id."""
        matches = [run for run in self.runs() if run.id == run_id] or [
            run for run in self.runs() if run.id.startswith(run_id)
        ]
        if not matches:
            raise InputError(f"no run {run_id!r} under {self.root}; see `rewardsmith runs`")
        if len(matches) > 1:
            raise InputError(
                f"run id prefix {run_id!r} matches {len(matches)} runs; give more of it"
            )
        return matches[0]

    def runs(self) -> list[Run]:
        """Every run with a readable manifest, oldest first."""
        found = []
        for manifest_path in sorted(self.root.glob("run=*/manifest.json")):
            try:
                manifest = json.loads(manifest_path.read_text())
            except (OSError, ValueError):
                continue
            run = Run(manifest_path.parent, manifest)
            run.check_writer()
            found.append(run)
        return sorted(found, key=lambda run: str(run.manifest.get("created_at", "")))

    def latest(self) -> Run:
        """The newest run."""
        runs = self.runs()
        if not runs:
            raise InputError(f"no runs under {self.root}")
        return runs[-1]

    def latest_matching(self, input_path: str, spec_hash: str) -> Run | None:
        """The newest run of this spec over this input file (read only; see `resume`)."""
        wanted = str(Path(input_path).resolve())
        for run in reversed(self.runs()):
            if run.manifest.get("input") == wanted and run.manifest.get("spec_hash") == spec_hash:
                return run
        return None

    def resume(self, input_path: str, spec: Spec, terms: list[ResolvedTerm]) -> Run | None:
        """The newest run of ``spec`` over ``input_path``, taken over for writing, or None.

        Raises:
            RunLockedError: another process writes that run (a second ``--resume``, or the
                original run still going); the message names it.
            RewardVersionError: the newest run of this spec over this input was scored by
                another version of a reward; the message names the reward and both versions.
        """
        run = self.latest_matching(input_path, spec.content_hash(term_versions(terms)))
        if run is None:
            self._refuse_other_versions(input_path, spec, terms)
            return None
        run.take_over(terms)
        return run

    def _refuse_other_versions(
        self, input_path: str, spec: Spec, terms: list[ResolvedTerm]
    ) -> None:
        # The versions are part of the spec's hash, so a run scored by another version of a
        # reward does not match above; without this check --resume would quietly start afresh.
        wanted, unversioned = str(Path(input_path).resolve()), spec.content_hash()
        for run in reversed(self.runs()):
            if run.manifest.get("input") != wanted:
                continue
            try:
                logged_spec = Spec.model_validate(run.manifest.get("spec"))
            except ValueError:
                continue  # written by a release whose spec keys this one does not know
            if logged_spec.content_hash() != unversioned:
                continue
            logged = run.manifest.get("rewards") or {}
            changed = [
                f"term {term.name!r} was scored by {term.reward.name!r} version "
                f"{logged[term.name].get('version')}, which is now version {term.reward.version}"
                for term in terms
                if term.name in logged
                and str(logged[term.name].get("version")) != term.reward.version
            ]
            if changed:
                raise RewardVersionError(
                    f"cannot resume run {run.id}: {'; '.join(changed)}. Its scores would mix "
                    "two versions of a reward: score into a new run (leave out --resume)."
                )
            return

    def connect(self, run: Run | None = None) -> Any:
        """A DuckDB connection with a ``scores`` view over one run's rows (or over every run,
        with a ``run`` column), and a ``runs`` table of manifests."""
        import duckdb

        connection = duckdb.connect()
        if run is not None:
            source = glob_literal(run.dir)
            has_rows = bool(run.parts())
        else:
            source = (
                f"read_parquet('{_escape(self.root)}/run=*/part-*.parquet', "
                "hive_partitioning = true, union_by_name = true)"
            )
            has_rows = any(r.parts() for r in self.runs())
        if has_rows:
            if run is not None:
                source = f"read_parquet({source}, union_by_name = true)"
            connection.execute(f"CREATE VIEW scores AS SELECT * FROM {source}")
        else:
            connection.execute(EMPTY_TABLE_SQL)
        connection.execute(
            "CREATE TABLE runs (run_id VARCHAR, created_at VARCHAR, status VARCHAR, spec_name VARCHAR, "
            "spec_hash VARCHAR, input VARCHAR, output VARCHAR)"
        )
        for item in [run] if run is not None else self.runs():
            m = item.manifest
            connection.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    m.get("run_id"),
                    m.get("created_at"),
                    m.get("status"),
                    m.get("spec_name"),
                    m.get("spec_hash"),
                    m.get("input"),
                    m.get("output"),
                ],
            )
        return connection


def run_summary(log: RunLog, run: Run) -> dict[str, Any]:
    """Rows, mean reward, component means, status counts and latency quantiles, via DuckDB."""
    from rewardsmith.core.score import STATUSES

    connection = log.connect(run)
    rows, scored, mean, p50, p99 = connection.execute(
        "SELECT count(*), count(reward), avg(reward), quantile_cont(latency_s, 0.5), "
        "quantile_cont(latency_s, 0.99) FROM scores"
    ).fetchone()
    statuses = dict(
        connection.execute("SELECT status, count(*) FROM scores GROUP BY status").fetchall()
    )
    components = dict(
        connection.execute(
            "SELECT e.key, avg(e.value) FROM (SELECT unnest(map_entries(components)) AS e FROM scores) "
            "GROUP BY e.key ORDER BY e.key"
        ).fetchall()
    )
    return {
        "rows": rows,
        "scored": scored,
        "mean_reward": mean,
        "component_means": components,
        "status_counts": {status: int(statuses.get(status, 0)) for status in STATUSES},
        "latency_p50_s": p50,
        "latency_p99_s": p99,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _escape(path: Path) -> str:
    return str(path).replace("'", "''")

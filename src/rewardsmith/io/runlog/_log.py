"""`RunLog`: every run under one root directory, found, created, resumed and queried.

Finding, creating and resuming are here; the queries are DuckDB views (`_views`), and
`run_summary` (`_summary`) reads one run through them.

See the package docstring (`rewardsmith.io.runlog`) for how writer, parts, manifest, lock and
resume fit together.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rewardsmith.core.errors import InputError
from rewardsmith.core.spec import ResolvedTerm, Spec, term_versions
from rewardsmith.io.runlog import _views
from rewardsmith.io.runlog._manifest import new_manifest, write_json
from rewardsmith.io.runlog._run import Run

__all__ = ["RewardVersionError", "RunLog", "default_log_root"]


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
        manifest = new_manifest(
            run_id, spec, terms, input_path=input_path, output_path=output_path, argv=argv
        )
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
        return _views.connect(self.root, self.runs, run)

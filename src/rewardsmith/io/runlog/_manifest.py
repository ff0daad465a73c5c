"""A run's ``manifest.json``: what it records when the run is created, and how it is written.

The manifest is the run's provenance (spec, its hash, the version of each reward, the input
and output files, the command line) and its status: ``running`` → ``completed`` /
``interrupted`` / ``failed``. `Run` moves the status; every write replaces the whole file
atomically (`write_json`), so a reader sees the old manifest or the new one, never half.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rewardsmith.core.spec import ResolvedTerm, Spec, term_versions
from rewardsmith.core.version import __version__

__all__ = ["manifest_versions", "new_manifest", "now", "write_json"]


def new_manifest(
    run_id: str,
    spec: Spec,
    terms: list[ResolvedTerm],
    *,
    input_path: str | None,
    output_path: str | None,
    argv: list[str] | None,
) -> dict[str, Any]:
    """The manifest of a new run, status ``running``."""
    return {
        "run_id": run_id,
        "created_at": now(),
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


def manifest_versions(manifest: dict[str, Any]) -> str:
    """`reward_versions` as the manifest recorded them when the run was created."""
    rewards = manifest.get("rewards") or {}
    return ";".join(
        f"{term}={info.get('name')}@{info.get('version')}" for term, info in rewards.items()
    )


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a JSON file atomically (temp file, then rename)."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(data, indent=2, default=str))
    os.replace(temp, path)

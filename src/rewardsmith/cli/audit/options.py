"""What the audit commands (and ``report``) share: option types, the spec option, input
reading, run lookup and ``--json`` output."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from rewardsmith.cli.common import LogDir, RewardOpt, SpecOpt, WorkersOpt, console, fail
from rewardsmith.core.errors import InputError, RewardsmithError, SpecError

__all__ = [
    "JsonOpt",
    "LogDirOpt",
    "RewardOpt",
    "SpecOpt",
    "WorkersOpt",
    "console",
    "fail",
    "jsonable",
    "num",
    "open_run",
    "read_rows_or_fail",
    "spec_option",
    "write_json",
]

JsonOpt = Annotated[
    Path | None, typer.Option("--json", help="Also write every number as JSON here.")
]
LogDirOpt = LogDir


def spec_option(spec: str | None, reward: str | None, *, required: bool = True) -> Any:
    from rewardsmith.core.spec import load_spec

    if spec is not None and reward is not None:
        fail("give one of --spec SPEC.toml or --reward NAME, not both")
    if spec is None and reward is None:
        if required:
            fail("give --spec SPEC.toml or --reward NAME")
        return None
    try:
        return load_spec(spec if spec is not None else reward)
    except (SpecError, RewardsmithError) as exc:
        fail(str(exc))


def jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(jsonable(data), indent=2, default=str))
        console.print(f"wrote {path}", highlight=False)


def num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return str(value)


def read_rows_or_fail(path: Path) -> list[dict[str, Any]]:
    from rewardsmith.audit.scoring import load_audit_rows

    try:
        return load_audit_rows(path)
    except InputError as exc:
        fail(str(exc))
    raise AssertionError


def open_run(run: str, log_dir: Path | None) -> tuple[Any, Any]:
    from rewardsmith.io.runlog import RunLog

    log = RunLog(log_dir)
    try:
        return log, (log.latest() if run == "last" else log.open(run))
    except InputError as exc:
        fail(str(exc))
    raise AssertionError

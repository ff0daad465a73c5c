"""DuckDB over the run log: a ``scores`` view of the parts and a ``runs`` table of manifests.

The parts are read in place (no import, no lock), so a run can be queried while it is being
written. Over every run, the ``run`` column comes from the ``run=<id>`` directory names (hive
partitioning); ``union_by_name`` reads parts written before a column existed with it NULL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rewardsmith.io.runlog._parts import glob_literal, sql_text
from rewardsmith.io.runlog._rows import EMPTY_TABLE_SQL
from rewardsmith.io.runlog._run import Run

__all__ = ["connect"]


def connect(root: Path, list_runs: Callable[[], list[Run]], run: Run | None = None) -> Any:
    """A DuckDB connection with a ``scores`` view over ``run``'s rows (or, with ``run`` None,
    over every run under ``root``, as ``list_runs`` finds them), and a ``runs`` table."""
    import duckdb

    connection = duckdb.connect()
    if run is not None:
        source = glob_literal(run.dir)
        has_rows = bool(run.parts())
    else:
        source = (
            f"read_parquet('{sql_text(root)}/run=*/part-*.parquet', "
            "hive_partitioning = true, union_by_name = true)"
        )
        has_rows = any(r.parts() for r in list_runs())
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
    for item in [run] if run is not None else list_runs():
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

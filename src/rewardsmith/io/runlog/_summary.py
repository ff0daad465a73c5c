"""`run_summary`: one run in numbers (rows, mean reward, statuses, latency), from its views."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardsmith.io.runlog._log import RunLog
    from rewardsmith.io.runlog._run import Run

__all__ = ["run_summary"]


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

"""Ray Data scoring: a spec as ``map_batches`` over an actor pool of engines.

- `score_dataset`: adds reward columns to a user's Ray Dataset (row-local specs only: Ray
  Data's batches are arbitrary, so group rewards and batch-level shaping would change).
- `_ShardScorer`: the callable behind `RayEngine(data=True)` (offline scoring of files), one
  pickled shard of whole groups per batch; its failures are recovered by `RayEngine`.
"""

from __future__ import annotations

import sys
from typing import Any

from rewardsmith.core.errors import SpecError
from rewardsmith.core.spec import Spec, load_resolved
from rewardsmith.integrations.ray_actor import RewardActor, _ray, is_row_local

__all__ = ["score_dataset"]


class _ShardScorer:
    """The ``map_batches`` callable of `RayEngine`'s data mode: one shard (pickled prepared
    rows) in, its pickled scores out."""

    def __init__(self, spec: Spec, workers: int, sys_path: list[str]) -> None:
        self.actor = RewardActor(spec, workers, sys_path)

    def __call__(self, table: Any) -> Any:
        import pickle

        import pyarrow as pa

        numbers = table.column("shard").to_pylist()
        payloads = []
        for blob in table.column("payload").to_pylist():
            rows, ids = pickle.loads(blob)
            payloads.append(pickle.dumps(list(self.actor.score(rows, ids))))
        return pa.table({"shard": numbers, "payload": pa.array(payloads, pa.binary())})


class _DatasetScorer:
    """The ``map_batches`` callable: one engine per Ray Data actor."""

    def __init__(self, spec: Spec, workers: int, sys_path: list[str]) -> None:
        self.actor = RewardActor(spec, workers, sys_path)

    def __call__(self, table: Any) -> Any:
        import msgspec
        import pyarrow as pa

        from rewardsmith.engine.engine import prepare_rows

        rows = table.to_pylist()
        prepared, ids = prepare_rows(rows)
        batch = self.actor.score(prepared, ids)
        encode = msgspec.json.Encoder().encode
        return (
            table.append_column("reward", pa.array([s.value for s in batch], pa.float64()))
            .append_column("status", pa.array([s.status for s in batch], pa.string()))
            .append_column("reason", pa.array([s.reason for s in batch], pa.string()))
            .append_column(
                "components", pa.array([encode(s.components).decode() for s in batch], pa.string())
            )
        )


def score_dataset(
    dataset: Any,
    spec: Any,
    *,
    batch_size: int = 256,
    concurrency: int | None = None,
    workers_per_actor: int = 1,
) -> Any:
    """A Ray Dataset with ``reward``, ``status``, ``reason`` and ``components`` (JSON) columns.

    Rows are scored by ``map_batches`` over an actor pool of ``concurrency`` actors (default:
    the cluster's CPUs). Only row-local specs without group rewards can be split into
    arbitrary Ray Data batches; for others use `RayEngine`, which keeps groups together.
    """
    ray = _ray()
    loaded, terms = load_resolved(spec)
    if not is_row_local(loaded) or any(term.reward.kind == "group" for term in terms):
        raise SpecError(
            f"spec {loaded.name!r} has group rewards or batch-level shaping, which Ray Data's "
            "arbitrary batches would change; score it with RayEngine instead"
        )
    actors = concurrency or max(1, int(ray.cluster_resources().get("CPU", 1)))
    return dataset.map_batches(
        _DatasetScorer,
        fn_constructor_kwargs={
            "spec": loaded,
            "workers": workers_per_actor,
            "sys_path": list(sys.path),
        },
        batch_size=batch_size,
        batch_format="pyarrow",
        concurrency=actors,
        num_cpus=1,
    )

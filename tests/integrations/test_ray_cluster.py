"""RayEngine on a two-node local cluster (ray.cluster_utils.Cluster): a node lost while its
actor scores loses no row, and the engine says how many rows it scored again."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

import integration_rewards  # noqa: E402,F401  (rewards by import path, for the actors)
from ray.cluster_utils import Cluster  # noqa: E402

import rewardsmith  # noqa: E402
from rewardsmith.integrations.ray import RayEngine  # noqa: E402

SPEC = {"terms": [{"name": "n", "use": "integration_rewards:slow_with_marker"}]}


@pytest.fixture
def cluster():  # type: ignore[no-untyped-def]
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False}
    )
    worker = cluster.add_node(num_cpus=1)
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    yield cluster, worker
    ray.shutdown()
    cluster.shutdown()


@pytest.mark.slow  # ~20 s on 2 cores: a second raylet, and 6 s of scoring by design
def test_a_node_lost_mid_run_loses_no_row(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cluster, worker = cluster
    engine = RayEngine(actors=2, start_timeout_s=60)
    spec = rewardsmith.load_spec(SPEC)
    try:
        warm = tmp_path / "warm"
        engine.score([{"completion": "a", "marker": str(warm)}] * 2, spec)
        nodes = {ray.get(actor.node.remote()) for actor in engine.actors_for(spec)}
        assert nodes == {cluster.head_node.node_id, worker.node_id}  # one actor per node
        marker = tmp_path / "started"

        def lose_the_worker_node() -> None:
            deadline = time.monotonic() + 60
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.6)  # both actors are inside their 16-row shards (3.2 s each)
            cluster.remove_node(worker, allow_graceful=False)

        killer = threading.Thread(target=lose_the_worker_node, daemon=True)
        killer.start()
        rows = [{"completion": "x" * (i % 5 + 1), "marker": str(marker)} for i in range(32)]
        batch = engine.score(rows, spec)
        killer.join(10)
        assert [s.value for s in batch] == [float(i % 5 + 1) for i in range(32)]
        assert all(s.status == "ok" for s in batch)
        recovery = engine.recovery
        assert recovery.actor_deaths >= 1 and recovery.failed_rows == 0
        assert 1 <= recovery.rescored_rows <= 32
        print(f"recovery after losing a node: {recovery}")
    finally:
        engine.close()

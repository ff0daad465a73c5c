"""A worker that holds more resident memory than its limit is killed; its row is an ``error``
whose reason starts with ``memory limit``, and the other rows are scored."""

from __future__ import annotations

import sample_rewards  # noqa: F401 - registers the test rewards

from rewardsmith import Engine, load_spec
from rewardsmith.engine.pool import DEFAULT_MEMORY_MB, WorkerPool


def test_a_memory_hungry_row_fails_with_memory_limit_and_the_rest_are_scored() -> None:
    rows = [{"id": "small", "completion": "10"}, {"id": "big", "completion": "900"}]
    rows += [{"id": f"after{i}", "completion": "5"} for i in range(3)]
    with Engine(1, memory_mb=250) as engine:
        scores = engine.score(rows, "test.hog")
        assert engine.pool.memory_kills == 1
    assert [s.status for s in scores] == ["ok", "error", "ok", "ok", "ok"]
    assert "error: memory limit: the worker held" in scores[1].reason
    assert "over the limit of 250 MiB" in scores[1].reason
    assert scores[1].latency_s > 0  # how long it ran before it was stopped


def test_the_limit_defaults_to_4096_mib_and_0_turns_it_off() -> None:
    assert WorkerPool(1).memory_mb == DEFAULT_MEMORY_MB == 4096
    with Engine(1, memory_mb=0) as engine:
        (score,) = engine.score([{"completion": "300"}], "test.hog")
        assert score.status == "ok" and engine.pool.memory_mb == 0


def test_the_spec_sets_the_limit_without_changing_older_specs_hashes() -> None:
    plain = load_spec({"terms": [{"name": "hog", "use": "test.hog"}]})
    limited = load_spec(
        {"terms": [{"name": "hog", "use": "test.hog"}], "limits": {"worker_memory_mb": 300}}
    )
    assert limited.limits.worker_memory_mb == 300 and plain.limits.worker_memory_mb is None
    assert plain.content_hash() != limited.content_hash()
    # The hash before limits.worker_memory_mb existed: resumed runs still find their log.
    assert plain.content_hash() == "43478abdfd8939b6"


def test_the_server_config_and_the_spec_set_the_servers_engine_limit() -> None:
    from rewardsmith.serve import ServeConfig
    from rewardsmith.serve.app import RewardServer

    spec = {"terms": [{"name": "hog", "use": "test.hog"}], "limits": {"worker_memory_mb": 300}}
    for config, expected in (
        (ServeConfig(log=False), 300),
        (ServeConfig(log=False, worker_memory_mb=700), 700),
    ):
        server = RewardServer(spec, config)
        server.start()
        try:
            assert server.engine is not None and server.engine.memory_mb == expected
        finally:
            server.stop()


def test_an_engine_without_a_limit_applies_each_specs_own_and_its_own_setting_wins() -> None:
    hog = {"terms": [{"name": "hog", "use": "test.hog"}], "limits": {"worker_memory_mb": 250}}
    rows = [{"id": "big", "completion": "900"}, {"id": "small", "completion": "10"}]
    with Engine(1) as engine:  # what rewardsmith.score builds
        big, small = engine.score(rows, hog)
        assert (big.status, small.status) == ("error", "ok")
        assert "over the limit of 250 MiB" in big.reason
        # The same engine, a spec without a limit: the pool's default (4096 MiB) holds 900.
        (unlimited,) = engine.score(rows[:1], "test.hog")
        assert unlimited.status == "ok"
    with Engine(1, memory_mb=0) as engine:
        (big,) = engine.score(rows[:1], hog)
        assert big.status == "ok"

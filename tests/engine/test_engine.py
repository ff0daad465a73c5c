"""Engine behaviour: cache and dedup, io rewards, group rewards, limits, input problems."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import sample_rewards  # noqa: F401 - registers the test rewards
from pydantic import Field

import rewardsmith
from rewardsmith import Engine
from rewardsmith.core.spec import ResolvedTerm, TermSpec


def _calls(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_repeated_completion_in_a_batch_is_scored_once(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    spec = {"terms": [{"name": "t", "use": "test.behaves", "params": {"calls_file": str(calls)}}]}
    rows = [
        {"id": str(i), "completion": "ok", "reference": "ok", "prompt": f"p{i}"} for i in range(10)
    ]
    with Engine(workers=2) as engine:
        batch = engine.score(rows, spec)
        assert [s.value for s in batch] == [1.0] * 10
        assert len(_calls(calls)) == 1
        engine.score(rows, spec)  # answered from the cache
        assert len(_calls(calls)) == 1
        engine.score([{"completion": "ok", "reference": "other"}], spec)  # a read field changed
        assert len(_calls(calls)) == 2


def test_errors_and_timeouts_are_not_cached(tmp_path: Path) -> None:
    spec = {"terms": [{"name": "t", "use": "test.behaves", "params": {"timeout_s": 0.3}}]}
    with Engine(workers=1) as engine:
        engine.score([{"completion": "raise"}, {"completion": "hang"}], spec)
        assert len(engine.cache or []) == 0


def test_cache_can_be_turned_off(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    spec = {
        "terms": [{"name": "t", "use": "test.inline_len", "params": {"calls_file": str(calls)}}]
    }
    with Engine(cache=False) as engine:
        engine.score([{"completion": "same"}] * 3, spec)
    assert len(_calls(calls)) == 3


def test_oversized_completion_is_refused_without_running_the_reward(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    spec = {
        "terms": [{"name": "t", "use": "test.inline_len", "params": {"calls_file": str(calls)}}],
    }
    big = "x" * (10 * 1024 * 1024)
    with Engine() as engine:
        batch = engine.score([{"completion": big}, {"completion": "small"}], spec)
    assert batch[0].status == "refused"
    assert "over the limit of 1,000,000" in batch[0].reason
    assert batch[0].value == 0.0  # refused -> zero by default
    assert batch[1].value == 5.0
    assert len(_calls(calls)) == 1


def test_malformed_rows_get_an_error_and_the_rest_are_scored() -> None:
    rows = [{"completion": "ok", "reference": "ok"}, {"prompt": "no completion"}, {"completion": 3}]
    batch = rewardsmith.score(rows, "test.inline_len")
    assert batch[0].status == "ok"
    assert [s.status for s in batch[1:]] == ["error", "error"]
    assert "row 1: field 'completion': missing" in batch[1].reason
    assert "row 2: field 'completion'" in batch[2].reason
    assert batch.ids == ["row-0", "row-1", "row-2"]


def test_routing_by_task() -> None:
    spec = {
        "terms": [
            {"name": "a", "use": "test.inline_len", "when": "short"},
            {"name": "b", "use": "test.inline_len", "when": ["long"], "weight": 2.0},
        ]
    }
    batch = rewardsmith.score(
        [
            {"completion": "abc", "task": "short"},
            {"completion": "abc", "task": "long"},
            {"completion": "abc"},
        ],
        spec,
    )
    assert [s.value for s in batch] == [3.0, 6.0, None]
    assert batch[2].status == "not_applicable"
    assert "no term applies" in batch[2].reason


def _judge_spec(state: Path, **params: object) -> dict[str, object]:
    return {
        "terms": [{"name": "j", "use": "test.judge", "params": {"state_dir": str(state), **params}}]
    }


def test_io_rewards_retry_transient_failures(tmp_path: Path) -> None:
    rows = [{"id": f"q{i}", "completion": "fine"} for i in range(4)]
    with Engine() as engine:
        batch = engine.score(rows, _judge_spec(tmp_path, fail_times=2, retries=2))
        assert [s.status for s in batch] == ["ok"] * 4
        assert _calls(tmp_path / "starts").count("q0") == 3
        gives_up = engine.score(
            [{"id": "z", "completion": "x"}], _judge_spec(tmp_path, fail_times=5, retries=1)
        )
    assert gives_up[0].status == "error"
    assert "503 from the judge" in gives_up[0].reason
    assert "after 2 attempts" in gives_up[0].reason


def test_io_rewards_respect_the_concurrency_limit_and_timeouts(tmp_path: Path) -> None:
    rows = [{"id": f"q{i}", "completion": "fine"} for i in range(12)] + [
        {"id": "s", "completion": "slow"}
    ]
    spec = _judge_spec(tmp_path, concurrency=3, delay_s=0.05, timeout_s=0.5, retries=0)
    with Engine() as engine:
        batch = engine.score(rows, spec)
    assert [s.status for s in batch[:12]] == ["ok"] * 12
    assert batch[12].status == "timeout"
    assert int((tmp_path / "peak").read_text()) <= 3


def test_io_reward_non_transient_error_is_not_retried(tmp_path: Path) -> None:
    with Engine() as engine:
        batch = engine.score(
            [{"id": "b", "completion": "broken"}], _judge_spec(tmp_path, retries=3)
        )
    assert batch[0].status == "error"
    assert "KeyError" in batch[0].reason
    assert _calls(tmp_path / "starts") == ["b"]


def test_group_rewards_see_whole_groups() -> None:
    rows = [
        {"completion": "a", "group": "g1"},
        {"completion": "aaa", "group": "g1"},
        {"completion": "aa", "group": "g1"},
        {"completion": "bbbb", "group": "g2"},
        {"completion": "b", "group": "g2"},
    ]
    with Engine(workers=2) as engine:
        batch = engine.score(rows, "test.group_rank")
    assert [s.value for s in batch] == [0.0, 1.0, 0.5, 1.0, 0.0]


def test_unknown_reward_fails_before_scoring() -> None:
    with pytest.raises(rewardsmith.SpecError, match="unknown reward 'nope'"):
        rewardsmith.score([{"completion": "x"}], {"terms": [{"name": "n", "use": "nope"}]})


def test_batch_reports_status_counts() -> None:
    batch = rewardsmith.score(
        [{"completion": "ok", "reference": "ok"}, {"completion": "raise"}, {"completion": "parse"}],
        "test.behaves",
    )
    counts = batch.status_counts
    assert (counts["ok"], counts["error"], counts["parse_error"]) == (1, 1, 1)
    assert set(counts) == set(rewardsmith.STATUSES)


def test_extra_fields_are_part_of_the_cache_key(tmp_path: Path) -> None:
    @rewardsmith.reward("test.engine.reads_extra", inline=True, register=False)
    def reads_extra(sample: rewardsmith.Sample) -> float:
        """The row's `bonus` field."""
        return float(sample.get("bonus", 0))

    rows = [{"completion": "same", "bonus": 1}, {"completion": "same", "bonus": 2}]
    with Engine() as engine:
        spec = rewardsmith.load_spec({"terms": [{"name": "x", "use": "exact_match"}]})
        term = ResolvedTerm(
            spec=TermSpec(name="x", use="exact_match"), reward=reads_extra, params={}, timeout_s=5
        )
        prepared, ids = rewardsmith.engine.prepare_rows(rows)
        batch = engine.score_prepared(prepared, ids, spec, [term])
    assert [s.value for s in batch] == [1.0, 2.0]


def test_annotated_param_constraints_are_enforced_at_spec_load() -> None:
    @rewardsmith.reward("test.engine.annotated", inline=True)
    def annotated(sample: rewardsmith.Sample, *, size: Annotated[int, Field(gt=0)] = 1) -> float:
        """Uses a constrained param."""
        return float(size)

    with pytest.raises(rewardsmith.SpecError, match="greater than 0"):
        rewardsmith.load_spec(
            {"terms": [{"name": "a", "use": "test.engine.annotated", "params": {"size": 0}}]}
        )

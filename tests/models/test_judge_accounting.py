"""Judge failures are the grader's (masked by default) and judge cost is counted exactly.

Against the local `JudgeServer` on 127.0.0.1: failures are selected by markers in the completion
(``GARBAGE`` no verdict, ``REFUSE`` refusal, ``SLOW`` sleeps, ``FAIL500``, ``FLAKY``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("httpx", reason="the [judge] extra (httpx) is not installed")

from judge_server import JudgeServer

import rewardsmith
from rewardsmith.core.policy import apply_policy, is_grader_failure
from rewardsmith.core.spec import StatusPolicy
from rewardsmith.models.judge import budget


@pytest.fixture
def server() -> Iterator[JudgeServer]:
    started = JudgeServer(slow_s=3.0).start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def engine() -> Iterator[rewardsmith.Engine]:
    with rewardsmith.Engine(workers=1) as made:
        yield made


@pytest.fixture(autouse=True)
def fresh_budgets() -> Iterator[None]:
    budget.reset()
    yield
    budget.reset()


def judge_term(server: JudgeServer, **params: Any) -> dict[str, Any]:
    params = {"base_url": server.url, "model": "judge-test", "retries": 0, **params}
    return {"name": "j", "use": "judge", "params": params}


def row(completion: str, **fields: Any) -> dict[str, Any]:
    return {"prompt": "What is 2 + 2?", "completion": completion, **fields}


def test_judge_failures_are_masked_and_policy_failures_stay_zero(engine, server) -> None:
    rows = [row("GARBAGE"), row("REFUSE"), row("SLOW GOOD"), row("GOOD")]
    batch = engine.score(rows, {"terms": [judge_term(server, timeout_s=1.0)]})
    terms = [s.info["terms"]["j"] for s in batch]
    assert [t["status"] for t in terms] == ["parse_error", "refused", "timeout", "ok"]
    assert [t["info"]["fault"] for t in terms[:3]] == ["grader"] * 3
    # The judge failed, not the policy: no reward, rather than a 0 that trains the policy.
    assert [s.value for s in batch[:3]] == [None, None, None]
    assert batch[3].value == pytest.approx(8 / 9)
    # A policy failure (no answer in the completion) keeps its status's own action: zero.
    math = engine.score(
        [row("no answer here", reference="4")], {"terms": [{"name": "m", "use": "math"}]}
    )
    assert math[0].info["terms"]["m"]["status"] == "parse_error" and math[0].value == 0.0


def test_grader_failure_action_can_be_set_in_the_spec(engine, server) -> None:
    spec = {"terms": [judge_term(server)], "on_status": {"grader_failure": "penalty:-0.5"}}
    assert engine.score([row("GARBAGE")], spec)[0].value == -0.5
    spec = {"terms": [judge_term(server)], "on_status": {"grader_failure": "raise"}}
    with pytest.raises(rewardsmith.RewardFailedError, match=r"on_status\.grader_failure"):
        engine.score([row("GARBAGE other")], spec)


def test_grader_fault_is_read_only_on_failures() -> None:
    policy = StatusPolicy(parse_error="penalty:-1")
    unmarked = rewardsmith.Score.fail("parse_error", "no answer")
    marked = rewardsmith.Score.fail("parse_error", "judge said nothing", fault="grader")
    assert apply_policy(policy, unmarked, row_id="r", term="t") == -1.0
    assert apply_policy(policy, marked, row_id="r", term="t") is None
    ok = rewardsmith.Score(value=0.25, info={"fault": "grader"})
    assert not is_grader_failure(ok)
    assert apply_policy(policy, ok, row_id="r", term="t") == 0.25


def test_cache_copies_count_once_in_usage_totals(engine, server) -> None:
    spec = {"terms": [judge_term(server, budget="b-cache")]}
    first = engine.score([row("GOOD same"), row("GOOD same"), row("GOOD other")], spec)
    again = engine.score([row("GOOD same")], spec)  # an engine-cache hit
    assert server.count == 2
    infos = [s.info for s in [*first, *again]]
    totals = budget.usage_totals(infos)
    assert totals is not None
    assert totals["calls"] == 2 == budget.usage("b-cache")["calls"]
    assert totals["prompt_tokens"] == budget.usage("b-cache")["prompt_tokens"] > 0
    assert totals["rows"] == 2


def test_failed_attempts_count_in_the_ledger_and_the_row(engine, server) -> None:
    batch = engine.score([row("FLAKY GOOD")], {"terms": [judge_term(server, retries=2)]})
    usage = batch[0].info["terms"]["j"]["info"]["usage"]
    assert server.count == 2  # one 500, then the answer
    assert (usage["calls"], usage["failed_calls"]) == (2, 1)
    assert budget.usage("judge")["calls"] == 2 and budget.usage("judge")["failed_calls"] == 1
    assert budget.usage_totals([batch[0].info])["failed_calls"] == 1  # type: ignore[index]


def test_max_calls_bounds_attempts_not_only_answers(engine, server) -> None:
    rows = [row(f"FAIL500 {i}") for i in range(3)]
    spec = {"terms": [judge_term(server, retries=2, max_calls=4, concurrency=1, budget="b4")]}
    batch = engine.score(rows, spec)
    assert server.count == 4  # 3 rows x 3 attempts wanted, 4 allowed
    totals = budget.usage("b4")
    assert totals["calls"] == 4 and totals["failed_calls"] == 4
    reasons = [s.info["terms"]["j"]["reason"] for s in batch]
    assert any("budget exhausted: 4 of 4 calls" in reason for reason in reasons)


def test_a_slow_reward_model_is_a_grader_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import time

    import numpy as np

    from rewardsmith.models.bt import reward as rm_module

    def slow_score(self: Any, batch: list[Any]) -> np.ndarray:
        time.sleep(1.0)  # a model that is busy elsewhere
        return np.zeros((len(batch), 1))

    monkeypatch.setattr(rm_module._Batcher, "_score", slow_score)
    sample = rewardsmith.Sample(id="1", prompt="q", completion="a")
    score = asyncio.run(rm_module.rm_reward.fn(sample, model="unused", timeout_s=0.3))
    assert score.status == "timeout" and is_grader_failure(score)
    assert apply_policy(StatusPolicy(), score, row_id="1", term="rm") is None


def test_an_out_of_range_verdict_is_reported_as_such(engine, server) -> None:
    batch = engine.score([row("OUTOFRANGE"), row("GARBAGE")], {"terms": [judge_term(server)]})
    out, none = (s.info["terms"]["j"] for s in batch)
    assert out["status"] == "parse_error" and none["status"] == "parse_error"
    assert "verdict 12 is outside the scale [1, 10]" in out["reason"]
    assert out["info"]["out_of_range"] == 12.0
    assert "no verdict" in none["reason"]

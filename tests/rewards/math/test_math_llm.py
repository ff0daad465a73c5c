"""The LLM add-on of ``math``: a verifier model asked, through the judge client, about rows
the rules reject or cannot read; its failures leave the rule verdict standing.

Every test talks to a real OpenAI-compatible server on 127.0.0.1 (`chat_server.ChatServer`)
that answers by a mode the test sets: a verdict, garbage, no verdict, an HTTP error, or a
reply slower than the add-on waits.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import rewardsmith
from chat_server import ChatServer
from rewardsmith import Sample
from rewardsmith.models.judge import budget
from rewardsmith.rewards.math import math_answer

pytest.importorskip("httpx")


class VerifierServer(ChatServer):
    """Replies according to ``mode``; ``slow_s`` delays the ``slow`` reply."""

    def __init__(self) -> None:
        self.mode = "equivalent"
        self.slow_s = 3.0
        super().__init__()

    def respond(self, body: dict[str, Any], recorded: Any) -> tuple[int, dict[str, Any] | str]:
        mode = self.mode
        if mode == "http_error":
            return 500, {"error": "overloaded"}
        if mode == "garbage":
            return 200, "<html>not json</html>"
        if mode == "not_a_completion":
            return 200, {"result": "EQUIVALENT"}
        if mode == "slow":
            time.sleep(self.slow_s)
        text = {
            "equivalent": "Both state 7/3. VERDICT: EQUIVALENT",
            "different": "These differ. VERDICT: DIFFERENT",
            "no_verdict": "Hard to say, they look similar.",
            "slow": "VERDICT: EQUIVALENT",
        }[mode]
        return 200, {
            "choices": [
                {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 120, "completion_tokens": 8},
        }


@pytest.fixture(scope="module")
def server() -> Iterator[VerifierServer]:
    started = VerifierServer().start()
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def fresh(server: VerifierServer) -> Iterator[None]:
    server.mode = "equivalent"
    with server.lock:
        server.requests.clear()
    budget.reset()
    yield


def _llm(server: VerifierServer, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": server.url,
        "model": "tiny-verifier",
        "price_in": 1.0,
        "price_out": 2.0,
    } | extra


# The rules reject this pair (seven thirds as words is not read), a verifier may accept it.
REJECTED = Sample(
    id="r",
    prompt="What is 7 divided by 3?",
    completion=r"So the answer is \boxed{\text{seven thirds}}.",
    reference=r"\frac{7}{3}",
)


def test_a_rejected_row_is_accepted_by_the_verifier(server):
    assert math_answer(REJECTED).value == 0.0
    score = math_answer(REJECTED, llm=_llm(server))
    assert (score.status, score.value) == ("ok", 1.0)
    assert score.info["path"] == "llm" and score.info["rule_path"] == "text"
    asked = score.info["llm"]
    assert asked["verdict"] is True and asked["model"] == "tiny-verifier"
    assert asked["usage"]["calls"] == 1 and asked["usage"]["prompt_tokens"] == 120
    assert asked["usage"]["cost_usd"] == pytest.approx((120 * 1.0 + 8 * 2.0) / 1e6)
    (request,) = server.requests
    shown = request["messages"][-1]["content"]
    assert "What is 7 divided by 3?" in shown
    assert r"\frac{7}{3}" in shown and r"\text{seven thirds}" in shown
    assert "{question}" not in shown


def test_an_accepted_row_is_never_sent(server):
    sample = Sample(id="a", completion=r"\boxed{\frac{14}{6}}", reference=r"\frac{7}{3}")
    score = math_answer(sample, llm=_llm(server))
    assert score.value == 1.0 and "llm" not in score.info
    assert server.requests == []


def test_the_verifier_saying_different_keeps_zero(server):
    server.mode = "different"
    score = math_answer(REJECTED, llm=_llm(server))
    assert (score.status, score.value) == ("ok", 0.0)
    assert score.info["llm"]["verdict"] is False and score.info["path"] == "text"


@pytest.mark.parametrize("mode", ["garbage", "not_a_completion", "no_verdict", "http_error"])
def test_a_broken_verifier_leaves_the_rule_verdict(server, mode):
    server.mode = mode
    score = math_answer(REJECTED, llm=_llm(server))
    assert (score.status, score.value) == ("ok", 0.0)
    assert score.info["llm"]["verdict"] is None
    assert score.info["llm"]["error"]


def test_a_slow_verifier_is_not_waited_for(server):
    server.mode = "slow"
    start = time.perf_counter()
    score = math_answer(REJECTED, llm=_llm(server, timeout_s=0.5))
    elapsed = time.perf_counter() - start
    assert elapsed < 2.5, elapsed
    assert (score.status, score.value) == ("ok", 0.0)
    assert score.info["llm"]["verdict"] is None and score.info["llm"]["error"]


def test_the_wait_stays_inside_the_calls_time_limit(server):
    server.mode = "slow"
    start = time.perf_counter()
    score = math_answer(REJECTED, llm=_llm(server, timeout_s=30), timeout_s=1.0)
    assert time.perf_counter() - start < 2.5
    assert score.value == 0.0 and score.info["llm"]["error"]


def test_an_unreadable_answer_can_be_sent_or_not(server):
    sample = Sample(id="u", completion="I believe it is seven over three.", reference="7/3")
    assert math_answer(sample).status == "parse_error"
    score = math_answer(sample, llm=_llm(server))
    assert (score.status, score.value) == ("ok", 1.0)
    assert "seven over three" in server.requests[-1]["messages"][-1]["content"]
    kept = math_answer(sample, llm=_llm(server, ask_on="reject"))
    assert kept.status == "parse_error" and "llm" not in kept.info


def test_the_budget_stops_calls_and_the_rule_verdict_stands(server):
    config = _llm(server, max_calls=1, budget="math.llm.test")
    assert math_answer(REJECTED, llm=config).value == 1.0
    second = math_answer(REJECTED, llm=config)
    assert second.value == 0.0 and "budget" in second.info["llm"]["error"]
    assert len(server.requests) == 1


def test_the_cache_answers_a_repeated_question(server, tmp_path):
    config = _llm(server, cache_path=str(tmp_path / "verifier.sqlite"))
    first = math_answer(REJECTED, llm=config)
    second = math_answer(REJECTED, llm=config)
    assert first.value == second.value == 1.0
    assert len(server.requests) == 1
    assert second.info["llm"]["usage"]["cached_calls"] == 1


def test_spec_params_are_checked_at_load():
    reward = rewardsmith.get_reward("math")
    good = {"base_url": "http://127.0.0.1:1/v1", "model": "m"}
    assert reward.validate_params({"llm": good}) == {"llm": good}
    with pytest.raises(ValueError):
        reward.validate_params({"llm": {"base_url": "http://127.0.0.1:1/v1"}})
    with pytest.raises(ValueError):
        reward.validate_params({"llm": good | {"temprature": 0}})
    with pytest.raises(ValueError):
        reward.validate_params({"llm": good | {"ask_on": "always"}})


def test_through_the_engine_in_worker_processes(server):
    rows = [
        {
            "prompt": "What is 7 divided by 3?",
            "completion": REJECTED.completion,
            "reference": r"\frac{7}{3}",
        },
        {"completion": r"\boxed{5}", "reference": "5"},
        {"completion": r"\boxed{6}", "reference": "5"},
    ]
    spec = {
        "terms": [{"name": "math", "use": "math", "params": {"llm": _llm(server, ask_on="reject")}}]
    }
    server.mode = "equivalent"
    batch = rewardsmith.score(rows, spec)
    assert [s.value for s in batch] == [1.0, 1.0, 1.0]  # the verifier says yes to both rejects
    server.mode = "different"
    batch = rewardsmith.score(
        rows[2:],
        {
            "terms": [
                {"name": "math", "use": "math", "params": {"llm": _llm(server, model="other")}}
            ]
        },
    )
    assert [s.value for s in batch] == [0.0]

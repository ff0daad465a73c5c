"""Counters typed as counters, deep nesting refused as 422, end-of-sequence markers of the
common model families, and Idempotency-Key retries answered without scoring twice."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn", reason="the server tests need the [serve] extra")

import serve_rewards  # noqa: E402,F401  (registers serve_test.* in this process)
from serve_helpers import ServerProcess, server_in_thread  # noqa: E402

from rewardsmith import Engine  # noqa: E402
from rewardsmith.io.runlog import RunLog  # noqa: E402
from rewardsmith.serve import RewardServer, ServeConfig  # noqa: E402
from rewardsmith.serve.config import DEFAULT_END_TOKENS  # noqa: E402
from rewardsmith.serve.idempotency import IdempotencyRecord  # noqa: E402

SLOW = {"name": "slow", "terms": [{"name": "s", "use": "serve_test.slow"}]}


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine(1) as shared:
        yield shared


def test_every_total_metric_is_a_counter(engine: Engine) -> None:
    with server_in_thread(
        RewardServer("exact_match", ServeConfig(log=False), engine=engine)
    ) as url:
        httpx.post(url + "/v1/score", json={"samples": [{"completion": "a", "reference": "a"}]})
        text = httpx.get(url + "/metrics").text
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.M))
    totals = {name: kind for name, kind in types.items() if name.endswith("_total")}
    assert "rewardsmith_worker_restarts_total" in totals
    assert "rewardsmith_cache_hits_total" in totals
    assert set(totals.values()) == {"counter"}, totals


@pytest.mark.parametrize("depth", [100, 999, 20_000])
def test_deeply_nested_rows_get_422_naming_the_field(engine: Engine, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    with server_in_thread(
        RewardServer("exact_match", ServeConfig(log=False), engine=engine)
    ) as url:
        body = '{"samples": [{"completion": "a"}, {"completion": "a", "reference": NEST}]}'
        body = body.replace("NEST", nested)
        answer = httpx.post(url + "/v1/score", content=body.encode(), timeout=30)
        labels = '{"query": ["a"], "labels": [NEST]}'.replace("NEST", nested)
        reward = httpx.post(url + "/get_reward", content=labels.encode(), timeout=30)
        fine = httpx.post(url + "/v1/score", json={"samples": [{"completion": "a"}]})
    assert answer.status_code == 422 and reward.status_code == 422
    assert "nested deeper" in answer.json()["error"]
    if depth < 900:  # past msgspec's own limit the body as a whole is named
        assert answer.json()["problems"][0]["field"] == "samples[1].reference"
        assert reward.json()["problems"][0]["field"] == "labels[0]"
    assert fine.status_code == 200


DEEPSEEK_EOS = "<｜end▁of▁sentence｜>"


@pytest.mark.parametrize(
    "marker",
    ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", DEEPSEEK_EOS, "</s>",
     "<end_of_turn>"],
)  # fmt: skip
def test_end_markers_of_common_models_are_stripped(engine: Engine, marker: str) -> None:
    assert marker in DEFAULT_END_TOKENS
    with server_in_thread(
        RewardServer("exact_match", ServeConfig(log=False), engine=engine)
    ) as url:
        body = {"query": ["Q: 2+2?\nA:4" + marker], "prompts": ["Q: 2+2?\nA:"], "labels": ["4"]}
        assert httpx.post(url + "/get_reward", json=body).json()["rewards"] == [1.0]


def test_serve_options_add_eos_markers_and_choose_the_masked_reward(tmp_path: Path) -> None:
    options = ["--eos-marker", "<|my_end|>", "--eos-marker", "[END]", "--masked-reward", "null"]
    server = ServerProcess(["--reward", "exact_match", "--no-log", *options], cwd=tmp_path)
    try:
        queries = ["Q:4<|my_end|>", "Q:4[END]", "Q:4<|im_end|>", "Q:4<|other|>", "Q:4"]
        body = {"query": queries, "prompts": ["Q:"] * 5, "labels": ["4"] * 4 + [""]}
        answer = httpx.post(server.url + "/get_reward", json=body, timeout=30).json()
    finally:
        server.stop()
    # The defaults stay, unknown markers stay, and the empty label's masked row is null here.
    assert answer["rewards"] == [1.0, 1.0, 1.0, 0.0, None]


def test_a_retry_with_the_same_idempotency_key_is_answered_once(
    engine: Engine, tmp_path: Path
) -> None:
    config = ServeConfig(log_dir=tmp_path / "runs")
    app = RewardServer(SLOW, config, engine=engine)
    rows = {"samples": [{"completion": "yes", "sleep_s": 0.4}, {"completion": "no"}]}
    with server_in_thread(app) as url:
        answers: list[httpx.Response] = []

        def send() -> None:
            headers = {"Idempotency-Key": "step-7-chunk-0"}
            answers.append(httpx.post(url + "/v1/score", json=rows, headers=headers, timeout=30))

        first = threading.Thread(target=send)
        first.start()
        time.sleep(0.15)  # the first is being scored: the retry waits for its answer
        send()
        first.join(30)
        send()  # answered from the record
        other = httpx.post(
            url + "/v1/score",
            json={"samples": [{"completion": "no"}]},
            headers={"Idempotency-Key": "step-7-chunk-0"},
        )
        fresh = httpx.post(url + "/v1/score", json=rows, headers={"Idempotency-Key": "k2"})
        bad_key = httpx.post(url + "/v1/score", json=rows, headers={"Idempotency-Key": "a b"})
        reward_body = {"query": ["Q: yes"], "prompts": ["Q: "]}
        twice = [
            httpx.post(url + "/get_reward", json=reward_body, headers={"Idempotency-Key": "r1"})
            for _ in range(2)
        ]
        metrics = httpx.get(url + "/metrics").text
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[0].content == answers[1].content == answers[2].content
    assert [a.headers.get("idempotent-replayed") for a in answers].count("true") == 2
    assert other.status_code == 422 and "different request body" in other.json()["error"]
    assert fresh.status_code == 200 and bad_key.status_code == 422
    assert twice[0].json() == twice[1].json()
    # 2 rows once + 2 rows under a new key + 1 OpenRLHF row once: nothing logged twice.
    assert app.batcher is not None and app.batcher.rows_scored == 5
    assert len(RunLog(tmp_path / "runs").latest().logged_rows()) == 5
    assert 'rewardsmith_idempotent_replays_total{route="/v1/score"} 2' in metrics


def test_a_failed_first_attempt_is_not_replayed() -> None:
    async def main() -> list[object]:
        record = IdempotencyRecord(max_entries=2)
        first = record.claim("/r", "k", b"body")
        waiting = record.claim("/r", "k", b"body")
        record.abandon("/r", "k", first)  # e.g. a 429 or 503: nothing to replay
        retry = record.claim("/r", "k", b"body")
        seen = [await waiting, type(retry).__name__]
        record.finish("/r", "k", retry, b"ok")
        for key in ("a", "b", "c"):  # the record keeps at most two answers
            record.finish("/r", key, record.claim("/r", key, b"x"), b"x")
        seen.append(len(record))
        return seen

    assert asyncio.run(main()) == [None, "_Entry", 2]


def test_the_same_key_on_another_route_is_another_request(engine: Engine) -> None:
    with server_in_thread(
        RewardServer("exact_match", ServeConfig(log=False), engine=engine)
    ) as url:
        headers = {"Idempotency-Key": "shared"}
        native = httpx.post(
            url + "/v1/score", json={"samples": [{"completion": "a"}]}, headers=headers
        )
        openrlhf = httpx.post(url + "/get_reward", json={"query": ["a"]}, headers=headers)
    assert native.status_code == 200 and openrlhf.status_code == 200
    assert "rewards" in json.loads(openrlhf.content)

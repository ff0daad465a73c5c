"""The reward server over real HTTP on 127.0.0.1: protocol, limits, auth, errors, metrics."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn", reason="the server tests need the [serve] extra")

import serve_rewards  # noqa: E402,F401  (registers serve_test.* in this process)
from serve_helpers import ServerProcess, server_in_thread  # noqa: E402

import rewardsmith  # noqa: E402
from rewardsmith import Engine  # noqa: E402
from rewardsmith.client import Client, ServerError, ServerUnavailable  # noqa: E402
from rewardsmith.io.runlog import RunLog  # noqa: E402
from rewardsmith.serve import RewardServer, ServeConfig  # noqa: E402

SPEC = {
    "name": "serve-test",
    "terms": [
        {"name": "em", "use": "exact_match"},
        {
            "name": "fmt",
            "use": "regex",
            "weight": 0.5,
            "params": {"pattern": r"^[A-Z]", "mode": "search"},
        },
    ],
}
ROWS = [
    {"id": "a", "completion": "Paris", "reference": "paris"},
    {"id": "b", "completion": "lyon", "reference": "Paris"},
    {"completion": [{"role": "assistant", "content": "Rome"}], "reference": "Rome", "src": "x"},
    {"id": 7, "completion": "x" * 50, "reference": "y"},
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine(1) as shared:
        yield shared


@pytest.fixture(scope="module")
def served(engine: Engine, tmp_path_factory: pytest.TempPathFactory):
    config = ServeConfig(
        token="s3cret",
        max_batch_rows=64,
        max_body_bytes=200_000,
        log_dir=tmp_path_factory.mktemp("runs"),
    )
    app = RewardServer(SPEC, config, engine=engine)
    with server_in_thread(app) as url:
        yield url, app


def _post(url: str, path: str, body: object, token: str | None = "s3cret") -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url + path, content=content, headers=headers, timeout=30)


def test_scores_match_the_in_process_engine(served, engine: Engine) -> None:
    url, _ = served
    with Client(url, token="s3cret") as client:
        remote = client.score(ROWS)
    local = engine.score(ROWS, SPEC)
    assert remote.ids == ["a", "b", "row-2", "7"]
    assert [s.value for s in remote] == [s.value for s in local] == [1.5, 0.0, 1.5, 0.0]
    assert [s.status for s in remote] == [s.status for s in local]
    assert [s.components for s in remote] == [s.components for s in local]


def test_batch_answer_carries_status_counts_and_reasons(served) -> None:
    url, _ = served
    rows = [
        {"completion": "Paris", "reference": {"a": 1}},
        {"completion": "Paris", "reference": "Paris"},
    ]
    answer = _post(url, "/v1/score", {"samples": rows})
    assert answer.status_code == 200
    body = answer.json()
    first = body["scores"][0]
    assert first["status"] == "invalid_reference" and first["reward"] is None
    assert "reference" in first["reason"]
    assert body["status_counts"]["invalid_reference"] == 1
    assert body["status_counts"]["ok"] == 1


def test_token_is_required_on_scoring_routes(served) -> None:
    url, _ = served
    for token in (None, "wrong"):
        answer = _post(url, "/v1/score", {"samples": ROWS[:1]}, token=token)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "Bearer" in answer.json()["error"]
    assert _post(url, "/get_reward", {"query": ["x"]}, token=None).status_code == 401
    assert httpx.get(url + "/healthz").status_code == 200  # probes need no token


def test_malformed_json_and_rows_get_422_naming_row_and_field(served) -> None:
    url, _ = served
    answer = _post(url, "/v1/score", b"{not json")
    assert answer.status_code == 422 and "not valid JSON" in answer.json()["error"]

    answer = _post(url, "/v1/score", {"samples": {"completion": "x"}})
    assert answer.status_code == 422 and "$.samples" in answer.json()["error"]

    answer = _post(url, "/v1/score", {"rows": []})
    assert answer.status_code == 422

    bad = [{"completion": "ok"}, {"reference": "no completion"}, {"completion": "x", "task": 3}]
    answer = _post(url, "/v1/score", {"samples": bad})
    assert answer.status_code == 422
    problems = answer.json()["problems"]
    assert [(p["row"], p["field"]) for p in problems] == [
        (1, "samples[1].completion"),
        (2, "samples[2].task"),
    ]
    assert answer.json()["error"].startswith("samples[1].completion: missing")


def test_body_and_batch_limits_answer_413(served) -> None:
    url, _ = served
    too_many = {"samples": [{"completion": "a"}] * 65}
    answer = _post(url, "/v1/score", too_many)
    assert answer.status_code == 413 and "65 rows" in answer.json()["error"]
    huge = {"samples": [{"completion": "a" * 300_000}]}
    answer = _post(url, "/v1/score", huge)
    assert answer.status_code == 413 and "limit of 200,000 bytes" in answer.json()["error"]


def test_openrlhf_protocol_strips_prompt_and_end_tokens(served) -> None:
    url, _ = served
    prompts = ["<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n"] * 3
    queries = [
        prompts[0] + "Paris<|im_end|><|endoftext|>",
        "<s>" + prompts[1] + "Lyon</s>",  # a BOS before the prompt, as a decode may add
        prompts[2] + "paris<|im_end|>\n",
    ]
    body = _post(
        url, "/get_reward", {"query": queries, "prompts": prompts, "labels": ["Paris"] * 3}
    )
    assert body.status_code == 200, body.text
    answer = body.json()
    # em: Paris/paris right, Lyon wrong; fmt (0.5): starts with a capital.
    assert answer["rewards"] == [1.5, 0.5, 1.0]
    assert answer["scores"] == answer["rewards"]
    assert answer["extra_logs"]["rewardsmith/em"] == [1.0, 0.0, 1.0]
    assert answer["extra_logs"]["rewardsmith/masked"] == [0.0, 0.0, 0.0]


def test_openrlhf_errors_name_the_field(served) -> None:
    url, _ = served
    answer = _post(url, "/get_reward", {"query": ["a", "b"], "prompts": ["a"]})
    assert answer.status_code == 422 and answer.json()["problems"][0]["field"] == "prompts"
    answer = _post(url, "/get_reward", {"query": ["hello world"], "prompts": ["bye"]})
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["field"] == "query[0]"


def test_openrlhf_masked_rows_get_a_number_and_a_flag_unless_null_is_chosen(
    engine: Engine,
) -> None:
    spec = {"terms": [{"name": "p", "use": "serve_test.picky"}]}
    queries = {"query": ["Q boom", "Q fine"], "prompts": ["Q ", "Q "]}
    with server_in_thread(RewardServer(spec, ServeConfig(log=False), engine=engine)) as url:
        answer = _post(url, "/get_reward", queries, token=None).json()
    # OpenRLHF tensorises every reward and cannot skip a row: a number, and the flag says why.
    assert answer["rewards"] == [0.0, 1.0]
    assert answer["extra_logs"]["rewardsmith/masked"] == [1.0, 0.0]
    assert answer["extra_logs"]["rewardsmith/failed"] == [1.0, 0.0]
    for chosen, expected in ((-1.0, -1.0), (None, None)):
        config = ServeConfig(log=False, masked_reward=chosen)
        with server_in_thread(RewardServer(spec, config, engine=engine)) as url:
            answer = _post(url, "/get_reward", queries, token=None).json()
        assert answer["rewards"] == [expected, 1.0]
        assert answer["extra_logs"]["rewardsmith/masked"] == [1.0, 0.0]


def test_unknown_route_and_wrong_method(served) -> None:
    url, _ = served
    assert httpx.get(url + "/nope").status_code == 404
    answer = httpx.get(url + "/v1/score")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"


def test_metrics_count_requests_statuses_and_terms(served) -> None:
    url, _ = served
    _post(url, "/v1/score", {"samples": [{"completion": "A", "reference": "A"}]})
    text = httpx.get(url + "/metrics").text
    assert 'rewardsmith_requests_total{route="/v1/score",code="200"}' in text
    assert 'rewardsmith_term_status_total{term="em",reward="exact_match",status="ok"}' in text
    assert 'rewardsmith_rows_total{status="ok"}' in text
    assert "rewardsmith_request_duration_seconds_bucket" in text
    assert "rewardsmith_queue_rows 0" in text
    assert "rewardsmith_worker_restarts_total" in text
    assert 'rewardsmith_requests_total{route="/v1/score",code="401"}' in text


def test_openapi_document_and_health(served) -> None:
    url, app = served
    document = httpx.get(url + "/openapi.json").json()
    assert set(document["paths"]) == {"/v1/score", "/get_reward", "/healthz", "/metrics"}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    health = httpx.get(url + "/healthz").json()
    assert health["status"] == "ok" and health["spec"] == "serve-test"
    assert health["run_id"] == app.run.id


def test_concurrent_requests_are_micro_batched(engine: Engine) -> None:
    spec = {"terms": [{"name": "s", "use": "serve_test.slow"}]}
    app = RewardServer(spec, ServeConfig(log=False), engine=engine)
    results: list[float | None] = []
    with server_in_thread(app) as url:
        client = Client(url)

        def call(index: int) -> None:
            row = {"completion": "yes" if index % 2 else "no", "sleep_s": 0.05, "n": index}
            results.append(client.score([row])[0].value)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        client.close()
    assert sorted(results) == [0.0] * 8 + [1.0] * 8
    assert app.batcher.rows_scored == 16
    # While one 50 ms batch is scored the other requests queue up and go together.
    assert app.batcher.batches < 8


def test_full_queue_answers_429_with_retry_after(engine: Engine) -> None:
    spec = {"terms": [{"name": "s", "use": "serve_test.slow"}]}
    app = RewardServer(spec, ServeConfig(log=False, max_queue_rows=2), engine=engine)
    with server_in_thread(app) as url:
        slow = {"samples": [{"completion": "yes", "sleep_s": 0.6}]}
        busy = threading.Thread(target=_post, args=(url, "/v1/score", slow, None))
        busy.start()
        time.sleep(0.2)  # the first request is being scored; the queue is empty
        queued = threading.Thread(
            target=_post, args=(url, "/v1/score", {"samples": [{"completion": "a"}] * 2}, None)
        )
        queued.start()
        time.sleep(0.1)  # two rows now wait: the queue is full
        answer = _post(url, "/v1/score", {"samples": [{"completion": "b"}]}, token=None)
        busy.join(30)
        queued.join(30)
        assert answer.status_code == 429
        assert int(answer.headers["retry-after"]) >= 1
        assert "retry" in answer.json()["error"]
        text = httpx.get(url + "/metrics").text
        assert 'rewardsmith_rejected_total{reason="queue_full"} 1' in text


def test_client_raises_with_the_servers_message_and_retries_unreachable() -> None:
    with pytest.raises(ServerUnavailable, match="ConnectError"):
        Client("http://127.0.0.1:9", retries=1, backoff_s=0.01, timeout_s=2).score(ROWS[:1])


def test_client_surfaces_422(served) -> None:
    url, _ = served
    with Client(url, token="s3cret") as client, pytest.raises(ServerError) as info:
        client.score([{"completion": 5}])
    assert info.value.status_code == 422
    assert info.value.problems[0]["field"] == "samples[0].completion"


def test_async_client_scores_in_order(served) -> None:
    url, _ = served

    async def main() -> tuple[object, dict]:
        async with Client(url, token="s3cret", batch_size=2) as client:
            return await client.ascore(ROWS), await client.aget_reward(["Q: x"], ["Q: "], ["x"])

    batch, reward = asyncio.run(main())
    assert [s.value for s in batch] == [1.5, 0.0, 1.5, 0.0]
    assert batch.ids == ["a", "b", "row-2", "7"]  # numbered across chunks, as in-process
    assert reward["rewards"] == [1.0]


def test_every_scored_row_reaches_the_run_log(tmp_path: Path, engine: Engine) -> None:
    log_dir = tmp_path / "runs"
    app = RewardServer(SPEC, ServeConfig(log_dir=log_dir), engine=engine)
    with server_in_thread(app) as url:
        Client(url).score(ROWS)
        Client(url).get_reward(["Q: Paris"], ["Q: "], ["Paris"])
    run = RunLog(log_dir).latest()
    assert run.manifest["status"] == "completed"
    logged = run.logged_rows()
    assert len(logged) == 5
    assert [logged[i].score.value for i in range(5)] == [1.5, 0.0, 1.5, 0.0, 1.5]


def test_sigterm_finishes_in_flight_requests_and_exits_cleanly(tmp_path: Path) -> None:
    spec = tmp_path / "slow.toml"
    spec.write_text('name = "slow"\n[[terms]]\nname = "s"\nuse = "serve_rewards:slow"\n')
    server = ServerProcess(
        ["--spec", str(spec), "--log-dir", str(tmp_path / "runs"), "--workers", "1"],
        cwd=tmp_path,
        env_extra={"REWARDSMITH_TOKEN": "from-env"},
    )
    rows = {"samples": [{"completion": "yes", "sleep_s": 1.0}, {"completion": "no"}]}
    assert _post(server.url, "/v1/score", rows, token=None).status_code == 401
    answers: list[httpx.Response] = []
    request = threading.Thread(
        target=lambda: answers.append(_post(server.url, "/v1/score", rows, token="from-env"))
    )
    request.start()
    time.sleep(0.4)  # the request is being scored
    code = server.stop(signal.SIGTERM, timeout=30)
    request.join(30)
    assert code == 0, server.stderr_text()
    assert answers and answers[0].status_code == 200
    assert [s["reward"] for s in answers[0].json()["scores"]] == [1.0, 0.0]
    run = RunLog(tmp_path / "runs").latest()
    assert run.manifest["status"] == "completed"
    assert len(run.logged_rows()) == 2


def test_serve_memory_mb_limits_the_workers_of_a_spec_without_a_limit(tmp_path: Path) -> None:
    spec = tmp_path / "hog.toml"
    spec.write_text('name = "hog"\n[[terms]]\nname = "h"\nuse = "sample_rewards:hog"\n')
    engine_tests = Path(__file__).resolve().parents[1] / "engine"  # the memory-hungry reward
    server = ServerProcess(
        ["--spec", str(spec), "--no-log", "--workers", "1", "--memory-mb", "250"],
        cwd=tmp_path,
        env_extra={"PYTHONPATH": str(engine_tests)},
    )
    try:
        rows = {"samples": [{"completion": "5"}, {"completion": "900"}, {"completion": "6"}]}
        answer = _post(server.url, "/v1/score", rows, token=None)
    finally:
        assert server.stop(signal.SIGTERM, timeout=30) == 0, server.stderr_text()
    assert answer.status_code == 200, answer.text
    scores = answer.json()["scores"]
    assert [s["status"] for s in scores] == ["ok", "error", "ok"]
    assert "memory limit" in scores[1]["reason"] and "limit of 250 MiB" in scores[1]["reason"]


def test_policy_raise_fails_only_its_own_request(engine: Engine) -> None:
    spec = {"terms": [{"name": "p", "use": "serve_test.picky"}], "on_status": {"error": "raise"}}
    app = RewardServer(spec, ServeConfig(log=False), engine=engine)
    with server_in_thread(app) as url:
        bad = _post(url, "/v1/score", {"samples": [{"completion": "boom"}]}, token=None)
        good = _post(url, "/v1/score", {"samples": [{"completion": "fine"}]}, token=None)
    assert bad.status_code == 500 and "on_status.error = 'raise'" in bad.json()["error"]
    assert good.status_code == 200 and good.json()["scores"][0]["reward"] == 1.0


def test_same_numbers_as_score_api(served) -> None:
    url, _ = served
    rows = [{"completion": f"Word{i}", "reference": f"word{i % 3}"} for i in range(40)]
    remote = Client(url, token="s3cret", batch_size=7).score(rows)
    local = rewardsmith.score(rows, SPEC, workers=1)
    assert [s.value for s in remote] == [s.value for s in local]


def test_integers_past_64_bits_in_a_row_are_scored(served) -> None:
    # Found by the schemathesis run: such a row used to break the engine's content hash.
    url, _ = served
    rows = [{"completion": "Paris", "reference": "Paris", "n": 12012585465427690802349342720}]
    answer = _post(url, "/v1/score", {"samples": rows})
    assert answer.status_code == 200
    assert answer.json()["scores"][0]["reward"] == 1.5


def test_bounded_load_every_answer_right_and_in_order(served) -> None:
    """32 concurrent clients x 15 requests x 4 rows: no error, each answer matches its rows."""
    url, app = served
    before = app.batcher.rows_scored

    async def client_loop(client: httpx.AsyncClient, number: int) -> int:
        checked = 0
        for request in range(15):
            words = [f"Word{number}x{request}x{k}" for k in range(4)]
            rows = [
                {"completion": w, "reference": w if k % 2 else "other"} for k, w in enumerate(words)
            ]
            answer = await client.post(url + "/v1/score", json={"samples": rows})
            assert answer.status_code == 200, answer.text
            rewards = [s["reward"] for s in answer.json()["scores"]]
            assert rewards == [0.5, 1.5, 0.5, 1.5]
            checked += 1
        return checked

    async def main() -> int:
        headers = {"authorization": "Bearer s3cret"}
        limits = httpx.Limits(max_connections=32)
        async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
            done = await asyncio.wait_for(
                asyncio.gather(*(client_loop(client, n) for n in range(32))), timeout=120
            )
        return sum(done)

    assert asyncio.run(main()) == 32 * 15
    assert app.batcher.rows_scored - before == 32 * 15 * 4
    assert app.batcher.queued_rows == 0


QA_SPEC = Path(__file__).resolve().parents[2] / "examples" / "qa.toml"
QA_PROMPT = "Q: capital of France?\n"
QA_ANSWER = "<think>easy</think><answer>Paris</answer>"


def test_get_reward_rows_carry_a_task_and_unapplied_terms_warn(engine: Engine) -> None:
    with server_in_thread(RewardServer(QA_SPEC, ServeConfig(log=False), engine=engine)) as url:
        body = {"query": [QA_PROMPT + QA_ANSWER], "prompts": [QA_PROMPT], "labels": ["Paris"]}
        untasked = _post(url, "/get_reward", body, token=None).json()
        by_query = _post(url, "/get_reward?task=qa", body, token=None).json()
        by_field = _post(url, "/get_reward", {**body, "tasks": ["qa"]}, token=None).json()
        empty = {**body, "query": body["query"] * 3, "prompts": [QA_PROMPT] * 3}
        empty |= {"labels": ["", "  ", None], "tasks": ["qa"] * 3}
        masked = _post(url, "/get_reward", empty, token=None).json()
        bad = _post(url, "/get_reward?tsak=qa", body, token=None)
        short = _post(url, "/get_reward", {**body, "tasks": []}, token=None)
    # Without a task the `when = "qa"` term never applies: format only (0.2), and a warning.
    assert untasked["rewards"] == [0.2]
    assert any("'correct'" in w and "task" in w for w in untasked["warnings"])
    assert by_query["rewards"] == by_field["rewards"] == [1.2]
    assert [w for w in by_query["warnings"] if "'correct'" in w] == []
    assert any("'choice'" in w for w in by_query["warnings"])  # mcq: still none sent
    # An empty label is no reference: the row is masked (invalid_reference), not scored "ok".
    # OpenRLHF needs a number, so the reward is masked_reward (0.0) and the flags say why.
    assert masked["extra_logs"]["rewardsmith/masked"] == [1.0] * 3
    assert masked["extra_logs"]["rewardsmith/failed"] == [1.0] * 3
    assert masked["rewards"] == [0.0] * 3
    assert bad.status_code == 422 and "tsak" in bad.json()["error"]
    assert short.status_code == 422 and short.json()["problems"][0]["field"] == "tasks"


def test_native_rows_take_the_query_task_unless_they_carry_one(engine: Engine) -> None:
    config = ServeConfig(log=False)
    rows = [
        {"completion": QA_ANSWER, "reference": "Paris"},
        {"completion": QA_ANSWER, "reference": "Paris", "task": "mcq"},
    ]
    with server_in_thread(RewardServer(QA_SPEC, config, engine=engine)) as url:
        answer = _post(url, "/v1/score?task=qa", {"samples": rows}, token=None).json()
        plain = _post(url, "/v1/score", {"samples": rows[:1]}, token=None).json()
    assert [s["status"] for s in answer["scores"]] == [
        "ok",
        "invalid_reference",
    ]  # routed to `choice`
    assert answer["scores"][0]["reward"] == 1.2 and answer["warnings"] == []
    assert plain["scores"][0]["reward"] == 0.2
    assert len(plain["warnings"]) == 2  # neither `correct` (qa) nor `choice` (mcq) applied


@pytest.mark.parametrize("name", ["masked", "failed"])
def test_a_term_named_like_a_reserved_flag_is_refused(name: str) -> None:
    spec = {"name": "clash", "terms": [{"name": name, "use": "exact_match"}]}
    with pytest.raises(rewardsmith.SpecError, match=f"terms\\[0\\] is named '{name}'"):
        RewardServer(spec, ServeConfig(log=False))

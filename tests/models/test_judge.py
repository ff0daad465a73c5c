"""The ``judge`` and ``judge.rubric`` rewards against a local OpenAI-compatible server.

No test calls the internet: `JudgeServer` (tests/models/judge_server.py) answers on 127.0.0.1
with fixed rules, and can be slow, fail with 500, return garbage or refuse on demand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("httpx", reason="the [judge] extra (httpx) is not installed")

from judge_server import JudgeServer

import rewardsmith
from rewardsmith.models.judge import budget
from rewardsmith.models.judge.reward import judge
from rewardsmith.models.judge.rubric import rubric_grade


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


def spec(server: JudgeServer, use: str = "judge", **params: Any) -> dict[str, Any]:
    params = {"base_url": server.url, "model": "judge-test", "retries": 0, **params}
    return {"terms": [{"name": "j", "use": use, "params": params}]}


def term(score: rewardsmith.Score) -> dict[str, Any]:
    return score.info["terms"]["j"]


def row(completion: str, **fields: Any) -> dict[str, Any]:
    return {"prompt": "What is the capital of France?", "completion": completion, **fields}


def test_pointwise_scores_are_normalised_from_the_verdict(engine, server) -> None:
    batch = engine.score([row("GOOD: Paris"), row("BAD: Lyon"), row("Paris")], spec(server))
    assert [round(s.value, 4) for s in batch] == [round(8 / 9, 4), round(1 / 9, 4), round(4 / 9, 4)]
    raw = engine.score([row("GOOD answer")], spec(server, normalize=False))
    assert raw[0].value == 9.0


def test_failures_get_their_own_status_never_zero(engine, server) -> None:
    rows = [
        row("GARBAGE"),
        row("REFUSE"),
        row("REFUSALFIELD"),
        row("NOTJSON"),
        row("FAIL500"),
    ]
    batch = engine.score(rows, spec(server, timeout_s=5))
    statuses = [term(s)["status"] for s in batch]
    assert statuses == ["parse_error", "refused", "refused", "error", "error"]
    assert "no verdict" in term(batch[0])["reason"]
    assert "500" in term(batch[4])["reason"]
    for score in batch:
        assert term(score)["value"] is None


def test_a_slow_server_times_out_and_the_batch_survives(engine, server) -> None:
    batch = engine.score([row("SLOW GOOD"), row("GOOD")], spec(server, timeout_s=1.0))
    assert term(batch[0])["status"] == "timeout"
    assert term(batch[1])["status"] == "ok"


def test_server_errors_are_retried_by_the_engine(engine, server) -> None:
    flaky = engine.score([row("FLAKY GOOD")], spec(server, retries=2))
    assert term(flaky[0])["status"] == "ok"
    assert server.count == 2  # one 500, one success
    before = server.count
    failing = engine.score([row("FAIL500 other")], spec(server, retries=1))
    assert term(failing[0])["status"] == "error"
    assert server.count - before == 2  # the first try and one retry


def test_guards_answer_master_keys_without_calling_the_judge(engine, server) -> None:
    rows = [row(":"), row("   "), row("Let's solve this problem step by step."), row("Solution")]
    batch = engine.score(rows, spec(server))
    assert [s.value for s in batch] == [0.0, 0.0, 0.0, 0.0]
    assert all(term(s)["reason"].startswith("guard:") for s in batch)
    assert server.count == 0
    unguarded = engine.score([row(":")], spec(server, guards=[]))
    assert server.count == 1 and unguarded[0].value == pytest.approx(4 / 9)


def test_reference_mode_and_missing_reference(engine, server) -> None:
    rows = [row("It is Paris.", reference="Paris"), row("It is Lyon.", reference="Paris"), row("x")]
    batch = engine.score(rows, spec(server, mode="reference"))
    assert [term(s)["status"] for s in batch] == ["ok", "ok", "invalid_reference"]
    assert [s.value for s in batch[:2]] == [1.0, 0.0]


def test_pairwise_swaps_positions_and_turns_bias_into_ties(server) -> None:
    sample = rewardsmith.Sample(id="1", prompt="q", completion="GOOD answer", reference="baseline")
    params = {"base_url": server.url, "model": "m", "mode": "pairwise"}
    won = asyncio.run(judge.fn(sample, **params))
    assert won.value == 1.0 and won.info["position_consistent"] is True
    assert won.info["verdicts"] == ["A", "B"] and won.info["usage"]["calls"] == 2
    lost = asyncio.run(
        judge.fn(rewardsmith.Sample(id="2", completion="meh", reference="GOOD"), **params)
    )
    assert lost.value == 0.0
    biased = JudgeServer(position_bias=True).start()
    try:
        tie = asyncio.run(judge.fn(sample, **{**params, "base_url": biased.url}))
    finally:
        biased.stop()
    assert tie.value == 0.5 and tie.info["position_consistent"] is False


def test_budget_stops_the_run_cleanly_and_counts_usage(engine, server) -> None:
    rows = [row(f"GOOD answer {i}") for i in range(5)]
    batch = engine.score(
        rows, spec(server, max_calls=2, price_in=1.0, price_out=2.0, concurrency=1, budget="b1")
    )
    statuses = [term(s)["status"] for s in batch]
    assert statuses.count("ok") == 2 and statuses.count("error") == 3
    assert all(
        "budget exhausted" in term(s)["reason"] for s in batch if term(s)["status"] == "error"
    )
    assert server.count == 2
    totals = budget.usage("b1")
    assert totals["calls"] == 2 and totals["prompt_tokens"] > 0
    assert totals["cost_usd"] == pytest.approx(
        (totals["prompt_tokens"] * 1.0 + totals["completion_tokens"] * 2.0) / 1e6
    )


def test_row_usage_is_reported(server) -> None:
    sample = rewardsmith.Sample(id="1", prompt="q", completion="GOOD")
    score = asyncio.run(judge.fn(sample, base_url=server.url, model="m", price_in=3.0))
    usage = score.info["usage"]
    assert usage["calls"] == 1 and usage["prompt_tokens"] > 10
    assert usage["cost_usd"] == pytest.approx(usage["prompt_tokens"] * 3.0 / 1e6)


def test_repeated_completions_cost_nothing(engine, server, tmp_path) -> None:
    same = [row("GOOD same"), row("GOOD same"), row("GOOD same")]
    engine.score(same, spec(server))
    assert server.count == 1  # the engine's content-hash cache deduplicates
    cache = str(tmp_path / "judge.sqlite")
    with rewardsmith.Engine(workers=1) as first:
        first.score([row("GOOD persisted")], spec(server, cache_path=cache))
    with rewardsmith.Engine(workers=1) as second:
        again = second.score([row("GOOD persisted")], spec(server, cache_path=cache))
    assert server.count == 2  # the second engine was answered by the reply cache
    assert again[0].value == pytest.approx(8 / 9)


def test_rubric_mixes_code_rules_and_judge_criteria(engine, server) -> None:
    rubric = [
        {"name": "names_paris", "check": "judge", "description": "mentions Paris", "weight": 2},
        {"name": "short", "check": "max_words", "value": 8},
        {"name": "no_hedging", "check": "not_regex", "value": "(?i)maybe|perhaps"},
    ]
    batch = engine.score(
        [row("Paris."), row("Maybe Lyon, perhaps Marseille, or some other city in France.")],
        spec(server, use="judge.rubric", rubric=rubric),
    )
    assert batch[0].value == 1.0
    assert batch[0].components["j.names_paris"] == 1.0
    assert batch[1].value == 0.0
    assert batch[1].components["j.short"] == 0.0


def test_rubric_required_rule_skips_the_judge(server) -> None:
    rubric = [
        {"name": "english", "check": "not_regex", "value": "[À-ÿ]", "required": True},
        {"name": "paris", "check": "judge", "description": "mentions Paris"},
    ]
    sample = rewardsmith.Sample(id="1", completion="C'est à Paris.")
    score = asyncio.run(rubric_grade.fn(sample, base_url=server.url, model="m", rubric=rubric))
    assert score.value == 0.0 and "required" in score.reason
    assert server.count == 0


def test_rubric_from_the_reference_and_bad_rubrics(server) -> None:
    params = {"base_url": server.url, "model": "m"}
    good = rewardsmith.Sample(
        id="1",
        completion="Paris",
        reference={"criteria": [{"name": "p", "description": "mentions Paris"}]},
    )
    assert asyncio.run(rubric_grade.fn(good, **params)).value == 1.0
    bad = rewardsmith.Sample(id="2", completion="x", reference=[{"name": "p", "check": "regex"}])
    failed = asyncio.run(rubric_grade.fn(bad, **params))
    assert failed.status == "invalid_reference" and "regex needs a pattern" in failed.reason
    refused = rewardsmith.Sample(id="3", completion="REFUSE", reference=good.reference)
    assert asyncio.run(rubric_grade.fn(refused, **params)).status == "refused"


def test_bad_params_fail_when_the_spec_loads(server) -> None:
    with pytest.raises(rewardsmith.SpecError, match="http"):
        rewardsmith.load_spec(spec(server, base_url="localhost:8000"))
    with pytest.raises(rewardsmith.SpecError, match="answer"):
        rewardsmith.load_spec(spec(server, template="Rate {answer}"))
    with pytest.raises(rewardsmith.SpecError, match=r"high \(3.0\) must be above low"):
        rewardsmith.load_spec(spec(server, low=5, high=3))
    with pytest.raises(rewardsmith.SpecError, match="mode"):
        rewardsmith.load_spec(spec(server, mode="listwise"))
    with pytest.raises(rewardsmith.SpecError, match="description"):
        rewardsmith.load_spec(spec(server, use="judge.rubric", rubric=[{"name": "x"}]))


def test_example_judge_spec_runs_against_the_local_server(engine, server) -> None:
    import json
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    loaded = tomllib.loads((root / "examples" / "judge.toml").read_text())
    for term_spec in loaded["terms"]:
        term_spec["params"]["base_url"] = server.url
    rows = [
        json.loads(line) for line in (root / "examples" / "judge.jsonl").read_text().splitlines()
    ]
    batch = engine.score(rows, loaded)
    by_id = {row["id"]: score for row, score in zip(rows, batch, strict=True)}
    assert by_id["qa-1"].value == 1.0 and by_id["qa-2"].value == 0.0
    assert by_id["qa-3"].info["terms"]["correct"]["reason"].startswith("guard:")
    assert by_id["qa-4"].value == 0.0
    assert by_id["ex-1"].components["rubric.mentions_density"] == 1.0
    assert by_id["ex-2"].value == 0.0  # the required no-apology rule failed

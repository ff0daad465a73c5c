"""Schemathesis against the server's own OpenAPI document: every generated request, valid or
not, gets an answer the document allows (no 500s, declared codes, conforming bodies)."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="needs the [test-serve] extra")
pytest.importorskip("uvicorn", reason="needs the [serve] extra")

from hypothesis import HealthCheck, settings  # noqa: E402
from serve_helpers import server_in_thread  # noqa: E402

from rewardsmith import Engine  # noqa: E402
from rewardsmith.serve import RewardServer, ServeConfig  # noqa: E402
from rewardsmith.serve.openapi import openapi_document  # noqa: E402

SPEC = {
    "name": "fuzz",
    "terms": [{"name": "em", "use": "exact_match"}, {"name": "rep", "use": "repetition"}],
}
TOKEN = "fuzz-token"

schema = schemathesis.openapi.from_dict(
    openapi_document(title="rewardsmith", version="test", spec_name="fuzz", auth=True)
)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory):
    config = ServeConfig(token=TOKEN, max_batch_rows=32, log_dir=tmp_path_factory.mktemp("runs"))
    with Engine(1) as engine, server_in_thread(RewardServer(SPEC, config, engine=engine)) as url:
        yield url


def test_served_document_is_the_one_fuzzed(base_url: str) -> None:
    import httpx

    assert (
        httpx.get(base_url + "/openapi.json").json()["paths"].keys()
        == schema.raw_schema["paths"].keys()
    )


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_document(case: schemathesis.Case, base_url: str) -> None:
    excluded = []
    if case.path == "/get_reward":
        # OpenRLHF's body has rules JSON Schema cannot state (prompts and labels as long as
        # query; each query contains its prompt), so a schema-valid body may rightly get 422.
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": f"Bearer {TOKEN}"},
        excluded_checks=excluded,
        timeout=30,
    )

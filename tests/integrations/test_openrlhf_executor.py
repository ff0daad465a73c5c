"""Our reward function and server under OpenRLHF 0.11.2's own ``SingleTurnAgentExecutor``.

OpenRLHF is installed ``--no-deps`` (``pip install --no-deps openrlhf==0.11.2 pylatexenc``);
its agent module imports without GPUs. The executor is the real one: it tokenizes the prompt,
asks the policy engine for a continuation, decodes prompt + response with special tokens, and
calls the reward by loading our ``.py`` file or by POSTing to our server. Only the policy (a
vLLM engine) is a stand-in, answering fixed tokens. ``samples_generator`` (which imports vLLM)
is not importable here; its tensor step is the two ``torch.tensor`` calls reproduced below.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip(
    "openrlhf.utils.agent",
    reason="OpenRLHF is not installed: pip install --no-deps openrlhf==0.11.2 pylatexenc",
)
torch = pytest.importorskip("torch")

from openrlhf.utils.agent import SingleTurnAgentExecutor  # noqa: E402
from tiny_lm import tiny_tokenizer  # noqa: E402

import rewardsmith.integrations.openrlhf as openrlhf_module  # noqa: E402

DEEPSEEK_EOS = "<｜end▁of▁sentence｜>"
PROMPT = "Q: 6*7? A:"


class _Policy:
    """Stands in for OpenRLHF's vLLM engine: answers a fixed response."""

    def __init__(self, token_ids: list[int]) -> None:
        self.token_ids = token_ids

    async def generate(
        self, prompt_token_ids: list[int], params: Any, multi_modal_data: Any = None
    ) -> Any:
        output = SimpleNamespace(token_ids=self.token_ids, finish_reason="stop", logprobs=None)
        return SimpleNamespace(outputs=[output])


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    tok = tiny_tokenizer()
    tok.add_special_tokens({"additional_special_tokens": [DEEPSEEK_EOS]})
    return tok


def _execute(
    executor: SingleTurnAgentExecutor, tokenizer: Any, response: str, label: Any
) -> dict[str, Any]:
    ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    ids.append(tokenizer.convert_tokens_to_ids(DEEPSEEK_EOS))
    params = SimpleNamespace(max_tokens=16, logprobs=None)
    return asyncio.run(executor.execute(PROMPT, label, params, 128, tokenizer, _Policy(ids)))


def _as_tensors(output: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """samples_generator._process_response_into_experience: reward and each extra log."""
    reward = torch.tensor([output["reward"]])
    logs = {key: torch.tensor([value]) for key, value in output["extra_logs"].items()}
    return reward, logs


def _check(executor: SingleTurnAgentExecutor, tokenizer: Any) -> None:
    right = _execute(executor, tokenizer, " 42", "42")
    # The executor swallows reward errors into reward None: a number proves we were called.
    assert right["reward"] == [1.0], right
    assert _as_tensors(right)[0].tolist() == [[1.0]]
    masked = _execute(executor, tokenizer, " 42", None)  # no label: invalid_reference -> mask
    reward, logs = _as_tensors(masked)
    assert reward.tolist() == [[0.0]]
    assert logs["rewardsmith/masked"].tolist() == [[1.0]]
    assert logs["rewardsmith/failed"].tolist() == [[1.0]]


def test_python_file_reward_func(tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARDSMITH_SPEC", "exact_match")
    _check(SingleTurnAgentExecutor(remote_rm_url=openrlhf_module.__file__), tokenizer)


def test_remote_rm_url_over_http(tokenizer: Any) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))
    try:
        from serve_helpers import server_in_thread
    finally:
        sys.path.pop(0)
    from rewardsmith.serve import ServeConfig, create_app

    fields = ServeConfig.model_fields
    config = ServeConfig(
        log=False,
        masked_reward=0.0,
        **({"end_tokens": openrlhf_module.END_MARKERS} if "end_tokens" in fields else {}),
    )
    with server_in_thread(create_app("exact_match", config)) as url:
        _check(SingleTurnAgentExecutor(remote_rm_url=f"{url}/get_reward"), tokenizer)

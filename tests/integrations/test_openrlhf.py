"""The OpenRLHF file-based reward function, called the way OpenRLHF v0.11 calls it.

OpenRLHF does not install on CPU; from ``openrlhf/utils/agent.py`` (``SingleTurnAgentExecutor``):
a ``--remote_rm_url`` ending in ``.py`` is loaded with ``spec_from_file_location("reward_func",
path)``; each sample's ``reward_func([query], [prompt], [label])`` runs via
``asyncio.to_thread``; and ``samples_generator.py`` turns the answer into tensors with
``torch.tensor([rewards])`` and ``torch.tensor([value])`` for each ``extra_logs`` key.
"""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest

import rewardsmith.integrations.openrlhf as openrlhf_module
from rewardsmith.integrations.openrlhf import make_reward_func

PROMPT = "<|im_start|>user\nWhat is 6*7?<|im_end|>\n<|im_start|>assistant\n"


def _load_like_openrlhf(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("reward_func", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


async def _fetch_via_func(
    reward_func: Any, queries: list[str], prompts: list[str], labels: list[Any]
) -> list[Any]:
    tasks = [
        asyncio.to_thread(reward_func, queries[i : i + 1], prompts[i : i + 1], labels[i : i + 1])
        for i in range(len(queries))
    ]
    return await asyncio.gather(*tasks)


def _as_openrlhf_tensors(info: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    torch = pytest.importorskip("torch")

    reward = torch.tensor([info.get("rewards")])
    logs = {key: torch.tensor([value]) for key, value in (info.get("extra_logs") or {}).items()}
    return reward, logs


def test_module_file_loaded_by_path_with_spec_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "math.toml"
    spec.write_text('name = "m"\n[[terms]]\nname = "em"\nuse = "exact_match"\n')
    monkeypatch.setenv("REWARDSMITH_SPEC", str(spec))
    reward_func = _load_like_openrlhf(openrlhf_module.__file__)
    queries = [
        PROMPT + "42<|im_end|>",
        "<|endoftext|>" + PROMPT + "41<|im_end|><|endoftext|>",
        PROMPT + " 42 \n<|im_end|>\n",
    ]
    answers = asyncio.run(_fetch_via_func(reward_func, queries, [PROMPT] * 3, ["42"] * 3))
    assert [a["rewards"] for a in answers] == [[1.0], [0.0], [1.0]]
    assert [a["scores"] for a in answers] == [[1.0], [0.0], [1.0]]
    for answer in answers:
        reward, logs = _as_openrlhf_tensors(answer)
        assert reward.shape == (1, 1)
        assert set(logs) == {"rewardsmith/masked", "rewardsmith/failed", "rewardsmith/em"}


def test_user_file_with_make_reward_func(tmp_path: Path) -> None:
    user_file = tmp_path / "my_reward.py"
    user_file.write_text(
        "from rewardsmith.integrations.openrlhf import make_reward_func\n"
        "reward_func = make_reward_func({'terms': [{'name': 'em', 'use': 'exact_match'}]},"
        " masked_value=-1.0)\n"
    )
    reward_func = _load_like_openrlhf(str(user_file))
    answer = reward_func([PROMPT + "42"], [PROMPT], [None])  # no label: invalid_reference
    assert answer["rewards"] == [-1.0]
    assert answer["extra_logs"]["rewardsmith/masked"] == [1.0]
    assert answer["extra_logs"]["rewardsmith/failed"] == [1.0]


def test_batch_of_queries_and_bad_input() -> None:
    reward_func = make_reward_func("exact_match")
    answer = reward_func([PROMPT + "42", PROMPT + "7"], [PROMPT, PROMPT], ["42", "42"])
    assert answer["rewards"] == [1.0, 0.0]
    masked = reward_func([PROMPT + "42"], [PROMPT], [None])  # invalid_reference -> mask
    assert masked["rewards"] == [0.0] and masked["extra_logs"]["rewardsmith/masked"] == [1.0]
    assert make_reward_func("exact_match", masked_value=None)([PROMPT + "42"], [PROMPT], [None])[
        "rewards"
    ] == [None]
    with pytest.raises(ValueError, match=r"queries\[0\] does not contain its prompt"):
        reward_func(["something else"], [PROMPT], ["42"])
    with pytest.raises(ValueError, match="labels has 1 items but queries has 2"):
        reward_func(["a", "b"], ["", ""], ["x"])


@pytest.mark.parametrize(
    "marker",
    ["<｜end▁of▁sentence｜>", "<|im_end|>", "<|eot_id|>", "</s>", "<end_of_turn>", "<eos>"],
)
def test_end_of_sequence_markers_of_common_models_are_stripped(marker: str) -> None:
    reward_func = make_reward_func("exact_match")
    assert reward_func([PROMPT + "42" + marker], [PROMPT], ["42"])["rewards"] == [1.0]


def test_reserved_term_names_are_refused() -> None:
    from rewardsmith import SpecError

    for name in ("masked", "failed"):
        with pytest.raises(SpecError, match=f"term '{name}' would be logged as rewardsmith/{name}"):
            make_reward_func({"terms": [{"name": name, "use": "exact_match"}]})


def test_masked_value_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARDSMITH_SPEC", "exact_match")
    monkeypatch.setenv("REWARDSMITH_MASKED_VALUE", "-0.5")
    assert openrlhf_module.reward_func([PROMPT + "4"], [PROMPT], [None])["rewards"] == [-0.5]
    monkeypatch.setenv("REWARDSMITH_MASKED_VALUE", "lots")
    with pytest.raises(ValueError, match="REWARDSMITH_MASKED_VALUE"):
        openrlhf_module.reward_func([PROMPT + "4"], [PROMPT], [None])

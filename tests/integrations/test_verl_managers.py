"""Our ``compute_score`` under verl's own reward managers (verl 0.9.1, installed ``--no-deps``).

Each test builds the manager the way verl's trainer does (``load_reward_manager`` from a config
for the registered reward-loop managers; the constructors for the legacy ones), hands it a
`DataProto` of tokenized responses, and reads what verl made of our answers. Skipped without
verl: ``pip install --no-deps verl==0.9.1 tensordict pyvers omegaconf codetiming orjson``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "verl.experimental.reward_loop.reward_manager",
    reason="verl is not installed: pip install --no-deps verl==0.9.1 tensordict pyvers "
    "omegaconf codetiming orjson",
)

import numpy as np
import torch
from omegaconf import OmegaConf
from tiny_lm import tiny_tokenizer
from verl import DataProto
from verl.trainer.ppo.reward import get_custom_reward_fn, load_reward_manager

SPEC_TOML = """
name = "verl-managers"
[[terms]]
name = "em"
use = "exact_match"
when = ["gsm8k"]
[[terms]]
name = "fmt"
use = "regex"
weight = 0.5
params = { pattern = "^[0-9]", mode = "search" }
"""
# (data_source, response, ground truth): 1.5 (right), 0.5 (wrong number), 0.0 (not a number),
# masked (no reference: invalid_reference -> mask -> masked_value)
ROWS = [("gsm8k", "42", "42"), ("gsm8k", "41", "42"), ("gsm8k", "x", "42"), ("gsm8k", "7", None)]
MASKED = -1.0
EXPECTED = [1.5, 0.5, 0.0, MASKED]
PKG = "pkg://rewardsmith.integrations.verl"


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return tiny_tokenizer()


@pytest.fixture
def spec_path(tmp_path: Path) -> str:
    path = tmp_path / "verl.toml"
    path.write_text(SPEC_TOML)
    return str(path)


def _data(tokenizer: Any, rows: list[tuple[str, str, Any]] = ROWS) -> DataProto:
    """A rollout batch as verl's trainer holds it: left-padded prompt, right-padded response."""
    prompt = tokenizer("Q:", add_special_tokens=False)["input_ids"]
    width = max(len(response) for _, response, _ in rows) + 2
    responses, masks = [], []
    for _, response, _ in rows:
        ids = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        pad = width - len(ids)
        responses.append(ids + [tokenizer.pad_token_id] * pad)
        masks.append([1] * len(prompt) + [1] * len(ids) + [0] * pad)
    return DataProto.from_dict(
        tensors={
            "prompts": torch.tensor([prompt] * len(rows)),
            "responses": torch.tensor(responses),
            "attention_mask": torch.tensor(masks),
        },
        non_tensors={
            "data_source": np.array([source for source, _, _ in rows], dtype=object),
            "reward_model": np.array([{"ground_truth": truth} for *_, truth in rows], dtype=object),
            "extra_info": np.array([{"index": i} for i in range(len(rows))], dtype=object),
        },
    )


def _config(manager: str, spec_path: str, name: str = "compute_score", **reward_kwargs: Any) -> Any:
    return OmegaConf.create(
        {
            "reward": {
                "custom_reward_function": {
                    "path": PKG,
                    "name": name,
                    "reward_kwargs": {"spec": spec_path, "masked_value": MASKED, **reward_kwargs},
                },
                "reward_manager": {"source": "register", "name": manager},
                "num_workers": 1,
                "reward_kwargs": {},
            },
            "trainer": {"experiment_name": "rewardsmith-test"},
        }
    )


def _run_loop_manager(manager: Any, data: DataProto) -> list[dict[str, Any]]:
    """verl's reward loop: ``run_single`` per sample, concurrently, on the manager's loop."""

    async def run_all() -> list[dict[str, Any]]:
        return list(
            await asyncio.gather(*(manager.run_single(data[i : i + 1]) for i in range(len(data))))
        )

    return manager.loop.run_until_complete(run_all())


@pytest.mark.parametrize("name", ["naive", "dapo", "gdpo"])
def test_registered_reward_loop_managers(name: str, spec_path: str, tokenizer: Any) -> None:
    manager = load_reward_manager(_config(name, spec_path, acc_term="em"), tokenizer)
    outputs = _run_loop_manager(manager, _data(tokenizer))
    assert [out["reward_score"] for out in outputs] == EXPECTED
    infos = [out["reward_extra_info"] for out in outputs]
    assert all(info.keys() == infos[0].keys() for info in infos)  # verl stacks them per key
    assert {"score", "acc", "masked", "status", "em", "fmt"} <= set(infos[0])
    # DAPO's filter_groups.metric=acc reads this: correctness from the em term
    assert [info["acc"] for info in infos] == [1.0, 0.0, 0.0, 0.0]
    assert [info["masked"] for info in infos] == [0.0, 0.0, 0.0, 1.0]
    assert infos[3]["status"] == "invalid_reference"
    # the rm_scores tensor verl trains on: the reward at each response's last token
    scores = manager.assemble_rm_scores(_data(tokenizer), [out["reward_score"] for out in outputs])
    assert scores.sum(dim=1).tolist() == EXPECTED


def test_registered_remote_manager_scores_in_a_ray_actor(spec_path: str, tokenizer: Any) -> None:
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        manager = load_reward_manager(_config("remote", spec_path), tokenizer)
        outputs = _run_loop_manager(manager, _data(tokenizer))
        assert [out["reward_score"] for out in outputs] == EXPECTED
        assert outputs[3]["reward_extra_info"]["masked"] == 1.0
        for worker in manager.reward_worker:
            ray.kill(worker)
    finally:
        if started:
            ray.shutdown()


def test_legacy_batch_manager(spec_path: str, tokenizer: Any) -> None:
    from verl.workers.reward_manager.batch import BatchRewardManager

    compute_score = get_custom_reward_fn(_config("batch", spec_path, name="compute_score_batch"))
    manager = BatchRewardManager(tokenizer, num_examine=0, compute_score=compute_score)
    data = _data(tokenizer)
    result = manager(data, return_dict=True)
    assert result["reward_tensor"].sum(dim=1).tolist() == EXPECTED
    assert result["reward_extra_info"]["masked"] == [0.0, 0.0, 0.0, 1.0]
    assert data.batch["acc"].tolist() == EXPECTED


def test_legacy_prime_manager_forks_after_we_scored(spec_path: str, tokenizer: Any) -> None:
    """prime scores in a forked ProcessPoolExecutor and reads ``float(result[0])``; our module
    has scored in this process before (its batcher thread exists), and the children must not
    hang on that thread, nor get verl's "Setting all as 0"."""
    from verl.workers.reward_manager.prime import PrimeRewardManager

    compute_score = get_custom_reward_fn(_config("prime", spec_path))
    assert compute_score(data_source="gsm8k", solution_str="42", ground_truth="42")["score"] == 1.5
    manager = PrimeRewardManager(tokenizer, num_examine=0, compute_score=compute_score)
    data = _data(tokenizer)
    parent = os.getpid()
    reward = manager(data)
    assert os.getpid() == parent
    assert reward.sum(dim=1).tolist() == EXPECTED
    assert data.batch["acc"].tolist() == EXPECTED


def test_file_path_loading_gives_functions_that_pickle_into_a_process_pool(
    spec_path: str, tokenizer: Any
) -> None:
    """verl runs a file path under a fresh module name; prime pickles the function by
    reference into its pool: the module hands out the package's own function."""
    import pickle

    import rewardsmith.integrations.verl as verl_module

    config = _config("naive", spec_path)
    config.reward.custom_reward_function.path = verl_module.__file__
    compute_score = get_custom_reward_fn(config)
    copy = pickle.loads(pickle.dumps(compute_score))
    assert copy(data_source="gsm8k", solution_str="42", ground_truth="42")[0] == 1.5

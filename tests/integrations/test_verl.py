"""The verl adapter, called the way verl v0.8 calls a custom ``compute_score``.

verl does not install on CPU, so its call shapes are reproduced from its source:
``verl/utils/import_utils.py::load_module`` (a file path is executed under a fresh module
name), ``verl/trainer/ppo/reward.py::get_custom_reward_fn`` (``reward_kwargs`` merged into the
call), the naive reward loop (one sample per call, from executor threads, keyword arguments),
and the ``batch`` manager (numpy object arrays for the per-sample columns).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import math
import os
import pickle
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import rewardsmith.integrations.verl as verl_module
from rewardsmith.integrations.verl import make_compute_score

SPEC_TOML = """
name = "verl-test"
[[terms]]
name = "em"
use = "exact_match"
when = ["openai/gsm8k", "hotpotqa"]
[[terms]]
name = "fmt"
use = "regex"
weight = 0.5
params = { pattern = "^[A-Z0-9]", mode = "search" }
"""


def _verl_load_module(module_path: str) -> Any:
    """verl's load_module: ``pkg://`` imports, a file path is executed under a fresh name."""
    if module_path.startswith("pkg://"):
        return importlib.import_module(module_path[len("pkg://") :].replace("/", "."))
    name = f"custom_module_{hash(os.path.abspath(module_path))}"
    spec = importlib.util.spec_from_file_location(name, module_path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _call_with_kwargs(raw_fn: Any, extra_kwargs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    return raw_fn(*args, **{**kwargs, **extra_kwargs})


def _verl_reward_fn(path: str, name: str, reward_kwargs: dict[str, Any]) -> Any:
    raw_fn = getattr(_verl_load_module(path), name)
    return partial(_call_with_kwargs, raw_fn, reward_kwargs)


async def _naive_loop(compute_score: Any, items: list[dict[str, Any]]) -> list[Any]:
    """The naive reward loop: each sample in the default executor, all at once."""
    loop = asyncio.get_running_loop()
    return await asyncio.gather(
        *(loop.run_in_executor(None, lambda item=item: compute_score(**item)) for item in items)
    )


ITEMS = [
    {
        "data_source": "openai/gsm8k",
        "solution_str": "42",
        "ground_truth": "42",
        "extra_info": {"index": 0},
    },
    {
        "data_source": "openai/gsm8k",
        "solution_str": "41",
        "ground_truth": "42",
        "extra_info": {"index": 1},
    },
    {
        "data_source": "hotpotqa",
        "solution_str": "Paris",
        "ground_truth": "paris",
        "extra_info": {"num_turns": None},
    },
    {"data_source": "other", "solution_str": "no answer", "ground_truth": "x", "extra_info": None},
]
EXPECTED = [1.5, 0.5, 1.5, 0.0]


@pytest.fixture
def spec_path(tmp_path: Path) -> str:
    path = tmp_path / "verl.toml"
    path.write_text(SPEC_TOML)
    return str(path)


@pytest.mark.parametrize("how", ["file", "pkg"])
def test_naive_loop_calls_compute_score_by_path(spec_path: str, how: str) -> None:
    path = verl_module.__file__ if how == "file" else "pkg://rewardsmith.integrations.verl"
    compute_score = _verl_reward_fn(path, "compute_score", {"spec": spec_path})
    results = asyncio.run(_naive_loop(compute_score, ITEMS))
    assert [r["score"] for r in results] == EXPECTED
    assert all(r.keys() == results[0].keys() for r in results)  # verl stacks the keys
    assert results[0] == {
        "score": 1.5,
        "acc": 1.5,
        "status": "ok",
        "masked": 0.0,
        "reason": "",
        "em": 1.0,
        "fmt": 1.0,
    }
    assert math.isnan(results[3]["em"])  # em does not route to "other"; no made-up number


def test_batch_manager_call_shape_with_numpy_columns(spec_path: str) -> None:
    np = pytest.importorskip("numpy")
    compute_score = _verl_reward_fn(
        "pkg://rewardsmith.integrations.verl", "compute_score_batch", {"spec": spec_path}
    )
    extras = np.array([dict(item["extra_info"] or {}) for item in ITEMS], dtype=object)
    for extra in extras:
        extra["rollout_reward_scores"] = {}
    results = compute_score(
        data_sources=np.array([item["data_source"] for item in ITEMS], dtype=object),
        solution_strs=[item["solution_str"] for item in ITEMS],
        ground_truths=[np.array([item["ground_truth"]]) for item in ITEMS],
        extra_infos=extras,
    )
    assert [r["score"] for r in results] == EXPECTED


def test_masked_rows_get_masked_value_and_say_so() -> None:
    compute_score = make_compute_score(
        {"terms": [{"name": "em", "use": "exact_match"}]}, masked_value=-1.0
    )
    result = compute_score("d", "42", None)  # no reference: invalid_reference -> mask
    assert result["score"] == -1.0 and result["masked"] == 1.0
    assert result["status"] == "invalid_reference" and "reference" in result["reason"]
    plain = make_compute_score("exact_match", return_dict=False)
    assert plain("d", "42", "42") == 1.0


def test_reserved_term_names_are_refused_when_built() -> None:
    from rewardsmith import SpecError

    for name in ("score", "masked", "acc", "overlong"):
        spec = {"terms": [{"name": name, "use": "exact_match"}]}
        with pytest.raises(SpecError, match=f"term '{name}' would overwrite the key '{name}'"):
            make_compute_score(spec)
        with pytest.raises(SpecError, match=f"term '{name}'"):
            verl_module.compute_score("d", "42", "42", spec=spec)
    with pytest.raises(SpecError, match="acc_term 'correct' is not one of its terms"):
        make_compute_score("exact_match", acc_term="correct")


def test_acc_is_the_score_or_the_named_term(spec_path: str) -> None:
    assert make_compute_score(spec_path)(**ITEMS[1])["acc"] == 0.5
    by_term = make_compute_score(spec_path, acc_term="em")
    assert [by_term(**item)["acc"] for item in ITEMS] == [1.0, 0.0, 1.0, 0.0]


def test_typos_in_reward_kwargs_are_errors(spec_path: str) -> None:
    compute_score = _verl_reward_fn(
        "pkg://rewardsmith.integrations.verl", "compute_score", {"sepc": spec_path}
    )
    with pytest.raises(TypeError, match="sepc"):
        compute_score(**ITEMS[0])
    with pytest.raises(Exception, match="REWARDSMITH_SPEC"):
        verl_module.compute_score(**ITEMS[0])
    # verl's own extra kwargs are accepted
    compute_score = _verl_reward_fn(
        "pkg://rewardsmith.integrations.verl",
        "compute_score",
        {"spec": spec_path, "reward_router_address": None},
    )
    assert compute_score(**ITEMS[0])["score"] == 1.5


def test_spec_from_environment(spec_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REWARDSMITH_SPEC", spec_path)
    assert verl_module.compute_score(**ITEMS[1])["score"] == 0.5


def test_picklable_for_ray(spec_path: str) -> None:
    cloudpickle = pytest.importorskip("ray.cloudpickle")

    scorer = make_compute_score(spec_path)
    assert scorer(**ITEMS[0])["score"] == 1.5
    copy = pickle.loads(pickle.dumps(scorer))
    assert copy(**ITEMS[2])["score"] == 1.5
    # A function verl loaded from a file path lives in a module no other process can import:
    # Ray pickles it by value, and it must still work there.
    by_path = _verl_reward_fn(verl_module.__file__, "compute_score", {"spec": spec_path})
    assert cloudpickle.loads(cloudpickle.dumps(by_path))(**ITEMS[0])["score"] == 1.5


def test_spec_as_a_config_mapping_from_reward_kwargs() -> None:
    from collections.abc import Mapping

    class ConfigNode(Mapping):  # what OmegaConf's DictConfig looks like to us: a Mapping
        def __init__(self, data: dict[str, Any]) -> None:
            self._data = data

        def __getitem__(self, key: str) -> Any:
            return self._data[key]

        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter(self._data)

        def __len__(self) -> int:
            return len(self._data)

    spec = ConfigNode({"terms": [ConfigNode({"name": "em", "use": "exact_match"})]})
    first = verl_module.compute_score("d", "42", "42", spec=spec)
    again = verl_module.compute_score("d", "41", "42", spec=spec)
    assert (first["score"], again["score"]) == (1.0, 0.0)
    from rewardsmith.integrations import batched

    key = '{"terms": [{"name": "em", "use": "exact_match"}]}'
    assert key in batched._scorers  # one shared scorer for the equal configs of both calls


def test_a_process_forked_after_scoring_scores_without_hanging(spec_path: str) -> None:
    """The module-level compute_score has a batcher thread once called; a forked child (verl's
    prime manager, data loaders) has none, and must score anyway, not wait for ever."""
    import time

    assert verl_module.compute_score(**ITEMS[0], spec=spec_path)["score"] == 1.5
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: score, report, leave without running the parent's atexit
        try:
            result = verl_module.compute_score(**ITEMS[2], spec=spec_path)
            os.write(write_end, repr(result[0]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung scoring")
    with os.fdopen(read_end, "rb") as answer:
        assert answer.read() == b"1.5"

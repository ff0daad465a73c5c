"""The TRL adapter, called exactly as TRL 1.16's GRPOTrainer calls reward functions, and inside
a real GRPO step on a tiny random model (CPU, nothing downloaded)."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import pytest

from rewardsmith import Engine
from rewardsmith.integrations.trl import reward_funcs, reward_weights

SPEC = {
    "name": "qa grpo",
    "terms": [
        {"name": "em", "use": "exact_match", "when": "qa"},
        {
            "name": "fmt",
            "use": "regex",
            "weight": 0.25,
            "params": {"pattern": r"^[A-Z]", "mode": "search"},
        },
    ],
}


@pytest.fixture(scope="module")
def engine() -> Engine:
    with Engine(1) as shared:
        yield shared


def _trl_kwargs(**columns: list[object]) -> dict[str, object]:
    """What `_calculate_rewards` adds beside the dataset columns."""
    logged: dict[str, list[float]] = {}
    return {
        **columns,
        "trainer_state": object(),
        "log_extra": lambda column, values: None,
        "log_metric": lambda name, value: logged.setdefault(name, []).append(value),
        "_logged": logged,
    }


def test_combined_function_returns_one_value_per_completion(engine: Engine) -> None:
    [fn] = reward_funcs(SPEC, engine=engine)
    assert fn.__name__ == "rewardsmith_qa_grpo"
    kwargs = _trl_kwargs(reference=["Paris", "Paris", "4", "x"], task=["qa", "qa", "qa", "chat"])
    logged = kwargs.pop("_logged")
    values = fn(
        prompts=["Capital?", "Capital?", "2+2?", "hi"],
        completions=["Paris", "lyon", "4", "Hello"],
        completion_ids=[[1], [2], [3], [4]],
        **kwargs,
    )
    # em applies to qa rows only; fmt (0.25) to every row.
    assert values == [1.25, 0.0, 1.0, 0.25]
    assert logged["rewardsmith/status/ok"] == [1.0]
    assert logged["rewardsmith/status/error"] == [0.0]


def test_conversational_completions(engine: Engine) -> None:
    [fn] = reward_funcs({"terms": [{"name": "em", "use": "exact_match"}]}, engine=engine)
    prompts = [[{"role": "user", "content": "Capital of France?"}]] * 2
    completions = [
        [{"role": "assistant", "content": "Paris"}],
        [{"role": "assistant", "content": "Berlin"}],
    ]
    values = fn(
        prompts=prompts, completions=completions, completion_ids=[[1], [2]], reference=["Paris"] * 2
    )
    assert values == [1.0, 0.0]


def test_per_term_functions_score_once_and_mark_inapplicable_terms_none(engine: Engine) -> None:
    funcs = reward_funcs(SPEC, per_term=True, engine=engine)
    assert [fn.__name__ for fn in funcs] == ["em", "fmt"]
    assert reward_weights(SPEC) == [1.0, 0.25]
    prompts, completions = ["q", "q"], ["Paris", "paris"]
    kwargs = _trl_kwargs(reference=["Paris", "Paris"], task=["qa", "chat"])
    kwargs.pop("_logged")
    em = funcs[0](prompts=prompts, completions=completions, completion_ids=None, **kwargs)
    scored_before = engine.cache.misses if engine.cache else 0
    fmt = funcs[1](prompts=prompts, completions=completions, completion_ids=None, **kwargs)
    assert em == [1.0, None]  # em does not apply to the chat row: TRL leaves it out
    assert fmt == [1.0, 0.0]
    assert (engine.cache.misses if engine.cache else 0) == scored_before  # answered from memo


def test_failures_follow_the_policy_not_zero(engine: Engine) -> None:
    [fn] = reward_funcs({"terms": [{"name": "em", "use": "exact_match"}]}, engine=engine)
    values = fn(
        prompts=["q", "q"], completions=["x", "x"], completion_ids=None, reference=[None, "x"]
    )
    assert values == [None, 1.0]  # invalid_reference -> mask -> None (TRL excludes it)


def test_missing_reference_column_is_a_clear_error(engine: Engine) -> None:
    [fn] = reward_funcs({"terms": [{"name": "em", "use": "exact_match"}]}, engine=engine)
    with pytest.raises(
        ValueError, match=r"no column 'reference'.*\['solution'\].*reference='<column>'"
    ):
        fn(
            prompts=["q"],
            completions=["x"],
            completion_ids=None,
            solution=["x"],
            trainer_state=None,
        )
    [fn] = reward_funcs(
        {"terms": [{"name": "em", "use": "exact_match"}]}, reference="solution", engine=engine
    )
    assert fn(prompts=["q"], completions=["x"], completion_ids=None, solution=["x"]) == [1.0]
    with pytest.raises(
        ValueError, match=r"column 'solution': expected one value per completion \(2\)"
    ):
        fn(prompts=["q", "q"], completions=["x", "y"], completion_ids=None, solution=["x"])


def test_group_rewards_see_the_completions_of_one_prompt(engine: Engine) -> None:
    spec = {"terms": [{"name": "size", "use": "integration_rewards:group_size"}]}
    [fn] = reward_funcs(spec, engine=engine, reference=None)
    values = fn(
        prompts=["p1", "p2", "p1", "p1", "p2"], completions=list("abcde"), completion_ids=None
    )
    assert values == [3.0, 2.0, 3.0, 3.0, 2.0]
    [fn] = reward_funcs(spec, engine=engine, reference=None, group="uid")
    values = fn(prompts=["p"] * 3, completions=list("abc"), completion_ids=None, uid=[1, 2, 1])
    assert values == [2.0, 1.0, 2.0]


def test_functions_pickle_without_their_engine(engine: Engine) -> None:
    [fn] = reward_funcs({"terms": [{"name": "em", "use": "exact_match"}]}, engine=engine, workers=1)
    copy = pickle.loads(pickle.dumps(fn))
    assert copy.__name__ == fn.__name__ and copy.scorer.engine is None
    assert copy(prompts=["q"], completions=["x"], completion_ids=None, reference=["x"]) == [1.0]


def _grpo_trainer(
    tmp_path: Path, funcs: list[object], rows: list[dict[str, object]], **args: object
):  # type: ignore[no-untyped-def]
    """TRL's own GRPOTrainer on the tiny random model (CPU, one step)."""
    pytest.importorskip("trl")
    import integration_rewards  # noqa: F401  (the reward's module, importable by workers)
    from datasets import Dataset
    from tiny_lm import tiny_model, tiny_tokenizer
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = tiny_tokenizer()
    settings: dict[str, object] = {
        "per_device_train_batch_size": 4,
        "num_generations": 4,
        "max_completion_length": 6,
        "max_steps": 1,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "report_to": "none",
        "save_strategy": "no",
        "use_cpu": True,
        "bf16": False,
        "seed": 0,
        **args,
    }
    config = GRPOConfig(output_dir=str(tmp_path), **settings)
    return GRPOTrainer(
        model=tiny_model(tokenizer),
        reward_funcs=funcs,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )


def _last_logs(trainer) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {key: value for entry in trainer.state.log_history for key, value in entry.items()}


def test_a_real_grpo_step_trains_with_rewardsmith_rewards(tmp_path: Path, engine: Engine) -> None:
    spec = {
        "name": "tiny",
        "terms": [
            {"name": "letters", "use": "integration_rewards:letter_share"},
            {"name": "rep", "use": "repetition", "weight": 0.5},
        ],
    }
    funcs = reward_funcs(spec, per_term=True, reference=None, engine=engine)
    rows = [{"prompt": f"say a{i}:", "topic": "t"} for i in range(4)]
    trainer = _grpo_trainer(tmp_path, funcs, rows, reward_weights=reward_weights(spec))
    model = trainer.model
    before = [p.detach().clone() for p in model.parameters()]
    trainer.train()
    logs = _last_logs(trainer)
    assert trainer.state.global_step == 1
    assert "rewards/letters/mean" in logs and "rewards/rep/mean" in logs
    assert 0.0 < logs["rewards/letters/mean"] < 1.0 and logs["reward_std"] > 0
    assert logs["rewardsmith/status/ok"] == 1.0
    # our per-component means are TRL's own per-function means (every row scored)
    assert logs["rewardsmith/letters/mean"] == pytest.approx(logs["rewards/letters/mean"], abs=1e-6)
    # Rewards that differ within a group give advantages, a gradient and new weights.
    assert any(not (a == b.detach()).all() for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_per_term_grpo_step_leaves_a_masked_row_out_entirely(
    tmp_path: Path, engine: Engine, asynchronous: bool
) -> None:
    """The spec masks rows without a reference: every per-term function says None for them,
    so TRL marks them unscorable (advantage 0) instead of training on the letters term alone.
    The async functions run on TRL's own event loop (``asyncio.gather`` over them)."""
    spec = {
        "name": "masking",
        "terms": [
            {"name": "letters", "use": "integration_rewards:letter_share"},
            {"name": "em", "use": "exact_match"},
        ],
    }
    funcs = reward_funcs(spec, per_term=True, engine=engine, asynchronous=asynchronous)
    if asynchronous:
        from trl.trainer.utils import is_async_callable

        assert all(is_async_callable(fn) for fn in funcs)
    rows = [{"prompt": "say a:", "reference": "42"}, {"prompt": "say b:", "reference": None}]
    trainer = _grpo_trainer(
        tmp_path, funcs, rows, per_device_train_batch_size=8, reward_weights=reward_weights(spec)
    )
    trainer.train()
    logged = trainer._logs
    masked = [i for i, prompt in enumerate(logged["prompt"]) if prompt == "say b:"]
    kept = [i for i, prompt in enumerate(logged["prompt"]) if prompt == "say a:"]
    assert len(masked) == 4 and len(kept) == 4
    for name in ("letters", "em"):
        values = list(logged["rewards"][name])
        assert all(math.isnan(values[i]) for i in masked), (name, values)
        assert not any(math.isnan(values[i]) for i in kept), (name, values)
    advantages = list(logged["advantages"])
    assert all(advantages[i] == 0.0 for i in masked)
    logs = _last_logs(trainer)
    assert logs["rewardsmith/masked"] == 0.5
    assert logs["rewardsmith/status/invalid_reference"] == 0.5


def test_grpo_groups_are_trls_generation_blocks_not_prompt_text(
    tmp_path: Path, engine: Engine
) -> None:
    """One prompt twice in a batch is two GRPO groups of num_generations, not one group of 8."""
    spec = {"terms": [{"name": "size", "use": "integration_rewards:group_size"}]}
    [fn] = reward_funcs(spec, reference=None, engine=engine)
    rows = [{"prompt": "say a:"}, {"prompt": "say a:"}]
    trainer = _grpo_trainer(tmp_path, [fn], rows, per_device_train_batch_size=8)
    trainer.train()
    assert list(trainer._logs["prompt"]) == ["say a:"] * 8
    assert list(trainer._logs["rewards"][fn.__name__]) == [4.0] * 8


def test_num_generations_outside_a_trainer(engine: Engine) -> None:
    spec = {"terms": [{"name": "size", "use": "integration_rewards:group_size"}]}
    [fn] = reward_funcs(spec, reference=None, engine=engine, num_generations=2)
    assert fn(prompts=["p"] * 4, completions=list("abcd"), completion_ids=None) == [2.0] * 4
    with pytest.raises(ValueError, match="not whole groups of num_generations=2"):
        fn(prompts=["p"] * 3, completions=list("abc"), completion_ids=None)


def test_per_term_masked_row_is_none_in_every_function(engine: Engine) -> None:
    spec = {
        "terms": [
            {"name": "em", "use": "exact_match"},
            {"name": "fmt", "use": "regex", "params": {"pattern": "^x", "mode": "search"}},
        ]
    }
    em, fmt = reward_funcs(spec, per_term=True, engine=engine)
    kwargs = _trl_kwargs(reference=[None, "x"])
    logged = kwargs.pop("_logged")
    prompts, completions = ["q", "q"], ["x", "x"]
    assert em(prompts=prompts, completions=completions, completion_ids=None, **kwargs) == [
        None,
        1.0,
    ]
    assert fmt(prompts=prompts, completions=completions, completion_ids=None, **kwargs) == [
        None,
        1.0,
    ]
    assert logged["rewardsmith/masked"] == [0.5]
    assert logged["rewardsmith/status/invalid_reference"] == [0.5]
    assert logged["rewardsmith/em/mean"] == [1.0]  # only the row em scored


def test_completion_token_counts_reach_rewards(engine: Engine) -> None:
    import integration_rewards  # noqa: F401

    spec = {"terms": [{"name": "n", "use": "integration_rewards:token_count"}]}
    [fn] = reward_funcs(spec, engine=engine, reference=None)
    values = fn(prompts=["p", "p"], completions=["ab", "abc"], completion_ids=[[5, 6], [5, 6, 7]])
    assert values == [2.0, 3.0]
    with pytest.raises(ValueError, match="completion_ids has 1 items for 2 completions"):
        fn(prompts=["p", "p"], completions=["ab", "abc"], completion_ids=[[5, 6]])


def test_per_term_refuses_specs_trl_cannot_combine(engine: Engine) -> None:
    from rewardsmith import SpecError

    spec = {
        "terms": [{"name": "a", "use": "exact_match"}, {"name": "b", "use": "repetition"}],
        "combine": "formula",
        "formula": "a * b",
    }
    try:
        reward_funcs(spec, engine=engine)  # the combined function is fine
    except SpecError as exc:  # the formula combiner is another module's work in progress
        pytest.skip(f"formula specs unavailable: {exc}")
    with pytest.raises(SpecError, match="per_term=True hands the combination to TRL"):
        reward_funcs(spec, per_term=True, engine=engine)

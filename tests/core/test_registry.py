from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import rewardsmith
from rewardsmith import Registry, RegistryError, Reward


def _make(name: str, fn_name: str = "fn") -> Reward:
    def fn(sample: rewardsmith.Sample) -> float:
        """Doc."""
        return 1.0

    fn.__qualname__ = fn_name
    return Reward(fn, name=name)


def test_duplicate_name_from_another_function_is_rejected() -> None:
    registry = Registry(use_entry_points=False)
    registry.add(_make("dup", "first"))
    with pytest.raises(RegistryError, match="already registered"):
        registry.add(_make("dup", "second"))


def test_unknown_name_suggests_close_matches() -> None:
    registry = Registry(use_entry_points=False)
    registry.add(_make("format.tags"))
    with pytest.raises(RegistryError, match=r"Did you mean 'format.tags'"):
        registry.get("format.tag")


def test_builtins_load_lazily_by_name() -> None:
    reward = rewardsmith.get_reward("exact_match")
    assert reward.name == "exact_match"
    assert reward.summary


def test_import_path_names_a_plain_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "plainmod.py").write_text(
        "def shout(sample):\n    return float(sample.completion_text.isupper())\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reward = Registry(use_entry_points=False).get("plainmod:shout")
    assert reward.run(rewardsmith.Sample(id="a", completion="HEY"), {}).value == 1.0


def test_entry_points_register_third_party_rewards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "thirdparty_rewards.py").write_text(
        "import rewardsmith\n"
        "@rewardsmith.reward('thirdparty.always', register=False)\n"
        "def always(sample):\n"
        "    '''Always one.'''\n"
        "    return 1.0\n"
    )
    dist = tmp_path / "thirdparty-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[rewardsmith.rewards]\nthirdparty.always = thirdparty_rewards:always\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry()
    assert "thirdparty.always" in registry.names()
    reward = registry.get("thirdparty.always")
    assert reward.summary == "Always one."
    assert reward.run(rewardsmith.Sample(id="a", completion="x"), {}).value == 1.0
    sys.modules.pop("thirdparty_rewards", None)


def test_decorator_keeps_the_function_callable_and_checks_kind() -> None:
    @rewardsmith.reward("test.registry.kinds", register=False, inline=True)
    def double(sample: rewardsmith.Sample, *, k: int = 2) -> float:
        """Twice the length."""
        return float(k * len(sample.completion_text))

    assert double(rewardsmith.Sample(id="a", completion="abc")) == 6.0
    with pytest.raises(TypeError, match="async def"):
        rewardsmith.reward("test.registry.bad", kind="io", register=False)(lambda sample: 1.0)


def test_a_frozen_registry_refuses_new_names_and_still_finds_known_ones() -> None:
    registry = Registry({"em": "rewardsmith.rewards.text:exact_match"}, use_entry_points=False)
    registry.add(_make("early"))
    registry.freeze()
    assert registry.frozen
    for register in (
        lambda: registry.add(_make("late")),
        lambda: registry.add_lazy("late", "somewhere"),
        lambda: registry.add_alias("late", "early"),
    ):
        with pytest.raises(RegistryError, match=r"registry is frozen: cannot register 'late'"):
            register()
    # Names known before the freeze still resolve, lazily imported ones included.
    assert registry.get("early").name == "early"
    assert registry.get("em").name == "exact_match"
    registry.add(registry.get("early"))  # the same reward again (a module imported twice)


def test_the_decorator_refuses_to_register_into_the_frozen_default_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib

    registry_module = importlib.import_module("rewardsmith.core.registry")
    reward_module = importlib.import_module("rewardsmith.core.reward")

    frozen = Registry(use_entry_points=False)
    frozen.freeze()
    monkeypatch.setattr(reward_module, "_registry", frozen)
    with pytest.raises(RegistryError, match="frozen"):

        @rewardsmith.reward("after.freeze")
        def late(sample: rewardsmith.Sample) -> float:
            return 1.0

    monkeypatch.undo()
    assert reward_module._registry is registry_module.default_registry


def test_an_alias_resolves_to_the_reward_under_its_own_name() -> None:
    registry = Registry(use_entry_points=False, aliases={"family.early": "early"})
    registry.add(_make("early"))
    assert registry.get("family.early") is registry.get("early")
    assert registry.names() == ["early", "family.early"]
    assert [reward.name for reward in registry.all()] == ["early"]  # each reward once
    with pytest.raises(RegistryError, match="is an alias of 'early'"):
        registry.add(_make("family.early", "other"))
    with pytest.raises(RegistryError, match="a reward already has that name"):
        registry.add_alias("early", "family.early")


# docs/spec.md, "Reward names": lower-case words joined by "_", at most one "family." prefix.
NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")


def test_built_in_names_follow_the_naming_rule() -> None:
    from rewardsmith.core.builtins import BUILTIN_ALIASES, BUILTIN_REWARDS

    rule_name = {first: rule for rule, first in BUILTIN_ALIASES.items()}
    assert set(rule_name) <= set(BUILTIN_REWARDS)
    by_module: dict[str, list[str]] = {}
    for name, module in BUILTIN_REWARDS.items():
        assert NAME.match(rule_name.get(name, name)), name
        by_module.setdefault(module, []).append(rule_name.get(name, name))
    # Rewards defined together form a family: one prefix (the bare family name may be one).
    for module, names in by_module.items():
        families = {name.split(".")[0] for name in names}
        assert len(names) == 1 or len(families) == 1, (module, names)


def test_built_in_aliases_resolve_in_a_spec() -> None:
    spec = rewardsmith.load_spec({"terms": [{"name": "em", "use": "text.exact_match"}]})
    batch = rewardsmith.score([{"id": "a", "completion": "x", "reference": "x"}], spec, workers=1)
    assert [score.value for score in batch] == [1.0]
    assert rewardsmith.get_reward("length.repetition").name == "repetition"


def test_engine_params_reach_only_a_function_that_names_them() -> None:
    @rewardsmith.reward("test.registry.no_timeout", register=False)
    def plain(sample: rewardsmith.Sample, *, k: int = 2) -> float:
        return float(k)

    @rewardsmith.reward("test.registry.timeout", register=False)
    def timed(sample: rewardsmith.Sample, *, timeout_s: float = 1.0) -> float:
        return timeout_s

    sample = rewardsmith.Sample(id="a", completion="abc")
    assert plain.accepted_params({}) == {}
    assert plain.accepted_params({"k": 3, "timeout_s": 5.0}) == {"k": 3}
    assert timed.accepted_params({"timeout_s": 5.0}) == {"timeout_s": 5.0}
    assert plain.run(sample, {"k": 3, "timeout_s": 5.0}).value == 3.0
    assert timed.run(sample, {"timeout_s": 5.0}).value == 5.0
    assert timed.run(sample, {}).value == 1.0

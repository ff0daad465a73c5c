from __future__ import annotations

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

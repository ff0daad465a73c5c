"""Every learned/judged reward is found by name, and its params are typed (not silently Any)."""

from __future__ import annotations

import typing

import pytest

import rewardsmith

NAMES = ["rm", "prm", "dpo.implicit", "likelihood", "self_certainty", "judge", "judge.rubric"]


@pytest.mark.parametrize("name", NAMES)
def test_reward_is_registered_with_resolvable_param_types(name: str) -> None:
    pytest.importorskip("numpy")
    found = rewardsmith.get_reward(name)
    # A hint that does not resolve makes every param `Any`: the spec would accept anything.
    hints = typing.get_type_hints(found.fn, include_extras=True)
    fields = found.params_model().model_fields
    assert fields and all(field.annotation is not typing.Any for field in fields.values()), hints

"""A reward's version is part of a spec's identity: its hash, and what --resume continues."""

from __future__ import annotations

from pathlib import Path

import pytest

import rewardsmith
from rewardsmith import Registry, Reward, Score, load_spec
from rewardsmith.core.spec import resolve_terms, term_versions
from rewardsmith.io.runlog import RewardVersionError, RunLog


def _exact_match_at(version: str) -> Registry:
    """A registry where ``exact_match`` is the built-in function under another version."""
    builtin = rewardsmith.get_reward("exact_match")
    registry = Registry(use_entry_points=False)
    registry.add(Reward(builtin.fn, name="exact_match", version=version, inline=True))
    return registry


def test_the_hash_changes_with_a_reward_version_and_not_for_the_default_one() -> None:
    spec = load_spec("exact_match")
    at_1 = term_versions(resolve_terms(spec))
    at_2 = term_versions(resolve_terms(spec, registry=_exact_match_at("2")))
    assert at_1 == {"exact_match": "1"} and at_2 == {"exact_match": "2"}
    # Specs whose rewards are at the default version keep the hash they had before.
    assert spec.content_hash(at_1) == spec.content_hash()
    assert spec.content_hash(at_2) != spec.content_hash(at_1)
    assert spec.content_hash(at_2) != spec.content_hash({"exact_match": "3"})


def test_resume_refuses_a_run_scored_by_another_reward_version(tmp_path: Path) -> None:
    spec = load_spec("exact_match")
    log = RunLog(tmp_path)
    run = log.create(spec, resolve_terms(spec), input_path="in.jsonl")
    run.append([0], ["a"], [Score(value=1.0)])
    run.close("interrupted")

    bumped = resolve_terms(spec, registry=_exact_match_at("2"))
    with pytest.raises(RewardVersionError) as caught:
        log.resume("in.jsonl", spec, bumped)
    message = str(caught.value)
    assert f"cannot resume run {run.id}" in message
    assert "term 'exact_match' was scored by 'exact_match' version 1" in message
    assert "now version 2" in message
    assert isinstance(caught.value, rewardsmith.RewardsmithError)

    # Another input is not this run: nothing to resume, and nothing refused.
    assert log.resume("other.jsonl", spec, bumped) is None
    # A run scored at version 2 resumes at version 2.
    second = log.create(spec, bumped, input_path="in.jsonl")
    second.close("interrupted")
    again = log.resume("in.jsonl", spec, bumped)
    assert again is not None and again.id == second.id
    again.close()

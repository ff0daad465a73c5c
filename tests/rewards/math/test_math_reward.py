"""The ``math`` reward: labelled cases (right, wrong, hacks, bad references), the registry,
params, reference checks and what `Score.info` reports."""

from __future__ import annotations

import concurrent.futures

import pydantic
import pytest
from labelled_cases import check, labels, load

import rewardsmith
from rewardsmith import Sample
from rewardsmith.rewards.math import math_answer


@pytest.mark.parametrize("case", load("math"))
def test_math_cases(case):
    check("math", case)


def test_case_file_covers_every_label():
    assert {"right", "wrong", "hack", "bad_reference", "edge"} <= labels("math")


def test_registered_as_cpu_reward():
    reward = rewardsmith.get_reward("math")
    assert reward is math_answer
    assert reward.kind == "cpu"
    assert reward.reads == ("prompt", "completion", "reference")
    assert reward.check_reference is not None


def test_params_are_validated():
    reward = rewardsmith.get_reward("math")
    assert reward.validate_params({"precision": "3"}) == {"precision": 3}
    with pytest.raises(pydantic.ValidationError):
        reward.validate_params({"precison": 3})
    with pytest.raises(pydantic.ValidationError):
        reward.validate_params({"precision": "many"})


def test_info_explains_the_verdict():
    score = math_answer(
        Sample(id="1", completion=r"so $x = \boxed{\dfrac{6}{8}}$", reference="0.75")
    )
    assert score.value == 1.0
    assert score.info["rule"] == "boxed"
    assert score.info["extracted"] == r"\dfrac{6}{8}"
    assert score.info["path"] == "exact"
    assert score.info["gold_normalized"] == "0.75"
    assert score.info["answer_normalized"] == "6*8^-1"


def test_failures_carry_a_reason_and_no_value():
    score = math_answer(Sample(id="1", completion="no idea", reference="5"))
    assert (score.status, score.value) == ("parse_error", None)
    assert "no answer" in score.reason


def test_check_reference():
    check_reference = rewardsmith.get_reward("math").check_reference
    assert check_reference("\\frac{1}{2}") is None
    assert check_reference(3) is None
    assert check_reference(["1", "2"]) is None
    assert "empty" in check_reference("")
    assert check_reference({"a": 1}) is not None
    assert check_reference([]) is not None


def test_same_results_from_threads():
    samples = [
        Sample(
            id=str(i), completion=rf"\boxed{{\frac{{{i}}}{{{i + 1}}}}}", reference=f"{i}/{i + 1}"
        )
        for i in range(1, 200)
    ]
    serial = [math_answer(s).value for s in samples]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        threaded = list(pool.map(lambda s: math_answer(s).value, samples))
    assert serial == threaded == [1.0] * len(samples)


def _score_in_worker(args: tuple[str, str]) -> tuple[str, float | None]:
    completion, reference = args
    score = rewardsmith.get_reward("math").run(
        Sample(id="w", completion=completion, reference=reference), {}
    )
    return score.status, score.value


def test_same_results_in_worker_processes():
    jobs = [(r"\boxed{\frac{1}{2}}", "0.5"), (r"\boxed{3}", "4"), ("no answer", "1")]
    expected = [_score_in_worker(job) for job in jobs]
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        assert list(pool.map(_score_in_worker, jobs)) == expected
    assert expected == [("ok", 1.0), ("ok", 0.0), ("parse_error", None)]


def test_same_results_under_asyncio():
    import asyncio

    async def main() -> list[float | None]:
        loop = asyncio.get_running_loop()
        samples = [
            Sample(id=str(i), completion=rf"\boxed{{{i}}}", reference=str(i)) for i in range(20)
        ]
        return await asyncio.gather(
            *(loop.run_in_executor(None, lambda s=s: math_answer(s).value) for s in samples)
        )

    assert asyncio.run(main()) == [1.0] * 20


def test_settings_alternating_between_calls_each_keep_their_verdict() -> None:
    # The reward reuses one MathConfig per set of arguments: every argument must be part of it.
    sample = Sample(id="1", completion=r"so $\boxed{\frac{1}{3}}$", reference="0.33")
    expected = [({}, 0.0), ({"precision": 2}, 1.0), ({"rel_tol": 0.05}, 1.0)]
    for _ in range(2):
        for settings, value in expected:
            assert math_answer(sample, **settings).value == value, settings

"""Fail closed: a missing protection refuses the program at the default level, and the weaker
level is explicit and recorded. Blame stays with the program; the grader reads bounded answers.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from rewardsmith import Sample
from rewardsmith.rewards.code import code
from rewardsmith.sandbox import (
    Protections,
    Sandbox,
    SandboxLimits,
    SandboxRefused,
    default_sandbox,
)

EVERYTHING = {
    "uid_drop": True,
    "net_namespace": True,
    "pid_namespace": True,
    "mount_namespace": True,
    "private_root": True,
    "private_tmp": True,
    "private_proc": True,
    "no_new_privs": True,
    "seccomp": True,
    "rlimits": True,
    "scrubbed_env": True,
    "closed_fds": True,
    "memory_cgroup": True,
    "pids_cgroup": True,
}
PROGRAM = "```python\nprint(int(input()) + 1)\n```"
REFERENCE = {"tests": [{"input": "1", "output": "2"}]}


def test_every_requirement_names_what_is_missing_and_the_fix():
    assert Protections(active=EVERYTHING).refusal() is None
    user_namespace = {**EVERYTHING, "uid_drop": False, "memory_cgroup": False}
    user_namespace.update(user_namespace=True, capabilities_dropped=True, memory_watchdog=True)
    user_namespace["pids_cgroup"] = False
    assert Protections(active=user_namespace).refusal() is None
    no_net = Protections(active={**EVERYTHING, "net_namespace": False})
    reason = no_net.refusal()
    assert reason is not None
    assert "no network (missing: net_namespace)" in reason and "To fix" in reason
    assert "trusted-code-only" in reason
    assert no_net.refusal("trusted-code-only") is None
    no_memory = Protections(active={**EVERYTHING, "memory_cgroup": False})
    assert [req for req, _, _ in no_memory.unmet()] == ["bounded total memory"]


def test_an_unknown_level_is_an_error():
    with pytest.raises(ValueError, match="trusted-code-only"):
        Sandbox(level="loose")  # type: ignore[arg-type]


@pytest.fixture
def lacking_network() -> Iterator[None]:
    """The process's default sandboxes, measured as if the network namespace were missing."""
    boxes = [default_sandbox("isolated"), default_sandbox("trusted-code-only")]
    saved = [box.protections for box in boxes]
    for box, protections in zip(boxes, saved, strict=True):
        box._protections = dataclasses.replace(
            protections, active={**protections.active, "net_namespace": False}
        )
    try:
        yield
    finally:
        for box, protections in zip(boxes, saved, strict=True):
            box._protections = protections


def test_code_is_refused_without_a_protection_and_runs_only_when_asked(lacking_network: None):
    refused = code(Sample(id="1", completion=PROGRAM, reference=REFERENCE))
    assert refused.status == "refused" and refused.value is None
    assert "net_namespace" in refused.reason and "To fix" in refused.reason
    assert refused.info["fault"] == "grader"  # masked by the default policy, never a zero
    trusted = code(
        Sample(id="1", completion=PROGRAM, reference=REFERENCE), sandbox="trusted-code-only"
    )
    assert (trusted.status, trusted.value) == ("ok", 1.0)
    assert trusted.info["sandbox"] == {"level": "trusted-code-only", "unmet": ["no network"]}
    with pytest.raises(SandboxRefused):
        default_sandbox().run_script("print(1)")


def test_sql_in_the_sandbox_is_refused_too(lacking_network: None):
    from rewardsmith.rewards.sql import sql_execution

    reference = {"query": "SELECT 1", "schema": "CREATE TABLE t(x INT)", "rows": {"t": [[1]]}}
    sample = Sample(id="1", completion="SELECT 1", reference=reference)
    score = sql_execution(sample, isolation="sandbox")
    assert score.status == "refused" and "net_namespace" in score.reason
    assert score.info["fault"] == "grader"
    assert 'isolation = "worker"' in score.reason
    assert sql_execution(sample, isolation="worker").value == 1.0


def test_the_design_loop_refuses_a_candidate_too(lacking_network: None):
    pytest.importorskip("gymnasium", reason="needs the [gym] extra")
    from rewardsmith.envs.design import evaluate_candidate, resolve_env
    from rewardsmith.envs.learners import QLearningConfig

    env = resolve_env("goal")
    result = evaluate_candidate(
        "def compute_reward(obs, action, next_obs):\n    return 0.0\n",
        env,
        env.tabular(),
        sandbox=default_sandbox(),
        limits=SandboxLimits(),
        learner=QLearningConfig(episodes=5),
    )
    assert result.status == "refused" and "net_namespace" in result.reason


# -- blame and bounded reading -------------------------------------------------------------------


def test_a_zygote_killed_during_a_run_is_the_runs_failure(box: Sandbox):
    zygote = box._proc
    assert zygote is not None
    threading.Timer(0.3, lambda: os.kill(zygote.pid, signal.SIGKILL)).start()
    result = box.run_script("import time\ntime.sleep(5)\nprint('done')")
    assert result.outcome == "runtime_error" and "blamed on the program" in result.detail
    assert box.run_script("print(1)").stdout == b"1\n"  # a fresh zygote took over


def test_an_answer_flood_is_the_programs_output_limit_and_stays_out_of_the_grader(box: Sandbox):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # 6 MiB of tiny list items: decoded, that would be ~50 million Python objects. Encoding
    # them takes the program ~2 s of CPU on a 2-core CI machine, as long as the default time
    # limit: a roomier one keeps the output limit the one that trips.
    roomy = SandboxLimits(time_limit_s=10.0)
    run, (answer,) = box.call("def f():\n    return [0] * (3 << 20)", [("f", [], {})], roomy)
    assert run.outcome == "output_limit" and answer.outcome == "runtime_error"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 << 10  # KiB
    score = code(
        Sample(
            id="1",
            completion="```python\ndef f():\n    return 'x' * (5 << 20)\n```",
            reference={"fn_name": "f", "tests": [{"args": [], "expected": "x"}]},
        )
    )
    assert (score.status, score.value, score.info["verdicts"]) == ("ok", 0.0, ["output_limit"])


def test_a_session_answer_over_the_limit_is_an_output_limit(box: Sandbox):
    limits = SandboxLimits(answer_bytes=1 << 16)
    with box.session("def f(n):\n    return 'x' * n", limits) as session:
        assert session("f", 10).value == "x" * 10
        answer = session("f", 1 << 20)
        assert answer.outcome == "output_limit"
        assert session("f", 1).outcome == "runtime_error"  # the session is over


@pytest.mark.parametrize(
    "program",
    [
        "while True:\n    pass",
        "import threading\ndef spin():\n    while True:\n        pass\n"
        "threading.Thread(target=spin).start()",
    ],
    ids=["main", "thread"],
)
def test_a_busy_loop_is_always_a_time_limit(box: Sandbox, program: str):
    started = time.monotonic()
    result = box.run_script(program, limits=SandboxLimits(time_limit_s=0.5))
    assert result.outcome == "time_limit", result
    assert time.monotonic() - started < 10

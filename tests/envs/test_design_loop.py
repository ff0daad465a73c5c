"""The design loop end to end against a local OpenAI-compatible server with fixed replies:
the good reward is selected, useless and hostile ones are kept in the log with their reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("gymnasium", reason="needs the [gym] extra")
pytest.importorskip("httpx", reason="needs the [judge] extra")

from design_candidates import (
    CARTPOLE_GOOD,
    CARTPOLE_HANGS_LATER,
    CARTPOLE_USELESS,
    GOOD,
    GOOD_SPARSE,
    HANGS,
    IMPORTS_SOCKET,
    READS_FILE,
    REPLIES,
    USELESS,
)
from design_server import FixedReplyServer

from rewardsmith.envs.design import (
    DesignConfig,
    evaluate_candidate,
    extract_code,
    resolve_env,
    run_design,
)
from rewardsmith.envs.learners import QLearningConfig
from rewardsmith.io.runlog import RunLog
from rewardsmith.sandbox import Sandbox, SandboxLimits

LIMITS = SandboxLimits(time_limit_s=1.0, memory_mb=256)


@pytest.fixture
def server() -> Iterator[FixedReplyServer]:
    srv = FixedReplyServer(REPLIES).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(LIMITS) as sandbox:
        yield sandbox


def _marker(code: str | None) -> str:
    for line in (code or "").splitlines():
        if "# candidate:" in line:
            return line.split("# candidate:")[1].split("(")[0].strip()
    return "none"


def test_design_loop_selects_good_contains_hostile_and_logs_everything(
    server: FixedReplyServer, isolated_run_log: Path
) -> None:
    config = DesignConfig(
        task="Reach G without entering lava L.",
        endpoint=server.url,
        model="fixed",
        iterations=2,
        candidates=len(REPLIES),
        episodes=150,
        seeds=1,
        eval_episodes=3,
        time_limit_s=1.0,
        api_key_env=None,
    )
    result = run_design(resolve_env("goal"), config, env_name="goal", argv=["test"])
    by_kind = {}
    for candidate in result.candidates:
        by_kind.setdefault(_marker(candidate.code), []).append(candidate.result)
    assert len(result.candidates) == 2 * len(REPLIES)

    # The good reward trains an agent that always succeeds; the useless one does not.
    assert result.best is not None
    assert _marker(result.best.code) in {"good", "good-sparse", "sparse-shaped"}
    assert result.best.result.success_rate == 1.0
    assert all(r.success_rate == 1.0 for r in by_kind["good"])
    assert all(r.status == "ok" and r.success_rate < 1.0 for r in by_kind["useless"])

    # Hostile code is contained, each with its reason.
    for r in by_kind["reads files"]:
        assert r.status == "refused" and "'open'" in r.reason
    for r in by_kind["phones home"]:
        assert r.status == "refused" and "'socket'" in r.reason
    for r in by_kind["hangs"]:
        assert (r.status, "limit" in r.reason) == ("timeout", True), r.reason
    for r in by_kind["none"]:
        assert r.status == "parse_error"

    # Round two was told how the best did and why the others failed.
    assert len(server.requests) == 2 * len(REPLIES)
    feedback = server.requests[-1]["messages"][-1]["content"]
    assert "The best reward so far" in feedback and "# candidate: good" in feedback
    assert "refused" in feedback and "timeout" in feedback
    assert "goal: mean" in feedback  # per-component statistics

    # A rescaled, potential-shaped copy of the sparse reward is exactly the same reward to EPIC
    # and STARC; the dense one (sparse / 2 plus undiscounted progress) is nearly the same; the
    # useless one is unrelated (a constant reward has no correlation: EPIC sqrt(1/2)).
    distances = result.distances
    ids = distances["ids"]
    kinds = {c.id: _marker(c.code) for c in result.candidates}
    assert len(ids) == 2 * 4  # the trained ones: good, good-sparse, sparse-shaped, useless
    groups = [sorted({kinds[i] for i in group}) for group in distances["groups"]]
    assert sorted(groups) == [["good", "good-sparse", "sparse-shaped"], ["useless"]]

    def at(kind: str) -> int:
        return ids.index(next(i for i in ids if kinds[i] == kind))

    sparse, shaped = at("good-sparse"), at("sparse-shaped")
    assert distances["epic"][sparse][shaped] < 1e-6
    assert distances["starc"][sparse][shaped] < 1e-6
    assert 0.001 < distances["epic"][at("good")][sparse] < 0.05
    assert distances["epic"][at("good")][at("useless")] == pytest.approx(0.5**0.5, abs=1e-4)

    # Every candidate is in the run log with its code, status, reason and score.
    run = RunLog(isolated_run_log).open(result.run_id or "")
    assert run.manifest["status"] == "completed"
    assert run.manifest["design"]["best"] == result.best.id
    rows = run.logged_rows()
    assert len(rows) == len(result.candidates)
    for index, candidate in enumerate(result.candidates):
        score = rows[index].score
        assert rows[index].id == candidate.id
        assert score.status == candidate.result.status
        assert score.info["code"] == candidate.code
        assert score.reason == candidate.result.reason
        assert score.value == candidate.result.success_rate


def test_sandbox_contains_what_the_screen_would_have_caught(box: Sandbox, tmp_path: Path) -> None:
    """With the static screen off, the sandbox itself stops file reads, sockets and hangs."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the grader's secret")
    env = resolve_env("goal")
    model = env.tabular()
    learner = QLearningConfig(episodes=20)

    def run(code: str) -> object:
        return evaluate_candidate(
            code, env, model, sandbox=box, limits=LIMITS, learner=learner, screen=False
        )

    reads = extract_code(READS_FILE.replace("/etc/passwd", str(secret)))
    assert reads is not None
    result = run(reads)
    assert result.status == "error" and "FileNotFoundError" in result.reason  # type: ignore[attr-defined]
    result = run(extract_code(IMPORTS_SOCKET) or "")
    assert result.status == "error" and "PermissionError" in result.reason  # type: ignore[attr-defined]
    result = run(extract_code(HANGS) or "")
    assert result.status == "timeout"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("return float('nan')", "not a finite number"),
        ("return True", "not a finite number"),
        ("return 'high'", "not a finite number"),
        ("return 1.0, {'x': float('inf')}", "finite value"),
        ("return 10 ** 400", "not a finite number"),
        ("raise ValueError('nope')", "ValueError: nope"),
    ],
)
def test_bad_reward_values_are_errors_with_a_reason(box: Sandbox, body: str, reason: str) -> None:
    env = resolve_env("goal")
    code = f"def compute_reward(obs, action, next_obs):\n    {body}\n"
    result = evaluate_candidate(
        code, env, env.tabular(), sandbox=box, limits=LIMITS, learner=QLearningConfig(episodes=5)
    )
    assert result.status == "error"
    assert reason in result.reason


def test_good_and_useless_candidates_measured_directly(box: Sandbox) -> None:
    env = resolve_env("goal")
    model = env.tabular()
    learner = QLearningConfig(episodes=150)
    good = evaluate_candidate(
        extract_code(GOOD), env, model, sandbox=box, limits=LIMITS, learner=learner
    )
    useless = evaluate_candidate(
        extract_code(USELESS), env, model, sandbox=box, limits=LIMITS, learner=learner
    )
    sparse = evaluate_candidate(
        extract_code(GOOD_SPARSE), env, model, sandbox=box, limits=LIMITS, learner=learner
    )
    assert good.success_rate == 1.0 and useless.success_rate == 0.0
    assert set(good.stats) == {"total", "progress", "goal", "lava", "step"}
    assert good.stats["step"]["std"] < 1e-12 and good.stats["step"]["mean"] == pytest.approx(-0.1)
    # Lava is avoided more at the end of training than at the start.
    assert good.stats["lava"]["late_mean"] > good.stats["lava"]["early_mean"]
    assert sparse.status == "ok"


def test_bad_config_and_unknown_env_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="endpoint must be an http"):
        DesignConfig(task="x", endpoint="localhost:8000")
    with pytest.raises(ValueError, match="task must describe"):
        DesignConfig(task="  ", endpoint="http://127.0.0.1:1/v1")
    with pytest.raises(ValueError, match="iterations must be positive"):
        DesignConfig(task="x", endpoint="http://127.0.0.1:1/v1", iterations=0)
    with pytest.raises(ValueError, match="unknown environment 'nope'"):
        resolve_env("nope")
    with pytest.raises(ValueError, match="no tabular model and no episodic task"):
        resolve_env("MountainCar-v0")
    assert resolve_env("rewardsmith/GridGoal-v0").unwrapped.layout[0] == "S...."


def test_unreachable_endpoint_is_logged_per_candidate(isolated_run_log: Path) -> None:
    config = DesignConfig(
        task="Reach G.",
        endpoint="http://127.0.0.1:9/v1",  # discard port: connection refused
        iterations=1,
        candidates=2,
        api_key_env=None,
        http_timeout_s=5,
    )
    result = run_design(resolve_env("goal"), config, env_name="goal", argv=[])
    assert result.best is None
    assert [c.result.status for c in result.candidates] == ["error", "error"]
    assert all("request failed" in c.result.reason for c in result.candidates)
    assert len(RunLog(isolated_run_log).open(result.run_id or "").logged_rows()) == 2


def test_design_loop_on_cartpole_trains_reinforce_through_a_sandbox_session(
    isolated_run_log: Path,
) -> None:
    """No table: rewards come from a sandbox session once per episode; a candidate that hangs
    after a few thousand calls is stopped by the per-call limit, mid-training."""
    server = FixedReplyServer([CARTPOLE_GOOD, CARTPOLE_USELESS, CARTPOLE_HANGS_LATER, READS_FILE])
    server.start()
    try:
        config = DesignConfig(
            task="Keep the pole upright as long as possible.",
            endpoint=server.url,
            iterations=1,
            candidates=4,
            episodes=300,
            seeds=1,
            eval_episodes=3,
            time_limit_s=1.0,
            seed=1,
            api_key_env=None,
        )
        result = run_design(resolve_env("CartPole-v1"), config, env_name="CartPole-v1", argv=[])
    finally:
        server.stop()
    by_kind = {_marker(c.code): c.result for c in result.candidates}
    assert result.best is not None and _marker(result.best.code) == "upright"
    good, useless = by_kind["upright"], by_kind["useless"]
    # A useless reward leaves the policy at chance (~17 steps); the good one trains it. One
    # training seed's length varies widely (111 to 500 over seeds 0-7), so compare to chance.
    assert useless.status == "ok" and useless.mean_length is not None
    assert useless.mean_length < 50
    assert good.mean_length is not None and good.mean_length > 3 * useless.mean_length
    assert set(good.stats) == {"total", "alive", "upright", "centred"}
    assert good.stats["alive"]["mean"] == 1.0
    hang = by_kind["hangs later"]
    assert hang.status == "timeout" and "per episode" in hang.reason
    assert by_kind["reads files"].status == "refused"
    assert result.distances == {}  # EPIC/STARC need a table
    rows = RunLog(isolated_run_log).open(result.run_id or "").logged_rows()
    assert sorted(row.score.status for row in rows.values()) == ["ok", "ok", "refused", "timeout"]

"""Reward machines: conditions, machines from TOML and Python, the wrapper against
hand-computed episodes, counterfactual experience, and the task a Markov reward cannot express."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest

pytest.importorskip("gymnasium", reason="needs the [gym] extra")

from rewardsmith.envs import (
    GridWorld,
    QLearningConfig,
    RewardMachine,
    RewardMachineEnv,
    evaluate,
    make_task,
    parse_condition,
    q_learning,
)
from rewardsmith.envs.wrappers import CombineReward

ABC_TOML = Path(__file__).parents[2] / "examples" / "envs" / "abc.toml"
UP, RIGHT, DOWN, LEFT = range(4)


def abc_machine() -> RewardMachine:
    return RewardMachine.from_toml(ABC_TOML)


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("A", {"A"}, True),
        ("A", set(), False),
        ("!A", set(), True),
        ("A & B", {"A"}, False),
        ("A & B", {"A", "B"}, True),
        ("A | B & C", {"A"}, True),  # & binds tighter than |
        ("(A | B) & C", {"A"}, False),
        ("!(A | B)", {"C"}, True),
        ("!!A", {"A"}, True),
        ("true", set(), True),
        ("false", {"A"}, False),
        ("at_door & !has_key", {"at_door"}, True),
    ],
)
def test_conditions(text: str, labels: set[str], expected: bool) -> None:
    assert parse_condition(text)(labels) is expected


@pytest.mark.parametrize("text", ["", "A &", "& A", "(A", "A)", "A B", "A + B", "!"])
def test_bad_conditions_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="condition"):
        parse_condition(text)


def test_machine_from_toml_steps_by_hand() -> None:
    rm = abc_machine()
    assert rm.states == ("start", "failed", "seen_a", "done")
    assert rm.accepting == {"done"} and rm.rejecting == {"failed"}
    assert rm.propositions == {"A", "B", "C"}
    assert rm.step("start", set()) == ("start", 0.0)
    assert rm.step("start", {"B"}) == ("start", 0.0)  # B before A counts for nothing
    assert rm.step("start", {"A"}) == ("seen_a", 0.0)
    assert rm.step("seen_a", {"B"}) == ("done", 1.0)
    assert rm.step("seen_a", {"C"}) == ("failed", -1.0)
    assert rm.step("start", {"A", "C"}) == ("failed", -1.0)  # first matching transition wins
    with pytest.raises(ValueError, match="unknown machine state"):
        rm.step("nowhere", set())


def test_python_and_toml_definitions_agree() -> None:
    text = ABC_TOML.read_text()
    from_text = RewardMachine.from_toml(text)
    assert from_text.states == abc_machine().states
    for state in ("start", "seen_a"):
        for labels in ({"A"}, {"B"}, {"C"}, set()):
            assert from_text.step(state, labels) == abc_machine().step(state, labels)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"transitions": []}, "'initial'"),
        ({"initial": "u"}, "'transitions' must be a non-empty list"),
        ({"initial": "u", "transitions": [{"from": "u", "to": "v"}]}, r"transitions\[0\].when"),
        ({"initial": "u", "transitions": [{"from": "u", "when": "A &", "to": "v"}]}, "condition"),
        ({"initial": "u", "transitions": [{"from": "u", "when": "A", "to": "v", "x": 1}]}, "unknown keys"),
        ({"initial": "u", "transitions": [{"from": "u", "when": "A", "to": "v", "reward": "hi"}]}, "transitions"),
        ({"initial": "u", "accepting": ["z"], "transitions": [{"from": "u", "when": "A", "to": "v"}]}, "'z' has no transition"),
        ({"initial": "u", "accepting": ["v"], "rejecting": ["v"], "transitions": [{"from": "u", "when": "A", "to": "v"}]}, "both accepting"),
        ({"initial": "u", "accepting": ["v"], "transitions": [{"from": "u", "when": "A", "to": "v"}, {"from": "v", "when": "B", "to": "u"}]}, "cannot have outgoing"),
        ({"initial": "u", "transitions": [{"from": "u", "when": "A", "to": "v"}], "typo": 1}, "unknown keys"),
    ],
)  # fmt: skip
def test_bad_machines_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RewardMachine.from_dict(data)


def test_bad_toml_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no reward machine file"):
        RewardMachine.from_toml(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("initial = \n")
    with pytest.raises(ValueError, match=r"broken\.toml: not valid TOML"):
        RewardMachine.from_toml(broken)


def test_wrapper_hand_computed_episode() -> None:
    """...C.    The agent starts at S (row 1, col 2), walks left to A (2 steps), back right
    A.S.B    past S to B (4 steps): rewards 0 until B pays 1 and the episode ends accepted."""
    env = RewardMachineEnv(make_task("abc"), abc_machine(), add_state=True)
    obs, info = env.reset(seed=0)
    start_cell = obs[0]
    assert obs == (start_cell, 0) and info["rm_state"] == "start"
    trace = []
    for action in [LEFT, LEFT, RIGHT, RIGHT, RIGHT, RIGHT]:
        obs, reward, terminated, _truncated, info = env.step(action)
        trace.append((info["rm_state"], reward, terminated, info["success"]))
    assert trace == [
        ("start", 0.0, False, False),
        ("seen_a", 0.0, False, False),
        ("seen_a", 0.0, False, False),
        ("seen_a", 0.0, False, False),
        ("seen_a", 0.0, False, False),
        ("done", 1.0, True, True),
    ]
    assert obs[1] == env.machine.index["done"]
    assert info["reward_components"] == {"env": 0.0, "machine": 1.0}


def test_wrapper_hand_computed_failure_and_b_first() -> None:
    env = RewardMachineEnv(make_task("abc"), abc_machine())
    obs, _ = env.reset(seed=0)
    assert isinstance(obs, int)  # no machine state in the observation unless asked
    rewards = []
    for action in [RIGHT, RIGHT, LEFT, UP]:  # B first (nothing), back, then up into C
        _, reward, terminated, _, info = env.step(action)
        rewards.append(reward)
    assert rewards == [0.0, 0.0, 0.0, -1.0]
    assert terminated and info["rm_state"] == "failed" and not info["success"]


def test_wrapper_keeps_the_env_reward_as_a_component_and_weighs_it() -> None:
    base = GridWorld(["SAB"], rewards={"A": 5.0})
    rm = RewardMachine.from_dict(
        {
            "initial": "u",
            "accepting": ["ok"],
            "transitions": [{"from": "u", "when": "B", "to": "ok", "reward": 2}],
        }
    )
    env = RewardMachineEnv(base, rm, env_weight=0.5)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(RIGHT)
    assert reward == 2.5 and info["reward_components"] == {"env": 5.0, "machine": 0.0}
    _, reward, terminated, _, info = env.step(RIGHT)
    assert reward == 2.0 and terminated and info["success"]


def test_wrapper_composes_with_shaping_wrappers() -> None:
    env = CombineReward(
        RewardMachineEnv(make_task("abc"), abc_machine()),
        {"step_cost": lambda o, a, n, r, i: -0.01},
    )
    env.reset(seed=0)
    _, reward, _, _, info = env.step(LEFT)
    assert reward == pytest.approx(-0.01)
    assert info["reward_components"] == {"env": 0.0, "machine": 0.0, "step_cost": -0.01}


def test_counterfactual_experience_by_hand() -> None:
    env = RewardMachineEnv(make_task("abc"), abc_machine(), add_state=True, counterfactual=True)
    _obs, _ = env.reset(seed=0)
    env.step(LEFT)
    before = env.unwrapped.state
    _, _, _, _, info = env.step(LEFT)  # enters A
    a_cell = env.unwrapped.state
    index = env.machine.index
    assert info["counterfactual"] == [
        ((before, index["start"]), LEFT, 0.0, (a_cell, index["seen_a"]), False),
        ((before, index["seen_a"]), LEFT, 0.0, (a_cell, index["seen_a"]), False),
    ]
    # Then from A back to the cell after: the real machine is in seen_a.
    _, _, _, _, info = env.step(RIGHT)
    assert [exp[4] for exp in info["counterfactual"]] == [False, False]


def test_wrapper_needs_reset_and_labels() -> None:
    env = RewardMachineEnv(make_task("abc"), abc_machine())
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    import gymnasium as gym

    unlabeled = RewardMachineEnv(gym.make("FrozenLake-v1"), abc_machine())
    unlabeled.reset(seed=0)
    with pytest.raises(KeyError, match="labeler="):
        unlabeled.step(0)


def _paths_avoiding(env: GridWorld, start: int, goal: int, avoid: set[int]) -> bool:
    seen, queue = {start}, deque([start])
    while queue:
        s = queue.popleft()
        if s == goal:
            return True
        for t in env._next[s]:
            if int(t) not in seen and int(t) not in avoid:
                seen.add(int(t))
                queue.append(int(t))
    return False


def test_no_markov_reward_expresses_a_then_b_never_c() -> None:
    """Proof on the layout, then the learners.

    Every path from A to B that avoids C passes the start S, where the episode began. The
    gridworld is deterministic, so a memoryless deterministic policy (which every Markov
    reward on the cell index has among its optimal policies, and which a greedy Q-learner
    follows) that reaches A and then S again repeats its trajectory from S forever: it never
    reaches B after A. A reward machine gives the agent the missing memory.
    """
    base = make_task("abc")
    cell = {base.letter(s): s for s in range(base.observation_space.n) if base.letter(s) != "."}
    cs = {s for s in range(base.observation_space.n) if base.letter(s) == "C"}
    assert _paths_avoiding(base, cell["A"], cell["B"], cs)
    assert not _paths_avoiding(base, cell["A"], cell["B"], cs | {cell["S"]})

    # Learners: the best Markov reward we can write on cells fails; the machine succeeds.
    def markov(obs: int, action: int, nxt: int, env_reward: float, info: dict) -> float:
        letter = base.letter(nxt)
        return {"A": 1.0, "B": 1.0, "C": -1.0}.get(letter, 0.0)

    judged = RewardMachineEnv(make_task("abc"), abc_machine())  # success = the machine accepts
    for seed in range(3):
        trained = q_learning(judged, QLearningConfig(episodes=300, seed=seed), reward_fn=markov)
        assert evaluate(judged, trained.q, episodes=3).success_rate == 0.0

    with_state = RewardMachineEnv(make_task("abc"), abc_machine(), add_state=True)
    for seed in range(3):
        trained = q_learning(with_state, QLearningConfig(episodes=300, seed=seed))
        assert evaluate(with_state, trained.q, episodes=3).success_rate == 1.0


def test_counterfactual_learning_uses_fewer_steps() -> None:
    """CRM learns the same task from fewer environment steps (measured over five seeds)."""
    steps = {}
    for crm in (False, True):
        env = RewardMachineEnv(make_task("abc"), abc_machine(), add_state=True, counterfactual=crm)
        total = 0
        for seed in range(5):
            trained = q_learning(env, QLearningConfig(episodes=150, seed=seed, counterfactual=crm))
            assert evaluate(env, trained.q, episodes=1).success_rate == 1.0
            total += trained.steps
        steps[crm] = total
    assert steps[True] < steps[False]

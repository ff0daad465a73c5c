"""Visit A, then B, never C: a task no Markov reward on the agent's cell can express.

Run: python examples/envs/abc_reward_machine.py

Trains a tabular Q-learner three ways on the bundled ``abc`` gridworld and prints the greedy
policy's success rate (the reward machine accepting) over five seeds:

1. the best Markov reward one can write on cells (+1 at A, +1 at B, -1 at C): fails, because
   every path from A to B that avoids C passes the start again, and a memoryless policy that
   comes back to the start repeats itself;
2. the reward machine in abc.toml, with its state added to the observation: succeeds;
3. the same with counterfactual experience (CRM): succeeds from fewer environment steps.
"""

from __future__ import annotations

from pathlib import Path

from rewardsmith.envs import (
    QLearningConfig,
    RewardMachine,
    RewardMachineEnv,
    evaluate,
    make_task,
    q_learning,
)

MACHINE = RewardMachine.from_toml(Path(__file__).with_name("abc.toml"))
SEEDS = range(5)


def markov(obs: int, action: int, nxt: int, env_reward: float, info: dict) -> float:
    return {"A": 1.0, "B": 1.0, "C": -1.0}.get(make_task("abc").letter(nxt), 0.0)


def main() -> dict[str, tuple[float, int]]:
    results = {}
    runs = {
        "markov reward on cells": (RewardMachineEnv(make_task("abc"), MACHINE), markov, False),
        "reward machine": (
            RewardMachineEnv(make_task("abc"), MACHINE, add_state=True),
            None,
            False,
        ),
        "reward machine + CRM": (
            RewardMachineEnv(make_task("abc"), MACHINE, add_state=True, counterfactual=True),
            None,
            True,
        ),
    }
    print(make_task("abc").render(), end="\n\n")
    for name, (env, reward_fn, crm) in runs.items():
        success, steps = 0.0, 0
        for seed in SEEDS:
            config = QLearningConfig(episodes=300, seed=seed, counterfactual=crm)
            trained = q_learning(env, config, reward_fn)
            success += evaluate(env, trained.q, episodes=3).success_rate / len(SEEDS)
            steps += trained.steps
        results[name] = (success, steps)
        print(f"{name:24s} success {success:.2f}   environment steps {steps}")
    return results


if __name__ == "__main__":
    main()

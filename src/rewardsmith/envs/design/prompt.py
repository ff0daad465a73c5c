"""Prompts for the design loop: the environment in a few lines, the task, and feedback.

Following Text2Reward and Eureka, the model sees a compact description of the observation
(field names, types, an example) instead of the environment's source, writes a function that
returns the total reward *and* its named components, and, from the second round on, reads how
the best reward so far did: the task's success rate and statistics of each component over
training ("reward reflection"). Failures of other candidates come back with their reason, so
the model stops repeating them.
"""

from __future__ import annotations

from typing import Any

from rewardsmith.envs.design.code import ALLOWED_MODULES, ENTRY_POINT

__all__ = ["SYSTEM_PROMPT", "feedback_message", "first_message"]

SYSTEM_PROMPT = f"""You write reward functions for reinforcement learning.
Answer with one ```python block that defines
    def {ENTRY_POINT}(obs, action, next_obs):
returning (total_reward, components), where components is a dict of named float terms whose
sum or weighted combination is total_reward. obs and next_obs are plain dicts as described;
action is an int. Only these modules may be imported: {", ".join(sorted(ALLOWED_MODULES))}.
No files, network, randomness or global state. The agent is a tabular Q-learner (discount
0.95) trained for a few hundred short episodes, so the reward must guide it to succeed."""


def first_message(description: str, task: str) -> str:
    """The user message of the first round."""
    return f"Environment:\n{description}\n\nTask: {task}\n\nWrite {ENTRY_POINT}."


def _format_stats(stats: dict[str, dict[str, float]]) -> str:
    lines = []
    for name, s in stats.items():
        lines.append(
            f"  {name}: mean {s['mean']:.3g}, std {s['std']:.3g}, min {s['min']:.3g}, "
            f"max {s['max']:.3g}; first tenth of training {s['early_mean']:.3g}, "
            f"last tenth {s['late_mean']:.3g}"
        )
    return "\n".join(lines)


def feedback_message(best: dict[str, Any] | None, failures: list[dict[str, Any]]) -> str:
    """The user message after a round: the best candidate so far and why others failed.

    ``best`` holds ``code``, ``success_rate``, ``train_success``, ``mean_length`` and
    ``stats``; each failure holds ``status`` and ``reason``.
    """
    parts = []
    if best is not None:
        parts.append(
            "The best reward so far:\n```python\n"
            + best["code"].rstrip()
            + "\n```\n"
            + f"Task success rate of the trained agent: {best['success_rate']:.2f}; "
            f"success during training: {best['train_success']:.2f}; "
            f"greedy episode length: {best['mean_length']:.1f}.\n"
            "Per-step values over training:\n" + _format_stats(best["stats"])
        )
    else:
        parts.append("No candidate could be trained yet.")
    if failures:
        parts.append(
            "Candidates that could not be used:\n"
            + "\n".join(f"  - {f['status']}: {f['reason'][:300]}" for f in failures)
        )
    parts.append(
        "Analyse which components help or hurt (a component that barely varies gives no "
        "signal; one that dominates hides the others) and write an improved "
        f"{ENTRY_POINT}."
    )
    return "\n\n".join(parts)

"""LLM reward design for tabular Gymnasium environments (Text2Reward / Eureka style).

`run_design` asks an OpenAI-compatible endpoint for ``compute_reward`` code, screens it,
tabulates it in the sandbox, trains a Q-learner on it, scores the task's success, feeds back
per-component statistics, iterates, selects the best, and logs every candidate to the run log.
See docs/design.md.
"""

from rewardsmith.envs.design.code import (
    ALLOWED_MODULES,
    ENTRY_POINT,
    FORBIDDEN_NAMES,
    extract_code,
    screen_code,
)
from rewardsmith.envs.design.evaluate import (
    CandidateResult,
    RewardTable,
    evaluate_candidate,
    tabulate_reward,
)
from rewardsmith.envs.design.loop import (
    Candidate,
    DesignConfig,
    DesignResult,
    candidate_distances,
    resolve_env,
    run_design,
)
from rewardsmith.envs.design.prompt import SYSTEM_PROMPT, feedback_message, first_message

__all__ = [  # noqa: RUF022  (grouped by concern, not sorted)
    # the loop
    "Candidate",
    "DesignConfig",
    "DesignResult",
    "candidate_distances",
    "resolve_env",
    "run_design",
    # one candidate
    "CandidateResult",
    "RewardTable",
    "evaluate_candidate",
    "tabulate_reward",
    # code from the model
    "ALLOWED_MODULES",
    "ENTRY_POINT",
    "FORBIDDEN_NAMES",
    "extract_code",
    "screen_code",
    # prompts
    "SYSTEM_PROMPT",
    "feedback_message",
    "first_message",
]

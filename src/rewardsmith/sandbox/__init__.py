"""Isolated execution of untrusted programs: a warm zygote that forks one confined child per run.

Used by the code reward, and reusable by any reward that must run model-written code (SQL,
generated reward functions). See docs/sandbox.md for the protection levels and what each
privilege mode gets, docs/rewards/code.md for the threat model.

Example:
    >>> from rewardsmith.sandbox import Sandbox
    >>> with Sandbox() as box:
    ...     run, answers = box.call("def f(x):\\n    return x * 2", [("f", [21], {})])
    >>> answers[0].value
    42
"""

from rewardsmith.sandbox.launcher import (
    Call,
    CallSession,
    Sandbox,
    SandboxError,
    SandboxRefused,
    default_sandbox,
    real_python,
)
from rewardsmith.sandbox.limits import SandboxLimits
from rewardsmith.sandbox.protections import Protections, SandboxLevel
from rewardsmith.sandbox.result import CallResult, Outcome, RunResult

__all__ = [
    "Call",
    "CallResult",
    "CallSession",
    "Outcome",
    "Protections",
    "RunResult",
    "Sandbox",
    "SandboxError",
    "SandboxLevel",
    "SandboxLimits",
    "SandboxRefused",
    "default_sandbox",
    "real_python",
]

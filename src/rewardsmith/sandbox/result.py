"""What a sandboxed run produced: `RunResult`, `CallResult` and the `Outcome` of each."""

from __future__ import annotations

import dataclasses
import signal
from typing import Any, Literal

__all__ = ["CallResult", "Outcome", "RunResult"]

Outcome = Literal[
    "ok", "runtime_error", "time_limit", "memory_limit", "output_limit", "sandbox_error"
]
"""How a run ended. ``ok`` only means the program exited 0 after the sandbox was set up: it is
never a pass by itself; a caller compares the output."""


@dataclasses.dataclass
class RunResult:
    """One finished run: exit status, resource use and captured output.

    ``stdout``/``stderr`` hold at most the first ``SandboxLimits.output_bytes`` bytes.
    ``responses`` holds the raw response lines of a call run, in order.
    """

    outcome: Outcome
    exit_code: int | None = None
    signal: int | None = None
    killed: str | None = None
    cpu_s: float = 0.0
    wall_s: float = 0.0
    maxrss_kb: int = 0
    stdout: bytes = b""
    stderr: bytes = b""
    responses: list[bytes] = dataclasses.field(default_factory=list)
    detail: str = ""

    def summary(self) -> dict[str, Any]:
        """A small JSON-able description for ``Score.info``."""
        out: dict[str, Any] = {"outcome": self.outcome, "cpu_s": round(self.cpu_s, 4)}
        if self.exit_code is not None:
            out["exit_code"] = self.exit_code
        if self.signal is not None:
            out["signal"] = (
                signal.Signals(self.signal).name if self.signal in _SIGNALS else self.signal
            )
        if self.killed:
            out["killed"] = self.killed
        if self.detail:
            out["detail"] = self.detail
        return out


_SIGNALS = {int(s) for s in signal.Signals}


@dataclasses.dataclass
class CallResult:
    """One call answered by a program: its return value (plain data) or its error."""

    outcome: Literal[
        "ok", "runtime_error", "time_limit", "invalid_value", "output_limit", "sandbox_error"
    ]
    value: Any = None
    error: str = ""

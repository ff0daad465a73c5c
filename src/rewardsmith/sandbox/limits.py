"""`SandboxLimits`: what one run of a program may use."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["SandboxLimits"]


@dataclasses.dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one run (one test, or one call session).

    Example:
        >>> SandboxLimits(time_limit_s=1.0).wall_limit_s
        3.0
    """

    time_limit_s: float = 2.0
    """CPU seconds for the program and its children (RLIMIT_CPU, per process)."""
    wall_s: float | None = None
    """Wall-clock seconds before the run is killed; default ``2 * time_limit_s + 1`` (this
    bounds ``sleep`` and blocked reads, which use no CPU)."""
    memory_mb: int = 512
    """Address space of each process (RLIMIT_AS), in MiB."""
    output_bytes: int = 16 << 20
    """Largest file the program may write, stdout and stderr included (RLIMIT_FSIZE)."""
    nproc: int = 32
    """Processes and threads of the run's uid (RLIMIT_NPROC; effective because the uid is unique
    to the run and never root)."""
    nofile: int = 256
    """Open file descriptors per process."""
    tmp_mb: int = 64
    """Size of the run's private ``/tmp`` (a tmpfs that disappears with the run)."""
    answer_bytes: int = 4 << 20
    """Most bytes of returned values the grader reads from one run (or one session call);
    more is the program's ``output_limit``. Bounds the grader's memory for decoding (JSON
    expands about 20-fold into Python objects)."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None and value <= 0:
                raise ValueError(f"SandboxLimits.{field.name} must be positive, got {value!r}")

    @property
    def wall_limit_s(self) -> float:
        return self.wall_s if self.wall_s is not None else 2.0 * self.time_limit_s + 1.0

    def to_wire(self) -> dict[str, Any]:
        return {
            "cpu_s": self.time_limit_s,
            "wall_s": self.wall_limit_s,
            "memory_mb": self.memory_mb,
            "output_bytes": self.output_bytes,
            "nproc": self.nproc,
            "nofile": self.nofile,
            "tmp_mb": self.tmp_mb,
        }

"""`Protections`: which isolation measures are really in force for the programs we run."""

from __future__ import annotations

import dataclasses
from typing import Any, Final

__all__ = ["DESCRIPTIONS", "Protections"]

DESCRIPTIONS: Final[dict[str, str]] = {
    "uid_drop": "program runs as a fresh unprivileged uid (so RLIMIT_NPROC holds and files are protected)",
    "capabilities_dropped": "no capabilities (when the uid stays that of a user namespace)",
    "net_namespace": "empty network namespace: no interface, not even loopback",
    "pid_namespace": "own pid namespace per run: kill -1 reaches only the run, exit kills every descendant",
    "mount_namespace": "own mount namespace per run",
    "private_root": "root is a read-only tree of the Python install and system libraries only",
    "ipc_namespace": "own System V IPC namespace per run (segments die with the run)",
    "private_tmp": "fresh size-limited tmpfs on /tmp per run",
    "private_proc": "/proc shows the run's processes only",
    "no_new_privs": "no_new_privs set: setuid binaries cannot raise privileges",
    "seccomp": "seccomp filter: no ptrace, mount, namespaces, bpf, io_uring, non-unix sockets, ...",
    "rlimits": "CPU, address space, file size, process, file descriptor limits",
    "scrubbed_env": "environment replaced by PATH, HOME, TMPDIR, LANG",
    "closed_fds": "only stdin, stdout, stderr and the run's own channels are open",
    "memory_cgroup": "memory cgroup bounds the whole run (all processes, /tmp, IPC segments)",
    "pids_cgroup": "pids cgroup bounds the run's process and thread count",
}


@dataclasses.dataclass(frozen=True)
class Protections:
    """The protections a zygote measured in a real child at start-up.

    Every later run must get each protection marked active, or it fails with ``sandbox_error``
    instead of running the program with less.
    """

    active: dict[str, bool]
    notes: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        return [name for name, on in self.active.items() if not on and name in _EXPECTED]

    def as_dict(self) -> dict[str, Any]:
        return {
            "active": sorted(k for k, v in self.active.items() if v),
            "missing": self.missing,
            "notes": list(self.notes),
        }

    def report(self) -> str:
        """Human-readable lines, one per protection."""
        lines = []
        for name, text in DESCRIPTIONS.items():
            if name in self.active:
                mark = "on " if self.active[name] else "off"
                lines.append(f"[{mark}] {name}: {text}")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


# capabilities_dropped only applies where uid_drop cannot; a missing one of the pair is expected.
_EXPECTED = frozenset(DESCRIPTIONS) - {"capabilities_dropped"}

"""`Protections`: which isolation measures are really in force, and whether they are enough.

The zygote measures each protection in a real child at start-up (`DESCRIPTIONS`). A *level*
says how much of that the caller requires before a program runs:

- ``isolated`` (the default) requires every `REQUIREMENTS` entry: an isolated filesystem view,
  a private pid namespace and ``/proc``, no network, a separate uid (or a user namespace without
  capabilities), seccomp, rlimits, and bounded total memory and processes for the whole run.
  Where one is missing, a program is *refused* (`Protections.refusal`), never run with less.
- ``trusted-code-only`` runs programs with whatever this machine allows. It is for code the
  user trusts (their own tests, a known-good dataset), never for a policy's output: a hostile
  program may then read the user's files or reach the network. The choice is recorded in every
  `Score.info` the sandbox's callers return.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final, Literal

__all__ = ["DESCRIPTIONS", "LEVELS", "REQUIREMENTS", "Protections", "SandboxLevel"]

SandboxLevel = Literal["isolated", "trusted-code-only"]
"""How much isolation a caller requires before it runs a program."""

LEVELS: Final[tuple[str, ...]] = ("isolated", "trusted-code-only")

DESCRIPTIONS: Final[dict[str, str]] = {
    "uid_drop": "program runs as a fresh unprivileged uid (so RLIMIT_NPROC holds and files are protected)",
    "capabilities_dropped": "no capabilities (when the uid stays that of a user namespace)",
    "user_namespace": "the zygote's own user namespace: the program's uid 0 has no power outside it",
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
    "memory_watchdog": "the zygote sums the resident memory of the run's whole tree and kills it past the limit",
}

_ROOT_OR_USERNS: Final = (
    "run the grader as root (a container is enough), or allow unprivileged user namespaces "
    "(Ubuntu 24.04+: sysctl kernel.apparmor_restrict_unprivileged_userns=0; Debian before 11: "
    "kernel.unprivileged_userns_clone=1; RHEL/CentOS: user.max_user_namespaces=15000; Docker: "
    "a seccomp profile that allows unshare/clone with namespace flags)"
)

REQUIREMENTS: Final[dict[str, tuple[tuple[tuple[str, ...], ...], str]]] = {
    # requirement: (alternatives, each a tuple of protections that must all be on; the fix)
    "isolated filesystem view": (
        (("mount_namespace", "private_root", "private_tmp"),),
        _ROOT_OR_USERNS,
    ),
    "private pid namespace and /proc": (
        (("pid_namespace", "private_proc"),),
        _ROOT_OR_USERNS,
    ),
    "no network": ((("net_namespace", "seccomp"),), _ROOT_OR_USERNS),
    "separate uid or user namespace": (
        (("uid_drop",), ("user_namespace", "capabilities_dropped")),
        _ROOT_OR_USERNS,
    ),
    "system call filter": (
        (("seccomp", "no_new_privs"),),
        "use Linux on x86_64 with seccomp enabled (CONFIG_SECCOMP_FILTER)",
    ),
    "per-process limits": (
        (("rlimits", "closed_fds", "scrubbed_env"),),
        "the sandbox could not set rlimits: see `rewardsmith doctor` notes",
    ),
    "bounded total memory": (
        (("memory_cgroup",), ("memory_watchdog",)),
        "run the grader as root with a memory cgroup, or where the zygote can see its runs' "
        "processes (" + _ROOT_OR_USERNS + ")",
    ),
    "bounded process count": (
        # RLIMIT_NPROC counts per uid, and (kernel >= 5.14) per user namespace: a uid unique to
        # the run, or a user namespace of the zygote's own, makes it a bound for the run alone.
        (("pids_cgroup",), ("uid_drop", "rlimits"), ("user_namespace", "rlimits")),
        _ROOT_OR_USERNS,
    ),
}
"""What the ``isolated`` level requires; each entry names the fix when it is missing."""


@dataclasses.dataclass(frozen=True)
class Protections:
    """The protections a zygote measured in a real child at start-up.

    Every later run must get each protection marked active, or it fails with ``sandbox_error``
    instead of running the program with less.

    Example:
        >>> p = Protections(active={"seccomp": True, "net_namespace": False})
        >>> p.unmet()[0][0]
        'isolated filesystem view'
    """

    active: dict[str, bool]
    notes: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        """Protections measured off (those that replace one another count only when all are)."""
        return [name for name, on in self.active.items() if not on and name in _EXPECTED]

    def unmet(self) -> list[tuple[str, list[str], str]]:
        """``(requirement, protections it lacks, fix)`` for each unmet `REQUIREMENTS` entry."""
        out = []
        for requirement, (alternatives, fix) in REQUIREMENTS.items():
            lacking = [
                [name for name in group if not self.active.get(name)] for group in alternatives
            ]
            if all(lacking):
                out.append((requirement, min(lacking, key=len), fix))
        return out

    def refusal(self, level: SandboxLevel = "isolated") -> str | None:
        """Why a program must not run at ``level`` here, with the fix; None when it may."""
        if level == "trusted-code-only":
            return None
        unmet = self.unmet()
        if not unmet:
            return None
        parts = [f"{req} (missing: {', '.join(lack)})" for req, lack, _ in unmet]
        fixes = list(dict.fromkeys(fix for _, _, fix in unmet))
        return (
            f"sandbox refused to run an untrusted program: {'; '.join(parts)}. "
            f"To fix: {' / '.join(fixes)}. Only for code you trust, set "
            f'sandbox = "trusted-code-only" in the term\'s params.'
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "active": sorted(k for k, v in self.active.items() if v),
            "missing": self.missing,
            "unmet": [req for req, _, _ in self.unmet()],
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


# Protections that stand in for one another: one of each pair is expected to be off.
_EXPECTED = frozenset(DESCRIPTIONS) - {
    "capabilities_dropped",
    "user_namespace",
    "memory_watchdog",
}

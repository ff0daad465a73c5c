"""Can this machine grade code? The sandbox's self-check, as lines of a report.

`run_doctor` starts a sandbox, emits one line per protection (on/off) and the notes of what
could not be set up, then the verdict for each level: whether the default ``isolated`` level is
met and, if not, which requirement is missing and what to change. Then it runs a correct
program and two hostile ones and emits how each ended (at ``trusted-code-only`` when
``isolated`` is not met, labelled so). Lines go out as they are known, through ``emit``: the
checks take a second, and a reader should see the verdict before them.

Used by ``rewardsmith doctor`` and ``python -m rewardsmith.sandbox``.
"""

from __future__ import annotations

from collections.abc import Callable

from rewardsmith.sandbox.launcher import Sandbox, SandboxError
from rewardsmith.sandbox.limits import SandboxLimits

__all__ = ["CHECKS", "run_doctor"]

# (name, program, expected outcome, expected stdout); each program reads "2 3" on stdin.
CHECKS: tuple[tuple[str, str, str, bytes], ...] = (
    ("correct program", "print(sum(map(int, input().split())))", "ok", b"5\n"),
    (
        "network",
        "import socket\nsocket.create_connection(('127.0.0.1', 1), timeout=1)",
        "runtime_error",
        b"",
    ),
    ("busy loop", "while True:\n    pass", "time_limit", b""),
)


def run_doctor(emit: Callable[[str], None]) -> int:
    """Emit the report line by line; return the exit status: 0 when the default level is met
    and every check passed, 1 otherwise."""
    try:
        box = Sandbox(level="trusted-code-only")
        protections = box.start()
    except SandboxError as exc:
        emit(f"FAIL: the sandbox cannot start here: {exc}")
        return 1
    with box:
        emit(protections.report())
        emit("")
        refusal = protections.refusal("isolated")
        if refusal is None:
            emit('level "isolated" (the default): met; hostile programs can be graded here')
        else:
            emit('FAIL: level "isolated" (the default) is NOT met: code, sql and design terms')
            emit("      will return status `refused` here. Missing:")
            unmet = protections.unmet()
            for requirement, lacking, _ in unmet:
                emit(f"  - {requirement}: {', '.join(lacking)} off")
            for fix in dict.fromkeys(fix for _, _, fix in unmet):
                emit(f"  To fix: {fix}.")
            emit('  level "trusted-code-only" (set sandbox = "trusted-code-only" in a term\'s')
            emit("  params) runs programs anyway, with only the protections marked on above:")
            emit("  use it only for code you trust. Checks below run at that level.")
        emit("")
        failed = refusal is not None
        for name, source, outcome, stdout in CHECKS:
            result = box.run_script(source, stdin=b"2 3", limits=SandboxLimits(time_limit_s=0.5))
            good = result.outcome == outcome and result.stdout == stdout
            failed |= not good
            emit(
                f"{'pass' if good else 'FAIL'}: {name}: {result.outcome} ({result.wall_s * 1000:.1f} ms)"
            )
    return 1 if failed else 0

"""``python -m rewardsmith.sandbox`` (and ``rewardsmith doctor``): can this machine grade code?

Prints one line per protection (on/off) and the notes of what could not be set up, then the
verdict for each level: whether the default ``isolated`` level is met and, if not, which
requirement is missing and what to change. Then runs a correct program and two hostile ones
and reports how each ended (at ``trusted-code-only`` when ``isolated`` is not met, labelled so).

Exit status: 0 when the default level is met and every check passed; 1 otherwise.
"""

from __future__ import annotations

import sys

from rewardsmith.sandbox import Sandbox, SandboxError, SandboxLimits


def main() -> int:
    try:
        box = Sandbox(level="trusted-code-only")
        protections = box.start()
    except SandboxError as exc:
        print(f"FAIL: the sandbox cannot start here: {exc}")
        return 1
    with box:
        print(protections.report())
        print()
        refusal = protections.refusal("isolated")
        if refusal is None:
            print('level "isolated" (the default): met; hostile programs can be graded here')
        else:
            print('FAIL: level "isolated" (the default) is NOT met: code, sql and design terms')
            print("      will return status `refused` here. Missing:")
            unmet = protections.unmet()
            for requirement, lacking, _ in unmet:
                print(f"  - {requirement}: {', '.join(lacking)} off")
            for fix in dict.fromkeys(fix for _, _, fix in unmet):
                print(f"  To fix: {fix}.")
            print('  level "trusted-code-only" (set sandbox = "trusted-code-only" in a term\'s')
            print("  params) runs programs anyway, with only the protections marked on above:")
            print("  use it only for code you trust. Checks below run at that level.")
        print()
        checks = [
            ("correct program", "print(sum(map(int, input().split())))", "ok", b"5\n"),
            (
                "network",
                "import socket\nsocket.create_connection(('127.0.0.1', 1), timeout=1)",
                "runtime_error",
                b"",
            ),
            ("busy loop", "while True:\n    pass", "time_limit", b""),
        ]
        failed = refusal is not None
        for name, source, outcome, stdout in checks:
            result = box.run_script(source, stdin=b"2 3", limits=SandboxLimits(time_limit_s=0.5))
            good = result.outcome == outcome and result.stdout == stdout
            failed |= not good
            print(
                f"{'pass' if good else 'FAIL'}: {name}: {result.outcome} ({result.wall_s * 1000:.1f} ms)"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

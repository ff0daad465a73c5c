"""``python -m rewardsmith.sandbox``: which protections are active here, checked by real runs.

Prints one line per protection (on/off) and the notes of what could not be set up, then runs a
correct program and two hostile ones and reports how each ended. Exits 1 if a check fails.
"""

from __future__ import annotations

import sys

from rewardsmith.sandbox import Sandbox, SandboxLimits


def main() -> int:
    with Sandbox() as box:
        print(box.protections.report())
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
        failed = 0
        for name, source, outcome, stdout in checks:
            result = box.run_script(source, stdin=b"2 3", limits=SandboxLimits(time_limit_s=0.5))
            good = result.outcome == outcome and result.stdout == stdout
            failed += not good
            print(
                f"{'pass' if good else 'FAIL'}: {name}: {result.outcome} ({result.wall_s * 1000:.1f} ms)"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

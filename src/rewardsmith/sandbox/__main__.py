"""``python -m rewardsmith.sandbox``: the sandbox's self-check (`rewardsmith.sandbox.doctor`)
on stdout, for machines where only the library is at hand.

Exit status: 0 when the default level is met and every check passed; 1 otherwise.
"""

from __future__ import annotations

import sys

from rewardsmith.sandbox.doctor import run_doctor


def main() -> int:
    return run_doctor(emit=_write)


def _write(line: str) -> None:
    # A script entry point: writing the report to stdout is its whole job.
    print(line)


if __name__ == "__main__":
    sys.exit(main())

"""Fail when .venv holds a package that requirements.lock does not pin at that version.

setup.sh installs with the lock as constraints, so a mismatch means pyproject.toml gained a
dependency without `bash scripts/lock.sh`, or something was installed into .venv by hand: either
way CI on a fresh machine would not get the same versions.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith(("#", "-e ")):
            continue
        name, sep, version = line.partition("==")
        pins[_normalise(name.split(" @ ")[0])] = version if sep else line
    return pins


def main() -> int:
    locked = _pins(LOCK.read_text().splitlines())
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude", "rewardsmith"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    problems = [
        f"{name} {version} is installed but requirements.lock has {locked.get(name, 'no pin')}"
        for name, version in _pins(frozen).items()
        if locked.get(name) != version
    ]
    for problem in problems:
        print(f"lock: {problem}", file=sys.stderr)
    if problems:
        print(
            "lock: refresh it with `bash scripts/lock.sh` (or remove what was installed by hand)",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

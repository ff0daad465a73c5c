"""Run a Python script the way a non-root user would start it, from a test running as root.

Modes (CI runs as root, so the tests create the other two themselves, changing nothing on the
host):

- ``root``: the test's own interpreter.
- ``user``: uid/gid 65534 (nobody) through ``setpriv``, in a private mount namespace of the
  launcher where the Python install is made reachable for that uid.
- ``user_no_userns``: as ``user``, and the process tree also runs under a seccomp filter that
  refuses user namespaces (`deny_userns.py`), as hardened hosts and some containers do.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rewardsmith
from rewardsmith.sandbox import real_python

MODES = ("root", "user", "user_no_userns")
NOBODY = 65534
_HERE = Path(__file__).resolve().parent


def _world_traversable(path: Path) -> bool:
    return all(p.stat().st_mode & 0o005 == 0o005 for p in [path, *path.parents] if p.exists())


def _hidden_ancestor(path: Path) -> Path | None:
    """The top-most ancestor that other users cannot enter (such as /root for pyenv)."""
    for parent in reversed(path.parents):
        if parent.stat().st_mode & 0o001 == 0:
            return parent
    return None


def skip_unless_possible(mode: str) -> None:
    """Skip when this host cannot start ``mode`` (not root, tools missing, files unreadable)."""
    if mode == "root":
        return
    if os.geteuid() != 0:
        pytest.skip("needs root to start a grader as another uid")
    if not (shutil.which("unshare") and shutil.which("setpriv")):
        pytest.skip("util-linux (unshare, setpriv) missing")
    source = Path(rewardsmith.__file__).resolve().parents[1]
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    if not (_world_traversable(source) and _world_traversable(site) and _world_traversable(_HERE)):
        pytest.skip("the checkout or the virtualenv is not readable by other users")


def run_in_mode(
    mode: str,
    args: list[str],
    scratch: Path,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -s ARGS`` in ``mode``; ``scratch`` is a root-only folder for the launcher."""
    source = Path(rewardsmith.__file__).resolve().parents[1]
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    extra = env or {}
    if mode == "root":
        return subprocess.run(
            [sys.executable, "-s", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
            env={**os.environ, **extra},
        )
    python = real_python()
    prefix = Path(python).parents[1]
    steps = ["mount --make-rprivate /"]
    hidden = _hidden_ancestor(prefix)
    if hidden is not None:  # make the interpreter reachable for nobody, in this namespace only
        holder = scratch / "prefix"
        holder.mkdir(exist_ok=True)
        steps += [
            f"mount --bind {prefix} {holder}",
            f"mount -t tmpfs -o mode=755 tmpfs {hidden}",
            f"mkdir -p {prefix}",
            f"mount --bind {holder} {prefix}",
        ]
    command = [python, "-s", *args]
    if mode == "user_no_userns":
        command = [python, "-I", "-S", str(_HERE / "deny_userns.py"), *command]
    variables = {
        "PATH": "/usr/bin:/bin",
        "HOME": extra.get("HOME", "/tmp"),
        "PYTHONPATH": f"{source}:{site}",
        **extra,
    }
    steps.append(
        f"exec setpriv --reuid {NOBODY} --regid {NOBODY} --clear-groups env -i "
        + " ".join(shlex.quote(f"{k}={v}") for k, v in variables.items())
        + " "
        + " ".join(shlex.quote(part) for part in command)
    )
    return subprocess.run(
        ["unshare", "-m", "bash", "-c", " && ".join(steps)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
    )

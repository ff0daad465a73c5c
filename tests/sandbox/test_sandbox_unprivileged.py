"""Without root the sandbox falls back to a user namespace, and says what it lost.

The test starts a grader as uid 65534 (nobody) in a private mount namespace of its own, where
the Python install is made reachable for that uid; nothing on the host changes.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rewardsmith
from rewardsmith.sandbox import real_python

SCRIPT = r"""
import json, sys
from rewardsmith.sandbox import Sandbox, SandboxLimits
out = {}
with Sandbox() as box:
    out["active"] = box.protections.active
    out["notes"] = list(box.protections.notes)
    programs = {
        "sum": "print(sum(map(int, input().split())))",
        "whoami": "import os\nprint(os.getuid(), os.getpid())",
        "net": "import socket\nsocket.socket(socket.AF_INET)",
        "kill_all": "import os\nos.kill(-1, 9)\nprint('alive')",
        "mount": "import ctypes\nprint(ctypes.CDLL(None).mount(b'x', b'/tmp', b'tmpfs', 0, None))",
        "loop": "while True:\n    pass",
    }
    for name, source in programs.items():
        r = box.run_script(source, stdin=b"2 3", limits=SandboxLimits(time_limit_s=0.5))
        out[name] = [r.outcome, r.stdout.decode()]
print(json.dumps(out))
"""


def _world_traversable(path: Path) -> bool:
    return all(p.stat().st_mode & 0o005 == 0o005 for p in [path, *path.parents] if p.exists())


def _hidden_ancestor(path: Path) -> Path | None:
    """The top-most ancestor that other users cannot enter (such as /root for pyenv)."""
    for parent in reversed(path.parents):
        if parent.stat().st_mode & 0o001 == 0:
            return parent
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start a grader as another uid")
@pytest.mark.skipif(
    not (shutil.which("unshare") and shutil.which("setpriv")), reason="util-linux missing"
)
def test_unprivileged_grader_uses_a_user_namespace(tmp_path: Path):
    source = Path(rewardsmith.__file__).resolve().parents[1]
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    if not (_world_traversable(source) and _world_traversable(site)):
        pytest.skip("the checkout or the virtualenv is not readable by other users")
    prefix = Path(real_python()).parents[1]
    steps = ["mount --make-rprivate /"]
    hidden = _hidden_ancestor(prefix)
    if hidden is not None:  # make the interpreter reachable for nobody, in this namespace only
        holder = tmp_path / "prefix"
        holder.mkdir()
        steps += [
            f"mount --bind {prefix} {holder}",
            f"mount -t tmpfs -o mode=755 tmpfs {hidden}",
            f"mkdir -p {prefix}",
            f"mount --bind {holder} {prefix}",
        ]
    steps.append(
        "exec setpriv --reuid 65534 --regid 65534 --clear-groups env -i PATH=/usr/bin:/bin "
        f"HOME=/tmp PYTHONPATH={source}:{site} {real_python()} -s -c {shlex.quote(SCRIPT)}"
    )
    done = subprocess.run(
        ["unshare", "-m", "bash", "-c", " && ".join(steps)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    active = out["active"]
    assert not active["uid_drop"] and active["capabilities_dropped"]
    for name in ("net_namespace", "pid_namespace", "private_root", "seccomp", "rlimits"):
        assert active[name], (name, out["notes"])
    assert any("not root" in note for note in out["notes"])
    assert out["sum"] == ["ok", "5\n"]
    assert out["whoami"] == ["ok", "0 1\n"]  # uid 0 of the user namespace only, no capabilities
    assert out["net"][0] == "runtime_error"
    assert out["kill_all"][0] == "runtime_error"  # nothing else to kill in its pid namespace
    assert out["mount"] == ["ok", "-1\n"]
    assert out["loop"][0] == "time_limit"

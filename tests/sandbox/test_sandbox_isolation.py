"""Hostile programs cannot reach the host: processes, files, network, environment, kernel.

Tests that kill processes run the killing inside the sandbox only, and only after checking that
the program is an unprivileged uid alone in its own pid namespace.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sandbox_helpers import leftover_processes, require

from rewardsmith.sandbox import Sandbox, SandboxLimits


def test_protections_are_reported(box: Sandbox):
    active = box.protections.active
    assert {"rlimits", "scrubbed_env", "closed_fds", "seccomp"} <= {
        k for k, v in active.items() if v
    }
    assert "seccomp" in box.protections.report()


@pytest.mark.skipif(os.geteuid() != 0, reason="full isolation is measured as root")
def test_as_root_every_protection_is_active(box: Sandbox):
    assert box.protections.missing == [], box.protections.report()


def test_program_sees_its_own_pid_namespace_and_uid(box: Sandbox):
    require(box, "pid_namespace", "uid_drop", "private_proc")
    result = box.run_script(
        "import os\nprint(os.getuid(), os.getpid(), sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    )
    uid, pid, *_ = result.stdout.split(maxsplit=2)
    assert int(uid) >= 100_000 and int(pid) == 1
    assert result.stdout.split(maxsplit=2)[2].strip() == b"[1]"


def test_kill_minus_one_reaches_only_the_run(box: Sandbox):
    require(box, "pid_namespace", "uid_drop")
    # Verified first: the program is an unprivileged uid and pid 1 of its own namespace.
    check = box.run_script("import os\nprint(os.getuid() >= 100000 and os.getpid() == 1)")
    assert check.stdout == b"True\n"
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        source = (
            "import os, signal, time\n"
            "child = os.fork()\n"
            "if child == 0:\n    time.sleep(30)\n    os._exit(0)\n"
            "time.sleep(0.1)\n"
            "os.kill(-1, signal.SIGKILL)\n"
            "_, status = os.waitpid(child, 0)\n"
            "print('sibling killed' if os.WIFSIGNALED(status) else 'sibling alive')\n"
        )
        result = box.run_script(source)
        assert result.stdout == b"sibling killed\n"  # kill -1 worked, inside the run only
        assert bystander.poll() is None, "a host process was killed"
        assert box._proc is not None and box._proc.poll() is None, "the zygote was killed"
        assert box.run_script("print(1)").stdout == b"1\n"
    finally:
        bystander.kill()
        bystander.wait()


def test_killing_the_parent_and_everything_else_fails(box: Sandbox):
    zygote = box._proc
    source = (
        "import os, signal\n"
        "hits = []\n"
        "for pid in range(1, 5000):\n"
        "    if pid != os.getpid():\n"
        "        try:\n            os.kill(pid, signal.SIGKILL)\n            hits.append(pid)\n"
        "        except OSError:\n            pass\n"
        "print(hits)\n"
    )
    result = box.run_script(source)
    assert result.stdout in (b"[]\n", b"")
    assert zygote is box._proc and zygote.poll() is None
    assert box.run_script("print(2)").stdout == b"2\n"


def test_orphan_daemons_die_with_the_run(box: Sandbox):
    source = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n        time.sleep(60)\n"
        "    os._exit(0)\n"
        "print('parent done')\n"
    )
    start = time.monotonic()
    result = box.run_script(source)
    assert result.outcome == "ok" and result.stdout == b"parent done\n"
    assert time.monotonic() - start < 2, "the grader waited for the daemon"
    time.sleep(0.05)
    assert leftover_processes(box) == []


def test_fork_bomb_is_contained(box: Sandbox):
    require(box, "uid_drop", "pid_namespace")
    start = time.monotonic()
    result = box.run_script(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",
        limits=SandboxLimits(time_limit_s=0.5),
    )
    assert result.outcome in ("time_limit", "runtime_error")
    assert time.monotonic() - start < 5
    time.sleep(0.05)
    assert leftover_processes(box) == []
    assert box.run_script("print(3)").stdout == b"3\n"


def test_thread_bomb_is_contained(box: Sandbox):
    result = box.run_script(
        "import threading, time\nn = 0\ntry:\n    while True:\n        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n        n += 1\nexcept RuntimeError:\n    print(n)",
        limits=SandboxLimits(time_limit_s=1),
    )
    assert result.outcome == "ok" and int(result.stdout) < 64
    assert leftover_processes(box) == []


def test_no_network_even_to_loopback(box: Sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted = []

    def accept() -> None:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                accepted.append(server.accept())
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        source = (
            "import socket\n"
            "for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET):\n"
            "    try:\n        socket.socket(family)\n        print('opened', family)\n"
            "    except OSError as e:\n        print('refused', e.errno)\n"
            f"socket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'pwned')\n"
        )
        result = box.run_script(source)
        assert b"opened" not in result.stdout
        assert result.outcome == "runtime_error"
        interfaces = box.run_script("print(open('/proc/net/dev').read())").stdout
        assert b"eth" not in interfaces and b"ens" not in interfaces
    finally:
        thread.join()
        server.close()
    assert accepted == []


def test_writes_outside_the_private_tmp_do_not_reach_the_host(box: Sandbox, tmp_path: Path):
    marker = f"rewardsmith-escape-{uuid.uuid4().hex}"
    targets = [
        tmp_path / marker,
        Path("/tmp") / marker,
        Path("/dev/shm") / marker,
        Path("/work/main") / marker,
        Path("/var/tmp") / marker,
    ]
    source = "\n".join(
        [
            "written = []",
            f"for path in {[str(t) for t in targets]!r}:",
            "    try:",
            "        open(path, 'w').write('x')",
            "        written.append(path)",
            "    except OSError:",
            "        pass",
            "print(written)",
        ]
    )
    result = box.run_script(source)
    assert result.outcome == "ok"
    for target in targets:
        assert not target.exists(), f"{target} appeared on the host"


def test_private_tmp_is_fresh_for_every_run(box: Sandbox):
    box.run_script("open('/tmp/left-behind', 'w').write('x')")
    result = box.run_script("import os\nprint(os.listdir('/tmp'))")
    assert result.stdout == b"[]\n"


def test_disk_fill_is_bounded_by_the_tmp_size(box: Sandbox):
    result = box.run_script(
        "import os\ntry:\n    with open('/tmp/fill', 'wb') as f:\n        while True:\n            f.write(b'x' * (1 << 20))\nexcept OSError as e:\n    print(os.path.getsize('/tmp/fill') >> 20, e.errno)",
        limits=SandboxLimits(tmp_mb=8, output_bytes=64 << 20),
    )
    size_mb, errno = result.stdout.split()
    assert int(size_mb) <= 8 and int(errno) == 28  # ENOSPC


def test_grader_environment_does_not_leak(monkeypatch: pytest.MonkeyPatch):
    secret = f"secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("REWARDSMITH_TEST_SECRET", secret)
    with Sandbox() as fresh:
        source = (
            "import os\n"
            "print(dict(os.environ))\n"
            "for pid in os.listdir('/proc'):\n"
            "    for leaf in ('environ', 'cmdline'):\n"
            "        try:\n            print(open(f'/proc/{pid}/{leaf}', 'rb').read())\n"
            "        except OSError:\n            pass\n"
        )
        result = fresh.run_script(source)
    assert result.outcome == "ok"
    assert secret.encode() not in result.stdout + result.stderr
    assert b"PATH" in result.stdout


def test_grader_files_are_not_visible(box: Sandbox):
    require(box, "private_root")
    source = "import os\nprint(sorted(os.listdir('/')), os.path.exists('/work'), os.path.exists('/etc/passwd'))"
    result = box.run_script(source)
    assert b"'work'" not in result.stdout and result.stdout.rstrip().endswith(b"False False")
    assert os.path.exists("/work") or os.path.exists("/etc/passwd")


def test_seccomp_refuses_dangerous_calls(box: Sandbox):
    require(box, "seccomp")
    source = (
        "import ctypes, os, socket\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def err(rc):\n    return ctypes.get_errno() if rc != 0 else 0\n"
        "print('ptrace', err(libc.ptrace(16, 1, 0, 0)))\n"
        "print('unshare', err(libc.unshare(0x10000000)))\n"
        "print('mount', err(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)))\n"
        "print('io_uring', libc.syscall(425, 1, None) == -1 and ctypes.get_errno())\n"
        "a, b = socket.socketpair()\n"
        "print('socketpair ok')\n"
    )
    result = box.run_script(source)
    lines = dict(line.split(maxsplit=1) for line in result.stdout.decode().splitlines())
    assert lines == {
        "ptrace": "1",
        "unshare": "1",
        "mount": "1",
        "io_uring": "1",
        "socketpair": "ok",
    }, result.stdout


def test_fd_exhaustion_and_sysv_ipc_do_not_outlive_the_run(box: Sandbox):
    require(box, "ipc_namespace")
    before = Path("/proc/sysvipc/shm").read_text().count("\n")
    box.run_script(
        "import ctypes\nlibc = ctypes.CDLL(None)\nfor i in range(20):\n    libc.shmget(1000 + i, 1 << 20, 0o1666)\n"
        "import os\nwhile True:\n    os.open('/dev/null', os.O_RDONLY)"
    )
    assert Path("/proc/sysvipc/shm").read_text().count("\n") == before
    assert box.run_script("print(4)").stdout == b"4\n"


def test_memory_cgroup_bounds_many_processes_together(box: Sandbox):
    require(box, "memory_cgroup")
    # Eight children of 300 MB each stay under RLIMIT_AS one by one, not together.
    source = (
        "import os, time\n"
        "kids = []\n"
        "for _ in range(8):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        block = bytearray(300 << 20)\n"
        "        block[::4096] = b'x' * len(block[::4096])\n"
        "        time.sleep(3)\n"
        "        os._exit(0)\n"
        "    kids.append(pid)\n"
        "print(sum(os.waitpid(pid, 0)[1] != 0 for pid in kids))\n"
    )
    result = box.run_script(source, limits=SandboxLimits(memory_mb=512, time_limit_s=5))
    assert result.outcome == "memory_limit"
    assert leftover_processes(box) == []


def test_cgroups_are_removed_when_the_sandbox_closes():
    with Sandbox() as fresh:
        fresh.start()
        directories = list(fresh._cgroups)
        fresh.run_script("print(1)")
    assert all(not os.path.exists(d) for d in directories)


def test_grader_killed_mid_run_leaves_no_run_and_no_cgroup(tmp_path: Path):
    script = (
        "import sys, time\n"
        "from rewardsmith.sandbox import Sandbox\n"
        "box = Sandbox()\n"
        "box.start()\n"
        "print(box._proc.pid, *box._cgroups, flush=True)\n"
        "box.run_script('import time\\ntime.sleep(60)', limits=__import__('rewardsmith').sandbox.SandboxLimits(time_limit_s=60))\n"
    )
    grader = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        zygote, *cgroups = grader.stdout.readline().split()
        time.sleep(0.5)
        grader.kill()  # no chance to clean up: the zygote must do it
        grader.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            os.path.exists(f"/proc/{zygote}") or any(map(os.path.exists, cgroups))
        ):
            time.sleep(0.05)
        assert (
            not os.path.exists(f"/proc/{zygote}")
            or Path(f"/proc/{zygote}/stat").read_text().split()[2] == "Z"
        )
        assert not any(map(os.path.exists, cgroups)), cgroups
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()

"""The zygote: a warm, clean interpreter that forks one confined child per run (stdlib only).

Started by `rewardsmith.sandbox.launcher` as ``<real python> -I -S _zygote.py <fd>`` with an
empty environment; it cannot import ``rewardsmith`` and loads its helpers (``_confine``,
``_harness``, ``_wire``) by path. Its memory never holds an expected output, nor even the
program or its input: it receives file descriptors and limits, and the child reads the rest.

Process tree of one run::

    trusted worker ── zygote ── program (pid 1 of a new pid namespace, own mounts and IPC,
                                         unprivileged uid, rlimits, no_new_privs, seccomp)

The program process sets up its own confinement while still root, then runs the program.
When it exits the kernel kills everything left in its namespace (daemons, forks), so the next
run starts clean. The zygote waits on the process (never on pipe EOF), reads its status and
resource use, and enforces the wall-clock limit by killing it, never by asking the program.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, os.path.join(_HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


confine = _load("_confine")
harness = _load("_harness")
harness.wire = _load("_wire")
harness.install_site_builtins()

# Modules a program commonly imports, loaded now so a run does not pay for them.
import collections  # noqa: E402, F401

FD_JOB, FD_REQ, FD_RESP = 3, 4, 5
EXIT_SANDBOX_FAILED = 121
PROTECTIONS = (
    "uid_drop",
    "capabilities_dropped",
    "user_namespace",
    "net_namespace",
    "pid_namespace",
    "mount_namespace",
    "private_root",
    "ipc_namespace",
    "private_tmp",
    "private_proc",
    "no_new_privs",
    "seccomp",
    "rlimits",
    "scrubbed_env",
    "closed_fds",
    "memory_cgroup",
    "pids_cgroup",
    "memory_watchdog",
)
WATCH_INTERVAL_S = 0.01
PAGE = os.sysconf("SC_PAGE_SIZE")


class Zygote:
    def __init__(self, control: socket.socket, config: dict) -> None:
        self.control = control
        self.config = config
        self.active: dict[str, bool] = {name: False for name in PROTECTIONS}
        self.notes: list[str] = []
        self.userns = False
        self.own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY)
        self.cgroup_dirs: list[str] = []
        self.cgroup_parents: list[tuple[int, str]] = []
        self.current: int | None = None
        self.cgroup_fds: dict[str, int] = {}
        self.cgroup_limits: dict[str, str] = {}
        self.proc = False

    # -- set-up, once -------------------------------------------------------------------------

    def setup(self) -> None:
        if os.geteuid() == 0:
            self.setup_cgroups()
        try:
            # Orphans of a run without a pid namespace come back to us, to be killed.
            confine.set_child_subreaper()
        except OSError as exc:
            self.notes.append(f"child subreaper: {exc}")
        if os.geteuid() != 0:
            try:
                uid, gid = os.getuid(), os.getgid()
                confine.unshare(confine.CLONE_NEWUSER)
                _write("/proc/self/setgroups", "deny")
                _write("/proc/self/uid_map", f"0 {uid} 1")
                _write("/proc/self/gid_map", f"0 {gid} 1")
                self.userns = True
                self.active["user_namespace"] = True
                self.become_namespace_init()
                self.notes.append(
                    "not root: programs keep the caller's uid inside a user namespace"
                )
            except OSError as exc:
                self.notes.append(f"no user namespace ({exc}); running with rlimits and seccomp")
        for flag, name in (
            (confine.CLONE_NEWNET, "net_namespace"),
            (confine.CLONE_NEWNS, "mount_namespace"),
        ):
            try:
                confine.unshare(flag)
                self.active[name] = True
            except OSError as exc:
                self.notes.append(f"{name}: {exc}")
        if self.active["mount_namespace"]:
            try:
                self.proc = confine.build_root(
                    self.config["expose"], self.config["devices"], self.config["hide"]
                )
                self.active["private_root"] = True
            except OSError as exc:
                self.notes.append(f"private_root: {exc}")
        try:
            confine.unshare(confine.CLONE_NEWPID)
            confine.setns(self.own_pidns, confine.CLONE_NEWPID)
            self.active["pid_namespace"] = True
        except OSError as exc:
            self.notes.append(f"pid_namespace: {exc}")
        # The watchdog needs a /proc of the pid namespace we fork in (ours, not the host's).
        if not self.active["private_root"]:
            self.proc = os.path.isdir("/proc/self/task")
        try:
            self.proc = self.proc and os.readlink("/proc/self") == str(os.getpid())
        except OSError:
            self.proc = False
        self.active["memory_watchdog"] = self.proc and not self.active["memory_cgroup"]
        if not self.proc:
            self.notes.append("memory_watchdog: no /proc of the zygote's own pid namespace")
        # Probe the per-run steps in a real child: what it reports is what every run must get.
        status, report = self.run(
            {"mode": "probe", "limits": self.config["probe_limits"]}, probe=True
        )
        if report is None:
            raise RuntimeError(f"sandbox probe failed: {status}")
        self.active.update(report)

    def become_namespace_init(self) -> None:
        """Continue as pid 1 of a pid namespace that our user namespace owns.

        Per-run pid namespaces need ``setns`` back into the zygote's own pid namespace after
        each fork, which takes CAP_SYS_ADMIN over the namespace's owner: never the case for the
        host's pid namespace once we are in a user namespace. So the zygote moves into a pid
        namespace of its own; the original process only waits and passes on the exit.
        """
        confine.unshare(confine.CLONE_NEWPID)
        child = os.fork()
        if child:
            self.control.close()
            _, status = os.waitpid(child, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        confine.set_pdeathsig(signal.SIGKILL)
        os.close(self.own_pidns)
        self.own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY)

    def setup_cgroups(self) -> None:
        """A memory and a pids cgroup for this zygote's runs, nested under our own cgroups.

        RLIMIT_AS bounds one process; 32 processes could each take that much. The memory
        cgroup bounds the whole run (program, children, its /tmp and SysV segments), the pids
        cgroup its process count. Files are opened now: after pivot_root /sys is gone.
        """
        own = {}
        with open("/proc/self/cgroup") as handle:
            for line in handle:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in controllers.split(","):
                    own[controller] = path
        for controller, files in (
            ("memory", ("memory.limit_in_bytes", "memory.oom_control")),
            ("pids", ("pids.max",)),
        ):
            name = f"{controller}_cgroup"
            if controller not in own:
                self.notes.append(f"{name}: no cgroup v1 {controller} controller")
                continue
            parent = f"/sys/fs/cgroup/{controller}{own[controller].rstrip('/')}"
            directory = f"{parent}/rewardsmith-zygote-{os.getpid()}"
            try:
                os.mkdir(directory, 0o700)
                self.cgroup_dirs.append(directory)
                # Kept to remove the cgroup at exit, when /sys is no longer reachable by path.
                parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
                self.cgroup_parents.append((parent_fd, os.path.basename(directory)))
                procs = os.open(f"{directory}/cgroup.procs", os.O_WRONLY)
                self.cgroup_fds[f"{controller}.procs"] = procs
                for leaf in files:
                    mode = os.O_RDONLY if leaf.endswith("oom_control") else os.O_WRONLY
                    self.cgroup_fds[leaf] = os.open(f"{directory}/{leaf}", mode)
                self.active[name] = True
            except OSError as exc:
                self.notes.append(f"{name}: {exc}")

    def set_cgroup_limits(self, limits: dict) -> None:
        wanted = {}
        if self.active["memory_cgroup"]:
            slack = 64 << 20
            total = (int(limits["memory_mb"]) + int(limits["tmp_mb"])) << 20
            wanted["memory.limit_in_bytes"] = str(total + 3 * int(limits["output_bytes"]) + slack)
        if self.active["pids_cgroup"]:
            wanted["pids.max"] = str(int(limits["nproc"]) + 4)
        for leaf, value in wanted.items():
            if self.cgroup_limits.get(leaf) != value:
                os.pwrite(self.cgroup_fds[leaf], value.encode(), 0)
                self.cgroup_limits[leaf] = value

    def oom_kills(self) -> int:
        fd = self.cgroup_fds.get("memory.oom_control")
        if fd is None:
            return 0
        for line in os.pread(fd, 4096, 0).decode().splitlines():
            if line.startswith("oom_kill "):
                return int(line.split()[1])
        return 0

    # -- one run ------------------------------------------------------------------------------

    def run(
        self, message: dict, fds: list[int] | None = None, probe: bool = False
    ) -> tuple[dict, dict | None]:
        limits = message["limits"]
        probe_r = probe_w = -1
        if probe:
            probe_r, probe_w = os.pipe()
            job_r, job_w = os.pipe()
            os.write(job_w, json.dumps({"mode": "probe"}).encode())
            os.close(job_w)
            null = os.open("/dev/null", os.O_RDWR)
            fds = [null, null, null, job_r, null, probe_w]
        assert fds is not None
        ready_r, ready_w = os.pipe()
        self.set_cgroup_limits(limits)
        oom_before = self.oom_kills()
        started = time.monotonic()
        if self.active["pid_namespace"]:
            confine.unshare(confine.CLONE_NEWPID)
        try:
            pid = os.fork()
        except OSError as exc:
            if self.active["pid_namespace"]:
                confine.setns(self.own_pidns, confine.CLONE_NEWPID)
            for fd in {*fds, ready_r, ready_w}:
                os.close(fd)
            raise RuntimeError(f"fork failed: {exc}") from None
        if pid == 0:
            try:
                os.close(ready_r)
                self.program_process(limits, fds, probe, ready_w)
            finally:
                os._exit(EXIT_SANDBOX_FAILED)
        self.current = pid
        if self.active["pid_namespace"]:
            confine.setns(self.own_pidns, confine.CLONE_NEWPID)
        os.close(ready_w)
        for fd in set(fds):
            os.close(fd)
        memory_cap = int(limits["memory_mb"]) << 20 if self.active["memory_watchdog"] else 0
        killed, wait_status, usage = self.wait(pid, started + float(limits["wall_s"]), memory_cap)
        self.current = None
        if not self.active["pid_namespace"]:
            _kill_group(pid)
            self.kill_orphans()  # daemons that left the group came back to us (subreaper)
        # The program process writes "R" once confined, just before the program's first line
        # runs; only then can its exit status be the program's doing.
        result: dict = {
            "wall_s": time.monotonic() - started,
            "killed": killed,
            "ready": os.read(ready_r, 1) == b"R",
            "exit": os.waitstatus_to_exitcode(wait_status) if os.WIFEXITED(wait_status) else None,
            "signal": os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else None,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "maxrss_kb": usage.ru_maxrss,
            "oom_killed": killed == "memory" or self.oom_kills() > oom_before,
        }
        os.close(ready_r)
        report = None
        if probe:
            raw = _read_all(probe_r, 1 << 16)
            os.close(probe_r)
            report = json.loads(raw) if raw else None
        return result, report

    def wait(self, pid: int, deadline: float, memory_cap: int = 0):  # type: ignore[no-untyped-def]
        """Wait for the program; kill it at the deadline, on request, or (with ``memory_cap``)
        when its whole tree holds more resident memory than that.

        Returns (why it was killed or None, wait status, rusage)."""
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = -1
        killed = None
        control = self.control.fileno()
        watch = [control] + ([pidfd] if pidfd >= 0 else [])
        while True:
            timeout = max(0.0, deadline - time.monotonic())
            if pidfd < 0:
                timeout = min(timeout, 0.002)
            if memory_cap and killed is None:
                timeout = min(timeout, WATCH_INTERVAL_S)
            ready, _, _ = select.select(watch, [], [], timeout)
            if pidfd < 0 or pidfd in ready:
                done, wait_status, usage = os.wait4(pid, os.WNOHANG)
                if done:
                    break
            if control in ready:
                data = self.control.recv(1 << 16)
                if not data or json.loads(data).get("op") == "kill":
                    killed = killed or ("requested" if data else "grader_gone")
                    self.kill(pid)
                    watch = [w for w in watch if w != control]
            if killed is None and time.monotonic() >= deadline:
                killed = "wall_time"
                self.kill(pid)
            if (
                memory_cap
                and killed is None
                and not ready
                and tree_memory(pid, memory_cap) > memory_cap
            ):
                killed = "memory"
                self.kill(pid)
        if pidfd >= 0:
            os.close(pidfd)
        if killed == "grader_gone":
            self.current = None
            raise SystemExit(0)
        return killed, wait_status, usage

    def kill_orphans(self) -> None:
        """SIGKILL every remaining descendant and reap it (bounded: forks are rlimited)."""
        me = os.getpid()
        for _ in range(100):
            children = _children(me)
            if not children:
                break
            for child in children:
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGKILL)
            for child in children:
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(child, 0)

    def shutdown(self) -> None:
        """Kill a run still in flight, then remove this zygote's cgroups (they must be empty)."""
        if self.current is not None:
            with contextlib.suppress(OSError):
                self.kill(self.current)
                os.waitpid(self.current, 0)
            self.current = None
        for fd in self.cgroup_fds.values():
            os.close(fd)
        self.cgroup_fds.clear()
        for parent_fd, name in self.cgroup_parents:
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=parent_fd)
            os.close(parent_fd)
        self.cgroup_parents.clear()

    def kill(self, pid: int) -> None:
        if self.active["pid_namespace"]:
            os.kill(pid, signal.SIGKILL)  # pid 1 of its namespace: the kernel kills the rest
        else:
            _kill_group(pid)

    # -- the program process: pid 1 of a new pid namespace --------------------------------------

    def program_process(self, limits: dict, fds: list[int], probe: bool, ready_w: int) -> None:
        """Confine this process, then run the job in it.

        As pid 1 of its namespace, its exit makes the kernel kill every process it left behind,
        and no signal sent from inside the namespace can kill it (so "kill the parent" and
        ``kill -1`` stay inside the run). Each protection the start-up probe found working must
        work again here, or the run stops before the program's first line.
        """
        required = None if probe else self.active
        steps: dict[str, bool] = {}
        try:
            confine.set_pdeathsig(signal.SIGKILL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the zygote's own handlers, undone
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as in any python process
            self.control.close()
            if self.active["mount_namespace"]:
                _step(
                    steps,
                    required,
                    "ipc_namespace",
                    lambda: confine.unshare(confine.CLONE_NEWIPC | confine.CLONE_NEWNS),
                )
                steps["mount_namespace"] = steps["ipc_namespace"]
                tmp = f"size={int(limits['tmp_mb'])}m,mode=1777,nr_inodes=4096"
                flags = confine.MS_NOSUID | confine.MS_NODEV
                _step(
                    steps,
                    required,
                    "private_tmp",
                    lambda: confine.mount("tmpfs", "/tmp", "tmpfs", flags, tmp),
                )
                if self.active["pid_namespace"]:
                    flags |= confine.MS_NOEXEC
                    _step(
                        steps,
                        required,
                        "private_proc",
                        lambda: confine.mount("proc", "/proc", "proc", flags),
                    )
            os.setsid()
            for controller in ("memory", "pids"):
                if self.active[f"{controller}_cgroup"]:
                    fd = self.cgroup_fds[f"{controller}.procs"]
                    _step(steps, required, f"{controller}_cgroup", lambda fd=fd: os.write(fd, b"0"))
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]
            ready = fcntl.fcntl(ready_w, fcntl.F_DUPFD_CLOEXEC, 100)
            for target, fd in enumerate(high):
                os.dup2(fd, target, inheritable=target < 3)
            os.closerange(len(fds), ready)
            os.closerange(ready + 1, 1 << 20)
            steps["closed_fds"] = True
            _step(steps, required, "rlimits", lambda: _set_rlimits(limits))
            os.chdir("/tmp")
            if self.userns:
                _step(steps, required, "capabilities_dropped", confine.drop_capabilities)
            elif os.geteuid() == 0:
                uid = 100_000 + int.from_bytes(os.urandom(3), "little") % 900_000
                _step(steps, required, "uid_drop", lambda: _drop_uid(uid))
            _step(steps, required, "no_new_privs", confine.set_no_new_privs)
            _step(
                steps,
                required,
                "seccomp",
                lambda: confine.install_seccomp(deny_sysv_shm=not self.active["memory_cgroup"]),
            )
            os.environ.clear()
            os.environ.update(
                {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8"}
            )
            steps["scrubbed_env"] = True
            job = json.loads(_read_all(FD_JOB, 1 << 30))
            os.close(FD_JOB)
            os.write(ready, b"R")
            os.close(ready)
        except BaseException:  # never run a program in a half-built sandbox
            traceback.print_exc()
            os._exit(EXIT_SANDBOX_FAILED)
        if probe:
            os.write(FD_RESP, json.dumps(steps).encode())
            os._exit(0)
        if job["mode"] == "script":
            harness.run_script(job["source"])
        harness.serve_calls(job["source"])


# -- helpers -------------------------------------------------------------------------------------


def _step(steps: dict, required: dict | None, name: str, action) -> None:  # type: ignore[no-untyped-def]
    try:
        action()
        steps[name] = True
    except OSError as exc:
        if required is not None and required.get(name):
            os.write(2, f"sandbox: {name} failed: {exc}\n".encode())
            os._exit(EXIT_SANDBOX_FAILED)
        steps[name] = False


def _children(pid: int) -> list[int]:
    """Child pids of every thread of ``pid`` (from /proc; empty when unreadable)."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                out.extend(int(p) for p in handle.read().split())
        except OSError:
            continue
    return out


def tree_memory(root: int, cap: int) -> int:
    """Bytes of private memory of ``root`` and all its descendants, exact enough near ``cap``.

    First the cheap count: resident minus shared pages (``statm``), so the interpreter's code
    pages, shared by every process of the run, count for nobody, and the anonymous memory a
    memory bomb allocates counts in full. That count double-counts pages a fork shares
    copy-on-write, so past ``cap`` it is checked against the proportional set size
    (``smaps_rollup``: each shared page split among its sharers) before anyone is killed.
    A process that hides its ``smaps_rollup`` (not dumpable) keeps the cheap count.
    """
    pids: list[int] = []
    seen: set[int] = set()
    todo, rough = [root], 0
    while todo and len(pids) < 4096:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                fields = handle.read().split()
            private = (int(fields[1]) - int(fields[2])) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        pids.append(pid)
        rough += private
        todo.extend(_children(pid))
    if rough <= cap:
        return rough
    exact = 0
    for pid in pids:
        exact += _proportional(pid)
    return exact


def _proportional(pid: int) -> int:
    """Proportional anonymous + shmem bytes of one process, or its cheap count if hidden."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            text = handle.read()
        total = 0
        for line in text.splitlines():
            if line.startswith((b"Pss_Anon:", b"Pss_Shmem:")):
                total += int(line.split()[1]) << 10
        if b"Pss_Anon:" in text:
            return total
    except (OSError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            fields = handle.read().split()
        return (int(fields[1]) - int(fields[2])) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def _set_rlimits(limits: dict) -> None:
    cpu = max(1, int(limits["cpu_s"] + 0.999))
    memory = int(limits["memory_mb"]) << 20
    output = int(limits["output_bytes"])
    for which, soft, hard in (
        # Soft = hard: as pid 1 the program ignores SIGXCPU, so the limit is the SIGKILL.
        (resource.RLIMIT_CPU, cpu, cpu),
        (resource.RLIMIT_AS, memory, memory),
        (resource.RLIMIT_DATA, memory, memory),
        (resource.RLIMIT_FSIZE, output, output),
        (resource.RLIMIT_NOFILE, int(limits["nofile"]), int(limits["nofile"])),
        (resource.RLIMIT_NPROC, int(limits["nproc"]), int(limits["nproc"])),
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_MEMLOCK, 0, 0),
        (resource.RLIMIT_MSGQUEUE, 0, 0),
    ):
        resource.setrlimit(which, (soft, hard))


def _drop_uid(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError(1, "uid did not change")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _read_all(fd: int, limit: int) -> bytes:
    chunks = []
    total = 0
    while total < limit:
        chunk = os.read(fd, min(1 << 20, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    # If the grader dies, SIGTERM (not SIGKILL) so the run is killed and the cgroups removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    confine.set_pdeathsig(signal.SIGTERM)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    config = json.loads(control.recv(1 << 20))
    zygote = Zygote(control, config)
    try:
        serve(zygote, control)
    finally:
        zygote.shutdown()


def serve(zygote: Zygote, control: socket.socket) -> None:
    try:
        zygote.setup()
    except Exception as exc:  # tell the grader why, then stop
        traceback.print_exc()
        control.send(json.dumps({"ev": "failed", "reason": harness.describe(exc)}).encode())
        return
    ready = {"ev": "ready", "active": zygote.active, "notes": zygote.notes}
    control.send(json.dumps({**ready, "cgroups": zygote.cgroup_dirs}).encode())
    while True:
        data, fds, _, _ = socket.recv_fds(control, 1 << 16, 16)
        if not data:
            return
        message = json.loads(data)
        if message.get("op") != "run":
            # A late "kill" for a run that had already ended: nothing left to kill.
            for fd in fds:
                os.close(fd)
            continue
        try:
            result, _ = zygote.run(message, list(fds))
            reply = {"ev": "exit", **result}
        except Exception as exc:
            reply = {"ev": "error", "reason": harness.describe(exc)}
        control.send(json.dumps(reply).encode())


if __name__ == "__main__":
    main()

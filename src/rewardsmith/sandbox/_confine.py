"""Kernel calls the zygote and its children use to confine a program (stdlib only).

This file is loaded by path inside the zygote, which runs ``python -I -S`` and so cannot import
``rewardsmith``: it may import nothing but the standard library.

Everything here goes through ``ctypes`` to libc, so no system package beyond libc is needed:
namespaces (``unshare``/``setns``), mounts, ``pivot_root``, ``prctl`` and a hand-assembled
seccomp-BPF filter. Each step reports failure by raising ``OSError``; the caller decides what to
degrade and records it.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

__all__ = [
    "CLONE_NEWIPC",
    "CLONE_NEWNET",
    "CLONE_NEWNS",
    "CLONE_NEWPID",
    "CLONE_NEWUSER",
    "build_root",
    "drop_capabilities",
    "install_seccomp",
    "mount",
    "seccomp_supported",
    "set_child_subreaper",
    "set_no_new_privs",
    "set_pdeathsig",
    "setns",
    "unshare",
]

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
SECCOMP_MODE_FILTER = 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_void_p,
]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.prctl.argtypes = [
    ctypes.c_int,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
    ctypes.c_ulong,
]
_libc.syscall.restype = ctypes.c_long


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), f"unshare({flags:#x})")


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    _check(
        _libc.mount(
            source.encode() if source is not None else None,
            target.encode(),
            fstype.encode() if fstype is not None else None,
            flags,
            data.encode() if data is not None else None,
        ),
        f"mount {target}",
    )


def umount(target: str, flags: int = MNT_DETACH) -> None:
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(155, new_root.encode(), put_old.encode()), "pivot_root")


def set_pdeathsig(sig: int) -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PDEATHSIG)")


def set_child_subreaper() -> None:
    """Orphaned descendants are re-parented to the caller, which can then find and kill them."""
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(CHILD_SUBREAPER)")


def set_no_new_privs() -> None:
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")


def drop_capabilities() -> None:
    """Empty the bounding, effective, permitted and inheritable capability sets.

    Used when the program keeps uid 0 of a user namespace (no other uid can be mapped without
    privilege): without capabilities that uid can do no more than an ordinary user.
    """
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            break  # EINVAL: past the last capability this kernel knows
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.syscall(126, header, data), "capset")


# -- minimal root ---------------------------------------------------------------------------


def build_root(expose: list[str], devices: list[str], hide: list[str] = ()) -> bool:  # type: ignore[assignment]
    """Replace ``/`` of the current mount namespace by a read-only tree holding only ``expose``.

    The caller must already be alone in a new mount namespace with CAP_SYS_ADMIN there. Each
    exposed path is bind-mounted read-only at the same place, and each ``hide`` path under one
    is covered by an empty read-only tmpfs; a host symlink (``/lib ->
    usr/lib``) is recreated as a symlink. ``/tmp`` and ``/proc`` are left as empty mount points
    for the per-run mounts, and ``/dev/shm`` points into the run's ``/tmp`` so POSIX semaphores
    work and count against its size. After this the old root is detached: the grader's files,
    the datasets and ``/root`` are not reachable by path.

    A fresh ``/proc`` of the caller's pid namespace is mounted for the zygote (its memory
    watchdog reads it), and its presence is what lets each run mount its own ``/proc`` over it
    inside a user namespace (the kernel wants a fully visible proc already mounted). Returns
    whether that ``/proc`` could be mounted; without it ``/proc`` stays an empty directory.
    """
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # A private scratch over /tmp of this namespace only; the host's /tmp is untouched.
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700")
    root = "/tmp/root"
    os.mkdir(root)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for name in ("tmp", "proc", "dev", ".old"):
        os.mkdir(f"{root}/{name}", 0o755)
    os.chmod(f"{root}/tmp", 0o1777)
    for path in expose:
        _expose(root, path)
    for path in hide:  # e.g. the interpreter's site-packages: not importable under -S anyway
        if os.path.isdir(root + path):
            mount("tmpfs", root + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k")
    for device in devices:
        if os.path.exists(device):
            target = root + device
            with open(target, "w"):
                pass
            mount(device, target, None, MS_BIND)
    os.symlink("/tmp", f"{root}/dev/shm")
    os.symlink("/proc/self/fd", f"{root}/dev/fd")
    try:
        mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        proc = True
    except OSError:
        proc = False
    pivot_root(root, f"{root}/.old")
    os.chdir("/")
    umount("/.old")
    os.rmdir("/.old")
    mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return proc


def _expose(root: str, path: str) -> None:
    path = os.path.normpath(path)
    if not os.path.lexists(path):
        return
    target = root + path
    parent = os.path.dirname(target)
    os.makedirs(parent, mode=0o755, exist_ok=True)
    if os.path.islink(path):
        if not os.path.lexists(target):
            os.symlink(os.readlink(path), target)
        _expose(root, os.path.realpath(path))
        return
    real = os.path.realpath(path)
    if os.path.lexists(target):
        return
    if os.path.isdir(real):
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        with open(target, "w"):
            pass
    mount(real, target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


# -- seccomp ----------------------------------------------------------------------------------

_AUDIT_ARCH_X86_64 = 0xC000003E
_SECCOMP_RET_KILL_PROCESS = 0x80000000
_SECCOMP_RET_ERRNO = 0x00050000
_SECCOMP_RET_ALLOW = 0x7FFF0000
_EPERM = 1
_ENOSYS = 38

# x86_64 numbers of calls a test program never needs and a hostile one would like.
_DENIED_X86_64 = {
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "pidfd_getfd": 438,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "unshare": 272,
    "setns": 308,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "mount_setattr": 442,
    "bpf": 321,
    "perf_event_open": 298,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "reboot": 169,
    "swapon": 167,
    "swapoff": 168,
    "acct": 163,
    "syslog": 103,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_by_handle_at": 304,
    "name_to_handle_at": 303,
    "settimeofday": 164,
    "clock_settime": 227,
    "clock_adjtime": 305,
    "adjtimex": 159,
    "sethostname": 170,
    "setdomainname": 171,
    "kcmp": 312,
    "fanotify_init": 300,
    "ioperm": 173,
    "iopl": 172,
    "vhangup": 153,
    "quotactl": 179,
    "uselib": 134,
}
_NR_SOCKET = 41
_NR_SHMGET = 29
_NR_CLONE = 56
_NR_CLONE3 = 435
_AF_UNIX = 1
_NAMESPACE_FLAGS = (
    CLONE_NEWNS
    | CLONE_NEWCGROUP
    | CLONE_NEWUTS
    | CLONE_NEWIPC
    | CLONE_NEWUSER
    | CLONE_NEWPID
    | CLONE_NEWNET
    | CLONE_NEWTIME
)


def seccomp_supported() -> bool:
    return platform.machine() == "x86_64"


def _filter(extra: tuple[int, ...] = ()) -> bytes:
    """Assemble the classic-BPF program (x86_64 only; other architectures are killed).

    Denied calls fail with EPERM rather than killing the process, so a program probing for them
    gets an ordinary error. ``socket`` is allowed for AF_UNIX only (multiprocessing needs it),
    ``clone`` only without namespace flags, and ``clone3`` answers ENOSYS because its flags
    live in memory BPF cannot read; glibc then falls back to ``clone``.
    """
    ld, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    prog: list[tuple[int, int, int, int]] = []
    allow = _SECCOMP_RET_ALLOW
    deny = _SECCOMP_RET_ERRNO | _EPERM
    prog.append((ld, 0, 0, 4))  # arch
    prog.append((jeq, 1, 0, _AUDIT_ARCH_X86_64))
    prog.append((ret, 0, 0, _SECCOMP_RET_KILL_PROCESS))
    prog.append((ld, 0, 0, 0))  # syscall number
    prog.append((jge, 0, 1, 0x40000000))  # x32 ABI
    prog.append((ret, 0, 0, _SECCOMP_RET_KILL_PROCESS))
    for nr in sorted({*_DENIED_X86_64.values(), *extra}):
        prog.append((jeq, 0, 1, nr))
        prog.append((ret, 0, 0, deny))
    prog.append((jeq, 0, 1, _NR_CLONE3))
    prog.append((ret, 0, 0, _SECCOMP_RET_ERRNO | _ENOSYS))
    prog.append((jeq, 0, 4, _NR_SOCKET))
    prog.append((ld, 0, 0, 16))  # args[0], low 32 bits (little endian)
    prog.append((jeq, 0, 1, _AF_UNIX))
    prog.append((ret, 0, 0, allow))
    prog.append((ret, 0, 0, deny))
    prog.append((jeq, 0, 3, _NR_CLONE))
    prog.append((ld, 0, 0, 16))  # clone flags (x86_64: first argument)
    prog.append((jset, 0, 1, _NAMESPACE_FLAGS))
    prog.append((ret, 0, 0, deny))
    prog.append((ret, 0, 0, allow))
    return b"".join(struct.pack("HBBI", *ins) for ins in prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


# (buffer, fprog) per variant, built once; a forked child reuses the memory.
_PROGRAMS: dict[bool, tuple[object, _SockFprog]] = {}


def install_seccomp(deny_sysv_shm: bool = False) -> None:
    """Install the filter on the calling thread (needs no_new_privs or CAP_SYS_ADMIN).

    ``deny_sysv_shm`` also refuses ``shmget``: without a memory cgroup, a detached System V
    segment holds memory that no process's resident size shows, so the watchdog cannot see it.
    """
    if not seccomp_supported():
        raise OSError(95, f"seccomp filter not written for {platform.machine()}")
    if deny_sysv_shm not in _PROGRAMS:
        code = _filter(extra=(_NR_SHMGET,) if deny_sysv_shm else ())
        buffer = ctypes.create_string_buffer(code, len(code))
        fprog = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
        _PROGRAMS[deny_sysv_shm] = (buffer, fprog)
    prog = _PROGRAMS[deny_sysv_shm][1]
    _check(
        _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0),  # type: ignore[arg-type]
        "prctl(SECCOMP)",
    )

"""Exec a command with user namespaces refused, as on hardened hosts (stdlib only).

``python deny_userns.py PROGRAM ARGS...`` installs a seccomp filter on itself that fails
``unshare``, ``setns`` and ``clone`` with namespace flags (EPERM) and ``clone3`` (ENOSYS, so
glibc falls back to ``clone``), then execs the command, which inherits the filter. This is how
the tests emulate a machine that refuses user namespaces without changing the machine.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
import sys

NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000
NAMESPACE_FLAGS |= 0x40000000 | 0x00000080
ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
NR_UNSHARE, NR_SETNS, NR_CLONE, NR_CLONE3 = 272, 308, 56, 435


def main() -> None:
    if platform.machine() != "x86_64":
        sys.exit("deny_userns.py: x86_64 only")
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    prog = [
        (ld, 0, 0, 0),  # syscall number
        (jeq, 0, 1, NR_UNSHARE),
        (ret, 0, 0, EPERM),
        (jeq, 0, 1, NR_SETNS),
        (ret, 0, 0, EPERM),
        (jeq, 0, 1, NR_CLONE3),
        (ret, 0, 0, ENOSYS),
        (jeq, 0, 3, NR_CLONE),
        (ld, 0, 0, 16),  # clone flags
        (jset, 0, 1, NAMESPACE_FLAGS),
        (ret, 0, 0, EPERM),
        (ret, 0, 0, ALLOW),
    ]
    code = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buffer = ctypes.create_string_buffer(code, len(code))

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Fprog(len(prog), ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [
        ctypes.c_int,
        ctypes.c_ulong,
        ctypes.c_ulong,
        ctypes.c_ulong,
        ctypes.c_ulong,
    ]
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        sys.exit(f"no_new_privs: {os.strerror(ctypes.get_errno())}")
    if libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, FILTER
        sys.exit(f"seccomp: {os.strerror(ctypes.get_errno())}")
    os.execv(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()

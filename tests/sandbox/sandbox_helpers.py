"""Helpers to look at the host from outside the sandbox (imported by the sandbox tests)."""

from __future__ import annotations

import os

import pytest

from rewardsmith.sandbox import Sandbox


def leftover_processes(box: Sandbox) -> list[int]:
    """Host pids descended from the box's zygote (there must be none once a run has returned).

    Only this sandbox's tree is looked at: other graders may be running on the same machine.
    """
    assert box._proc is not None
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], list(children.get(box._proc.pid, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def require(box: Sandbox, *names: str) -> None:
    """Skip unless every named protection is active (a test that relies on it would be unsafe)."""
    missing = [name for name in names if not box.protections.active.get(name)]
    if missing:
        pytest.skip(f"protections not active here: {', '.join(missing)}")

"""Reward ``code`` on its labelled cases: right, wrong, bad references, and the hack suite.

Every ``hack`` case is a program that tries to collect reward it has not earned (exit-code
forgery, equality tricks, introspection, patching, output tricks, resource bombs, attacks on
the host); each must score exactly 0 with status ok, and the sandbox must keep working.
"""

from __future__ import annotations

import pytest
from labelled_cases import check, labels, load, run

from rewardsmith.sandbox import default_sandbox

CASES = load("code")


@pytest.mark.parametrize("case", CASES)
def test_code_case(case):
    check("code", case)


def test_case_file_covers_right_wrong_hacks_and_bad_references():
    assert {"right", "wrong", "hack", "bad_reference", "edge"} <= labels("code")
    assert sum(1 for param in CASES if param.values[0]["label"] == "hack") >= 50


def test_sandbox_survives_the_hack_suite():
    box = default_sandbox()
    zygote = box._proc
    run("code", next(p.values[0] for p in CASES if p.values[0]["id"] == "host-kill-parent"))
    right = next(p.values[0] for p in CASES if p.values[0]["id"] == "stdio-sum")
    assert run("code", right).value == 1.0
    assert box._proc is zygote and zygote.poll() is None, "the zygote was replaced or died"

"""The sandbox runs ordinary programs faithfully: output, stdin, calls, sessions, limits."""

from __future__ import annotations

import subprocess
import sys
import time

from rewardsmith.sandbox import Sandbox, SandboxLimits, real_python


def test_real_python_is_an_interpreter_binary_not_a_shim():
    with open(real_python(), "rb") as handle:
        assert handle.read(4) == b"\x7fELF"


def test_stdout_of_200_kb_comes_back_whole(box: Sandbox):
    result = box.run_script("for i in range(40000):\n    print(i)")
    expected = "".join(f"{i}\n" for i in range(40000)).encode()
    assert len(expected) > 200_000
    assert result.outcome == "ok" and result.stdout == expected


def test_stdin_larger_than_a_pipe_buffer(box: Sandbox):
    data = b"".join(b"%d\n" % i for i in range(300_000))  # ~2 MB, 30x a pipe buffer
    result = box.run_script(
        "import sys\nlines = sys.stdin.read().split()\nprint(len(lines), sum(map(int, lines)))",
        stdin=data,
    )
    assert result.outcome == "ok"
    assert result.stdout.split() == [b"300000", str(sum(range(300_000))).encode()]


def test_stdlib_modules_import(box: Sandbox):
    modules = "asyncio bisect collections ctypes dataclasses datetime decimal fractions functools hashlib heapq itertools json math re sqlite3 ssl statistics string typing unicodedata zlib zoneinfo"
    result = box.run_script(f"import {', '.join(modules.split())}\nprint('ok')")
    assert (result.outcome, result.stdout) == ("ok", b"ok\n"), result.stderr[-500:]


def test_calls_return_plain_data_of_exact_types(box: Sandbox):
    source = "def f(kind):\n    return {'t': (1, 2.5), 's': {3}, 'b': b'x', 'n': None, 'big': 2 ** 100, 'c': 1j}[kind]"
    run, answers = box.call(source, [("f", [k], {}) for k in ("t", "s", "b", "n", "big", "c")])
    assert run.outcome == "ok"
    assert [a.value for a in answers] == [(1, 2.5), {3}, b"x", None, 2**100, 1j]
    assert type(answers[0].value) is tuple


def test_each_call_run_is_a_fresh_process(box: Sandbox):
    source = (
        "import os\nCOUNT = []\ndef f():\n    COUNT.append(1)\n    return len(COUNT), os.getpid()"
    )
    _, (first,) = box.call(source, [("f", [], {})])
    _, (second,) = box.call(source, [("f", [], {})])
    assert first.value[0] == second.value[0] == 1


def test_session_keeps_the_program_loaded(box: Sandbox):
    with box.session(
        "STATE = []\ndef push(x):\n    STATE.append(x)\n    return list(STATE)"
    ) as session:
        assert session("push", 1).value == [1]
        assert session("push", 2).value == [1, 2]
    assert session.result is not None and session.result.outcome == "ok"


def test_session_call_timeout_kills_the_program(box: Sandbox):
    limits = SandboxLimits(time_limit_s=5, wall_s=20)
    start = time.monotonic()
    with box.session(
        "import time\ndef slow():\n    time.sleep(30)\ndef fast():\n    return 1", limits
    ) as session:
        assert session.call("slow", [], {}, timeout_s=0.5).outcome == "time_limit"
        assert session("fast").outcome == "runtime_error"  # the program is gone
    assert time.monotonic() - start < 5


def test_wall_limit_bounds_sleep(box: Sandbox):
    start = time.monotonic()
    result = box.run_script("import time\ntime.sleep(60)", limits=SandboxLimits(time_limit_s=0.3))
    assert result.outcome == "time_limit"
    assert time.monotonic() - start < 3


def test_cpu_limit_bounds_a_busy_loop(box: Sandbox):
    result = box.run_script(
        "while True:\n    pass", limits=SandboxLimits(time_limit_s=0.5, wall_s=10)
    )
    assert result.outcome == "time_limit"
    assert result.signal is not None or result.killed


def test_memory_limit(box: Sandbox):
    result = box.run_script("x = bytearray(2 * 1024 ** 3)", limits=SandboxLimits(memory_mb=256))
    assert result.outcome == "memory_limit"


def test_output_limit(box: Sandbox):
    result = box.run_script(
        "while True:\n    print('x' * 1000)", limits=SandboxLimits(output_bytes=1 << 20)
    )
    assert result.outcome == "output_limit"
    assert len(result.stdout) == 1 << 20


def test_zygote_is_replaced_after_it_dies():
    with Sandbox() as box:
        box.start()
        assert box._proc is not None
        box._proc.kill()
        box._proc.wait()
        result = box.run_script("print(1)")
        assert result.outcome == "ok" and result.stdout == b"1\n"


def test_runs_are_fast_enough(box: Sandbox):
    for _ in range(5):
        box.run_script("pass")
    start = time.perf_counter()
    for _ in range(50):
        assert box.run_script("print(1)").outcome == "ok"
    per_run = (time.perf_counter() - start) / 50
    assert per_run < 0.05, f"{per_run * 1000:.1f} ms per run"


def test_module_entry_point_reports_protections_and_checks():
    done = subprocess.run(
        [sys.executable, "-m", "rewardsmith.sandbox"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "seccomp" in done.stdout and "pass: correct program" in done.stdout


def test_doctor_command_reports_protections_and_checks() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "rewardsmith.cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pass: correct program" in result.stdout
    assert "pass: network" in result.stdout and "pass: busy loop" in result.stdout

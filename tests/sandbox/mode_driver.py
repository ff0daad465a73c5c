"""A grader run by `test_sandbox_modes.py` in each privilege mode: scores hostile and honest
programs with the ``code`` reward and prints what happened as one JSON line.

``python mode_driver.py SPEC.json RS_TOKEN_...``: the token on the command line and
``RS_SECRET`` in the environment are what a program would find by reading this grader's
``/proc/<pid>/cmdline`` or ``environ``; the spec names a private key file of this user and a
path outside any sandbox that a program would like to write.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sys

from rewardsmith import Sample
from rewardsmith.rewards.code import code
from rewardsmith.sandbox import SandboxLimits, default_sandbox
from rewardsmith.sandbox.__main__ import main as doctor


def stdio(program: str, expected: str, **settings: object) -> tuple[str, dict]:
    return program, {"tests": [{"input": "", "output": expected}], **settings}


def attacks(spec: dict, token: str, port: int, abstract: bytes) -> dict[str, tuple[str, dict]]:
    marker = spec["marker"]
    out = {
        "exit_forgery": stdio("import os\nos._exit(0)", "42"),
        "busy_loop": stdio("while True:\n    pass", "1", time_limit_s=0.5),
        "kill_the_zygote": stdio(
            "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nprint('alive')", "never"
        ),
        "setsid_daemon": stdio(
            "import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            f"        os.execv('/bin/sleep', ['sleep', '{marker}'])\n    os._exit(0)\n"
            "print('daemon')",
            "never",
        ),
        "memory_in_children": stdio(
            "import os, time\npids = []\nfor _ in range(4):\n    pid = os.fork()\n"
            "    if pid == 0:\n        b = bytearray(300 << 20)\n"
            "        for i in range(0, len(b), 4096):\n            b[i] = 1\n"
            "        time.sleep(1.5)\n        os._exit(0)\n    pids.append(pid)\n"
            "ok = all(os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) == 0 for p in pids)\n"
            "print('held' if ok else 'failed')",
            "held",
            memory_mb=512,
        ),
        "flood_answers": (
            "def f():\n    return 'x' * (8 << 20)",
            {"fn_name": "f", "tests": [{"args": [], "expected": "x"}]},
        ),
    }
    if spec["hostile_reads"]:
        out.update(
            {
                "read_ssh_key": stdio(
                    f"print(open({spec['key']!r}).read().strip())", spec["key_text"]
                ),
                "ancestor_environ": stdio(
                    "import os\nfor p in os.listdir('/proc'):\n    try:\n"
                    "        env = open(f'/proc/{p}/environ', 'rb').read()\n"
                    "    except OSError:\n        continue\n"
                    "    for kv in env.split(b'\\0'):\n"
                    "        if kv.startswith(b'RS_SECRET='):\n"
                    "            print(kv[10:].decode())\n            raise SystemExit\n",
                    os.environ["RS_SECRET"],
                ),
                "cmdline_dataset": stdio(
                    "import os\nfor p in os.listdir('/proc'):\n    try:\n"
                    "        args = open(f'/proc/{p}/cmdline', 'rb').read().split(b'\\0')\n"
                    "    except OSError:\n        continue\n"
                    "    for a in args:\n        if a.startswith(b'RS_TOKEN_'):\n"
                    "            print(a.decode())\n            raise SystemExit\n",
                    token,
                ),
                "write_outside": stdio(
                    f"open({spec['bashrc']!r}, 'a').write('pwned')\n"
                    f"open({spec['outside']!r}, 'w').write('pwned')\nprint('done')",
                    "done",
                ),
                "unix_socket": stdio(
                    f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({abstract!r})\n"
                    "print('connected')",
                    "connected",
                ),
                "tcp_loopback": stdio(
                    f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
                    "print('connected')",
                    "connected",
                ),
            }
        )
    return out


def score(program: str, reference: dict, level: str) -> dict:
    completion = f"```python\n{program}\n```"
    s = code(Sample(id="x", completion=completion, reference=reference), sandbox=level)
    return {
        "status": s.status,
        "value": s.value,
        "reason": s.reason[:3000],
        "verdicts": s.info.get("verdicts"),
        "sandbox": s.info.get("sandbox"),
    }


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    token = sys.argv[2]
    level = spec["level"]
    listener = socket.socket(socket.AF_UNIX)
    abstract = b"\0rewardsmith-test-" + token.encode()
    listener.bind(abstract)
    listener.listen(8)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    out: dict = {"refusal": default_sandbox(level).refusal(), "attacks": {}, "honest": {}}
    for name, (program, reference) in attacks(spec, token, tcp.getsockname()[1], abstract).items():
        out["attacks"][name] = score(program, reference, level)
    with open(spec["honest"]) as handle:
        for line in handle:
            row = json.loads(line)
            s = code(
                Sample(id=row["id"], completion=row["completion"], reference=row["reference"]),
                sandbox=level,
            )
            out["honest"][row["id"]] = [s.status, s.value, s.reason[:3000]]
    box = default_sandbox(level)
    if box.refusal() is None:
        # How many processes a fork bomb gets: RLIMIT_NPROC on a uid or user namespace of
        # the run's own, or a pids cgroup, must hold it near the limit.
        bomb = (
            "import os, time\nn = 0\ntry:\n    while n < 2000:\n        if os.fork() == 0:\n"
            "            time.sleep(3)\n            os._exit(0)\n        n += 1\n"
            "except OSError:\n    pass\nprint(n)"
        )
        run = box.run_script(bomb, limits=SandboxLimits(nproc=32))
        out["fork_bomb"] = [run.outcome, run.stdout.decode()]
    if spec["doctor"]:
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            out["doctor"] = [doctor(), text.getvalue()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()

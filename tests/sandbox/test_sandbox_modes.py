"""The sandbox in every privilege mode, created by the test: root, an unprivileged user, and an
unprivileged user on a host that refuses user namespaces (see `modes`).

In every mode at the default level: hostile programs score 0 or are refused, honest programs
score 1.0 or are refused with the reason, nothing is written outside the sandbox, and no process
survives. Where the default level cannot be met, ``doctor`` exits 1 and names the fix; the
explicit ``trusted-code-only`` level still runs honest programs, records itself in
``Score.info``, and keeps blame and process clean-up with the program.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from modes import NOBODY, run_in_mode, skip_unless_possible

HONEST = Path(__file__).parents[1] / "rewards" / "code" / "honest_programs.jsonl"
DRIVER = Path(__file__).with_name("mode_driver.py")


@pytest.fixture
def world() -> Iterator[Path]:
    """A folder the grader's user owns, like its home: a private key and a shell profile."""
    base = Path(tempfile.mkdtemp(prefix="rewardsmith-modes-"))
    os.chmod(base, 0o755)
    home = base / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(f"KEY-{uuid.uuid4().hex}\n")
    (home / ".bashrc").write_text("# profile\n")
    os.chmod(home / ".ssh" / "id_rsa", 0o600)
    if os.geteuid() == 0:
        for path in (home, home / ".ssh", home / ".ssh" / "id_rsa", home / ".bashrc"):
            os.chown(path, NOBODY, NOBODY)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _drive(mode: str, level: str, world: Path, hostile_reads: bool, doctor: bool) -> dict:
    home = world / "home"
    marker = f"{random.randint(700, 999)}.{random.randint(10**8, 10**9)}"
    spec = {
        "level": level,
        "honest": str(HONEST),
        "key": str(home / ".ssh" / "id_rsa"),
        "key_text": (home / ".ssh" / "id_rsa").read_text().strip(),
        "bashrc": str(home / ".bashrc"),
        "outside": str(home / "pwned"),
        "marker": marker,
        "hostile_reads": hostile_reads,
        "doctor": doctor,
    }
    spec_path = world / "spec.json"
    spec_path.write_text(json.dumps(spec))
    os.chmod(spec_path, 0o644)
    scratch = world / "scratch"
    scratch.mkdir(mode=0o700, exist_ok=True)
    token = f"RS_TOKEN_{uuid.uuid4().hex}"
    done = run_in_mode(
        mode,
        [str(DRIVER), str(spec_path), token],
        scratch,
        env={"HOME": str(home), "RS_SECRET": f"secret-{uuid.uuid4().hex}"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # Nothing written outside, nothing left running (looked at from here, as root).
    assert (home / ".bashrc").read_text() == "# profile\n"
    assert not (home / "pwned").exists()
    survivors = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    survivors.append(int(entry))
            except OSError:
                continue
    assert survivors == [], "a daemon outlived its run"
    return out


def _assert_hostile_fail(out: dict) -> None:
    for name, result in out["attacks"].items():
        if result["status"] == "refused":
            assert "To fix" in result["reason"], (name, result)
        else:
            assert (result["status"], result["value"]) == ("ok", 0.0), (name, result)
    verdicts = {name: (r["verdicts"] or [None])[0] for name, r in out["attacks"].items()}
    if out["refusal"] is None:
        assert verdicts["busy_loop"] == "time_limit"
        assert verdicts["memory_in_children"] == "memory_limit"
        assert verdicts["flood_answers"] == "output_limit"


def _assert_fork_bomb_bounded(out: dict) -> None:
    outcome, stdout = out["fork_bomb"]
    assert outcome == "ok" and int(stdout) <= 32, out["fork_bomb"]


def _assert_honest_pass(out: dict) -> None:
    assert len(out["honest"]) >= 30
    for name, (status, value, reason) in out["honest"].items():
        if status == "refused":
            assert "missing" in reason and "To fix" in reason, (name, reason)
        else:
            assert (status, value) == ("ok", 1.0), (name, status, value, reason)


@pytest.mark.parametrize("mode", ["root", "user"])
def test_isolated_level_holds_where_it_is_met(mode: str, world: Path):
    skip_unless_possible(mode)
    out = _drive(mode, "isolated", world, hostile_reads=True, doctor=mode == "user")
    _assert_hostile_fail(out)
    _assert_honest_pass(out)
    if out["refusal"] is None:
        _assert_fork_bomb_bounded(out)
    if mode == "root" and os.geteuid() == 0:
        assert out["refusal"] is None
    if mode == "user":
        # Only a user namespace: the watchdog bounds the run's memory, and doctor says so.
        assert out["refusal"] is None, out["refusal"]
        assert out["doctor"][0] == 0, out["doctor"][1]
        assert "[on ] memory_watchdog" in out["doctor"][1]


def test_without_user_namespaces_everything_is_refused_with_the_fix(world: Path):
    skip_unless_possible("user_no_userns")
    out = _drive("user_no_userns", "isolated", world, hostile_reads=True, doctor=True)
    assert out["refusal"] is not None
    for requirement in ("isolated filesystem view", "private pid namespace", "no network"):
        assert requirement in out["refusal"]
    assert all(r["status"] == "refused" for r in out["attacks"].values())
    assert all(status == "refused" for status, _, _ in out["honest"].values())
    _assert_hostile_fail(out)
    _assert_honest_pass(out)
    code, text = out["doctor"]
    assert code == 1 and 'level "isolated" (the default) is NOT met' in text
    assert "user namespaces" in text and "trusted-code-only" in text


def test_trusted_code_only_runs_honest_programs_and_keeps_blame_and_cleanup(world: Path):
    skip_unless_possible("user_no_userns")
    out = _drive("user_no_userns", "trusted-code-only", world, hostile_reads=False, doctor=False)
    assert all(status == "ok" for status, _, _ in out["honest"].values())
    _assert_honest_pass(out)
    attacks = out["attacks"]
    for name in attacks:
        assert (attacks[name]["status"], attacks[name]["value"]) == ("ok", 0.0), attacks[name]
    assert attacks["kill_the_zygote"]["verdicts"] == ["runtime_error"]  # blamed on the program
    assert attacks["busy_loop"]["verdicts"] == ["time_limit"]
    assert attacks["memory_in_children"]["verdicts"] == ["memory_limit"]  # the watchdog
    assert attacks["flood_answers"]["verdicts"] == ["output_limit"]
    _assert_fork_bomb_bounded(out)
    provenance = attacks["exit_forgery"]["sandbox"]
    assert provenance["level"] == "trusted-code-only" and "no network" in provenance["unmet"]

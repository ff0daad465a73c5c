"""The audit namespace: one flat list of public names, pinned so removals are deliberate."""

from __future__ import annotations

import rewardsmith.audit as audit

EXPECTED = {
    "CheckReport", "Comparison", "MASTER_KEYS", "MonitorConfig", "MonitorReport", "OveroptFit",
    "ProbeReport", "QAReport", "RMReport", "build_report", "check_file", "check_rows",
    "compare_scores", "compare_specs", "epic_distance", "epic_sampled", "evaluate_rm",
    "evaluate_rm_file", "fit_overoptimization", "logged_scores", "monitor_run", "one_step_epic",
    "one_step_starc", "run_probes", "starc_distance", "verifier_qa", "verifier_qa_file",
    "write_report",
}  # fmt: skip


def test_exported_names_are_pinned() -> None:
    assert set(audit.__all__) == EXPECTED
    for name in audit.__all__:
        assert getattr(audit, name) is not None, name


def test_importing_audit_does_not_import_numpy_eagerly() -> None:
    import subprocess
    import sys

    code = "import sys, rewardsmith.audit, rewardsmith.cli.audit; print('numpy' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr

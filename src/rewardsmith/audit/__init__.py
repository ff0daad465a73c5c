"""Auditing rewards and data: lint data against a spec, benchmark reward models, measure
verifiers, probe for hacks, monitor runs, compare rewards, and write HTML reports.

numpy is needed by the distances, the over-optimization fits and the sample-based estimators
(``pip install 'rewardsmith[audit]'``); everything else runs on the base install.
"""

from rewardsmith.audit.check import CheckReport, check_file, check_rows
from rewardsmith.audit.compare import Comparison, compare_scores, compare_specs, logged_scores
from rewardsmith.audit.distance import (
    epic_distance,
    epic_sampled,
    one_step_epic,
    one_step_starc,
    starc_distance,
)
from rewardsmith.audit.monitor import MonitorConfig, MonitorReport, monitor_run
from rewardsmith.audit.overopt import OveroptFit, fit_overoptimization
from rewardsmith.audit.probes import MASTER_KEYS, ProbeReport, run_probes
from rewardsmith.audit.qa import QAReport, verifier_qa, verifier_qa_file
from rewardsmith.audit.report import build_report, write_report
from rewardsmith.audit.rm import RMReport, evaluate_rm, evaluate_rm_file

__all__ = [
    "MASTER_KEYS",
    "CheckReport",
    "Comparison",
    "MonitorConfig",
    "MonitorReport",
    "OveroptFit",
    "ProbeReport",
    "QAReport",
    "RMReport",
    "build_report",
    "check_file",
    "check_rows",
    "compare_scores",
    "compare_specs",
    "epic_distance",
    "epic_sampled",
    "evaluate_rm",
    "evaluate_rm_file",
    "fit_overoptimization",
    "logged_scores",
    "monitor_run",
    "one_step_epic",
    "one_step_starc",
    "run_probes",
    "starc_distance",
    "verifier_qa",
    "verifier_qa_file",
    "write_report",
]

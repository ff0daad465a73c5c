"""Auditing rewards and data: lint data against a spec (more audits arrive with the audit issue)."""

from rewardsmith.audit.check import CheckReport, check_file, check_rows

__all__ = ["CheckReport", "check_file", "check_rows"]

"""Self-contained HTML reports of runs, with inline SVG charts."""

from rewardsmith.audit.report.html import build_report, write_report

__all__ = ["build_report", "write_report"]

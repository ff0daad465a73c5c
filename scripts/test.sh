#!/usr/bin/env bash
# Install (if needed) and run the checks: ruff lint, mypy on src/, then pytest.
# Extra arguments go to pytest (e.g. `-m slow` for the slow tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests bench
.venv/bin/mypy
.venv/bin/python -m pytest "$@"

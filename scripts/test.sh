#!/usr/bin/env bash
# Install (if needed) at the locked versions and run the checks: the lock covers what is
# installed, ruff lint, mypy on src/, then pytest.
# Extra arguments go to pytest (e.g. `-m slow` for the slow tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python scripts/check_lock.py
# The HTML report test renders in Debian's headless Chromium; install it when we can.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
        || echo "warning: could not install chromium; the browser test will skip" >&2
fi
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
.venv/bin/python -m pytest "$@"

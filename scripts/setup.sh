#!/usr/bin/env bash
# Create .venv in the repository root and install rewardsmith with every extra the test suite
# exercises. Safe to run again: an existing .venv is reused and only missing packages install.
# torch is pinned to 2.13.0 (a CPU build pip finds on this machine's disk) by the extras that need it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
EXTRAS="${REWARDSMITH_EXTRAS:-math,text,instructions,audit,gym,rm,judge,serve,ray,test-trl,test-serve,dev}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[${EXTRAS}]"

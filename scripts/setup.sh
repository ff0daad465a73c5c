#!/usr/bin/env bash
# Create .venv in the repository root and install rewardsmith with every extra the test suite
# and the benchmarks use, at exactly the versions in requirements.lock (what CI last passed
# with; `bash scripts/lock.sh` refreshes it). Safe to run again: an existing .venv is reused and
# brought to the locked versions. torch is 2.13.0, the CPU build pip finds on this machine's disk.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/extras.sh
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
EXTRAS="${REWARDSMITH_EXTRAS:-$DEFAULT_EXTRAS}"
PIP=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
"${PIP[@]}" install -c requirements.lock pip
"${PIP[@]}" install -c requirements.lock -e ".[${EXTRAS}]"
if [ -z "${REWARDSMITH_EXTRAS:-}" ]; then
    "${PIP[@]}" install -c requirements.lock --no-deps "${NO_DEPS_PACKAGES[@]}"
fi

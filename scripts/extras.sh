# What a development checkout installs (sourced by setup.sh and lock.sh, so the lock always
# covers exactly what setup installs). Users who install the package pick their own extras.
DEFAULT_EXTRAS="math,text,instructions,audit,gym,rm,vlm,judge,serve,ray,bench,bench-parity,test-trl,test-serve,dev"
# Peers whose code the tests and benches call but whose own dependencies cannot be installed
# here (GPU stacks, numpy 1.x pins): installed WITHOUT dependencies, with the few pure-Python
# modules their reward paths import (pyproject's `test-peers` extra documents the set).
NO_DEPS_PACKAGES=(
    "verl==0.9.1" "openrlhf==0.11.2" "tensordict==0.15.3" "pyvers==0.2.3" "omegaconf==2.4.0"
    "codetiming==1.4.0" "orjson==3.13.0" "pylatexenc==2.11" "bfcl-eval==2026.3.23"
)

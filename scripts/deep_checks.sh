#!/usr/bin/env bash
# The exhaustive sweeps the README's test command samples (docs/verification.md, "Default and
# deep test runs"): 500 random mutants per domain through `check`, 40 task-level mutants per
# domain through `check --mutate`, every Z3-against-runtime
# evaluation of the shipped tasks (known and unknown state), and 24 synthesised tasks per domain
# played in tau2-bench's own evaluator. About an hour of CPU; extra pytest arguments pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
EIGENDSL_DEEP=1 exec "$PYTHON" -m pytest -q -n 2 --dist loadfile --durations=20 \
  tests/test_robustness.py tests/test_semantics_agree.py tests/test_tau2_export.py tests/test_check_mutate_files.py "$@"

#!/usr/bin/env bash
# The README's test command while other processes keep every core busy (issue 19: the suite
# must pass on a loaded machine; hang guards count CPU time, not wall time). Runs it RUNS times
# (default 3) and stops at the first failure. The load: one busy-looping Python per core, ended
# by their ids when the script exits. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
RUNS="${RUNS:-3}"
burners=()
stop_load() { for pid in "${burners[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_load EXIT
for _ in $(seq "$(nproc)"); do
  "$PYTHON" -c "while True: pass" &
  burners+=("$!")
done
echo "load: ${#burners[@]} busy processes (${burners[*]})"
for run in $(seq "$RUNS"); do
  echo "run $run of $RUNS: $(date -u +%H:%M:%S)"
  "$PYTHON" -m pytest -q -n 2 --dist loadfile "$@"
done
echo "the suite passed $RUNS time(s) in a row with every core loaded"

#!/usr/bin/env bash
# Train a tiny model on synthesized airline tasks on a laptop CPU and score it on held-out ones.
#
#   scripts/laptop_airline.sh OUT
#
# Stages: synth (training tasks, seed 0; held-out tasks, seed 1), SFT of tiny:hidden=128 on the
# oracle's dialogues, eval, GRPO on the training tasks' episodes, eval. Both evals use the same
# held-out tasks, the scripted user and greedy decoding. The proof covers airline's
# single-request tasks only (one change, refusal or transfer per task: scripts/laptop_tasks.py);
# two-request tasks (`/compose` plans) are left out of training and scoring alike, as
# docs/benchmarks.md says. Settings: examples/train/laptop_airline.toml. Every stage resumes or
# skips when rerun with the same OUT. The last line is `pass^1 sft=X grpo=Y`; the models stay in
# OUT/sft/final and OUT/grpo/final. PYTHON picks the interpreter (default: python);
# TORCH_THREADS the threads (default 2).
set -euo pipefail

OUT=${1:?usage: scripts/laptop_airline.sh OUT}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=${TORCH_THREADS:-2}
CONFIG="$ROOT/examples/train/laptop_airline.toml"
TARGET="$ROOT/compiled/airline"
HELDOUT_TASKS=24   # held-out episodes per eval: ~5 minutes each on the dev machine
mkdir -p "$OUT"
cli() { "$PY" -m eigendsl.cli "$@"; }
stage() { echo "[$(date -u +%H:%M:%S)] $*"; }
START=$(date +%s)

stage "synth: training tasks (seed 0) and held-out tasks (seed 1)"
cli synth "$TARGET" --seed 0 --tasks 300 --dialogues 2 --workers 1 --out "$OUT/train_tasks" --no-progress | tail -3
cli synth "$TARGET" --seed 1 --tasks 60 --dialogues 1 --workers 1 --out "$OUT/heldout_tasks" --no-progress | tail -3
"$PY" "$ROOT/scripts/laptop_tasks.py" sft "$OUT/train_tasks/sft.jsonl" "$OUT/train_tasks/single.jsonl"
"$PY" "$ROOT/scripts/laptop_tasks.py" tasks "$OUT/train_tasks" "$OUT/train_tasks/tasks/single.eig"
"$PY" "$ROOT/scripts/laptop_tasks.py" tasks "$OUT/heldout_tasks" "$OUT/heldout_tasks/tasks/single.eig" \
    --unlike "$OUT/train_tasks" --limit "$HELDOUT_TASKS"

# The eval's agent: at most 96 tokens a turn (the oracle's longest turn is ~90), 40 messages,
# 3 failed tool calls (the oracle makes none; a model that writes broken calls would otherwise
# spend 10 turns of 96 tokens on each task, 40 s an episode on this CPU).
printf 'max_steps = 40\nmax_errors = 3\n[agent]\nmax_new_tokens = 96\n' > "$OUT/eval.toml"
evaluate() {  # MODEL RESULTS: held-out pass^1 of MODEL, resumed from RESULTS if it is there
    cli eval "$TARGET" --tasks "$OUT/heldout_tasks/tasks/single.eig" --agent "hf:$1" --config "$OUT/eval.toml" \
        --out "$2" --no-progress | grep -E "pass\^1|ended by" >&2
    "$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['summary']['pass_hat_k']['1'])" "$2"
}

stage "sft"
cli train "$TARGET" --model tiny:hidden=128,layers=2,heads=4,vocab=2000 --stage sft \
    --data "$OUT/train_tasks/single.jsonl" --out "$OUT/sft" --config "$CONFIG" 2>&1 | grep -v "it/s\]\|examples/s\]" | tail -3
stage "eval sft"
SFT=$(evaluate "$OUT/sft/final" "$OUT/eval_sft.json")

stage "grpo"
cli train "$TARGET" --model "$OUT/sft/final" --stage grpo --tasks "$OUT/train_tasks/tasks/single.eig" \
    --out "$OUT/grpo" --config "$CONFIG" 2>&1 | grep -v "it/s\]\|examples/s\]" | tail -3
stage "eval grpo"
GRPO=$(evaluate "$OUT/grpo/final" "$OUT/eval_grpo.json")

stage "done in $(( ($(date +%s) - START) / 60 )) minutes"
echo "pass^1 sft=$SFT grpo=$GRPO"

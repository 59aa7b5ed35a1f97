#!/usr/bin/env bash
# GPU check of `eigendsl train`: a short GRPO run whose policy generates with vLLM (TRL's
# colocate mode) on a small randomly initialised model, on the tiny shop of the tests.
# Prints rollout throughput and reward per step; exits non-zero on any failure.
#
#   pip install -e ".[train,gpu]"     # once, on the GPU machine
#   bash scripts/gpu_check.sh         # about 3-5 minutes on one GPU
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
WORK=${WORK:-$(mktemp -d /tmp/eigendsl_gpu_check.XXXXXX)}
export PYTHONPATH=$PWD TRL_EXPERIMENTAL_SILENCE=1
echo "gpu_check: work folder $WORK"

"$PY" - <<'PYEOF'
import sys
try:
    import torch, vllm, trl, transformers
except ImportError as e:
    sys.exit(f"gpu_check: {e.name} is missing; install with: pip install -e '.[train,gpu]'")
if not torch.cuda.is_available():
    sys.exit("gpu_check: no CUDA device is visible")
print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, vllm {vllm.__version__}, "
      f"trl {trl.__version__}, transformers {transformers.__version__}")
PYEOF

cat > "$WORK/train.toml" <<'TOML'
[sft]
learning_rate = 3e-3
max_steps = 150
per_device_train_batch_size = 16
save_steps = 1000
bf16 = true

[grpo]
learning_rate = 5e-4
max_steps = 5
num_generations = 8
per_device_train_batch_size = 32
temperature = 1.0
max_turn_tokens = 48
save_steps = 5
bf16 = true
use_vllm = true
vllm_mode = "colocate"
vllm_gpu_memory_utilization = 0.2
TOML

LAUNCH=("$PY" -m accelerate.commands.launch --config_file configs/accelerate/single_gpu.yaml -m eigendsl.cli)
# SFT first so that rewards are not all zero; then GRPO with vLLM colocate.
"${LAUNCH[@]}" train tests/data/tinyshop.eig --model tiny:hidden=256,layers=4,heads=4 --out "$WORK/sft" \
  --config "$WORK/train.toml"
"${LAUNCH[@]}" train tests/data/tinyshop.eig --tasks tests/data/tinyshop_rl.eig --stage grpo \
  --model "$WORK/sft/final" --out "$WORK/grpo" --config "$WORK/train.toml"

"$PY" - "$WORK/grpo/metrics.jsonl" <<'PYEOF'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
if [r["step"] for r in records] != list(range(1, 6)):
    sys.exit(f"gpu_check: expected metrics for steps 1-5, found {[r['step'] for r in records]}")
for r in records:
    t = r["time"]
    rollout_s = t["generation"] + t["environment"] + t["user"] + t["orchestration"]
    outside = (rollout_s - t["generation"]) / rollout_s if rollout_s else 0.0
    print(f"step {r['step']}: reward {r['reward']:.3f} pass {r['pass_rate']:.3f} filtered {r['filtered_fraction']:.2f} "
          f"rollouts/s {r['rollouts'] / rollout_s:.1f} outside generation {100 * outside:.2f}% "
          f"training {t['training']:.1f}s")
PYEOF
test -f "$WORK/grpo/final/config.json" || { echo "gpu_check: no final model"; exit 1; }
"$PY" -m eigendsl.cli eval tests/data/tinyshop.eig --tasks tests/data/tinyshop_heldout.eig \
  --agent "hf:$WORK/grpo/final" --out "$WORK/eval.json" --no-progress
echo "gpu_check: ok"

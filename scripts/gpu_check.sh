#!/usr/bin/env bash
# What one GPU without network proves about `eigendsl train` (benchmarks/gpu_check.py says each
# check): bf16 generation, airline SFT (20 steps) and GRPO (3 steps) on a random Qwen2.5-0.5B-shaped
# model with TRL's Qwen2.5 template, sampled against recomputed log-probs, the peak memory of a
# 16k-token micro-batch, and, where vLLM is installed, colocated GRPO with TRL's importance-sampling
# ratio in [0.9, 1.1]. One summary line per check; exits non-zero on any failure.
#
#   bash scripts/gpu_check.sh          # one GPU; about 6-7 minutes on an H100 (an estimate: not yet run on one)
#   bash scripts/gpu_check.sh --cpu    # the same steps at toy sizes on a CPU (bf16, memory and vLLM skipped)
#   WORK=/tmp/gc bash scripts/gpu_check.sh   # keep the models, runs and logs there
#   bash scripts/gpu_check.sh --missing       # what to carry in as wheels on a machine without network (docs/training.md)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
WORK=${WORK:-$(mktemp -d /tmp/eigendsl_gpu_check.XXXXXX)}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} TRL_EXPERIMENTAL_SILENCE=1 TOKENIZERS_PARALLELISM=false
exec "$PY" benchmarks/gpu_check.py "$WORK" "$@"

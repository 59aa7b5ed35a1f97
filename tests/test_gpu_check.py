"""scripts/gpu_check.sh --cpu: every check of the GPU check runs at toy sizes on the CPU and
prints its summary line; those that need a GPU say they were skipped; the exit status is 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

pytest.importorskip("trl")

CHECKS = ["env", "model", "generate", "sft", "grpo", "logprobs", "vllm", "memory"]


@pytest.mark.slow  # about a minute here: two `eigendsl train` runs in their own processes
def test_the_gpu_check_runs_at_toy_sizes_on_the_cpu(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "WORK": str(tmp_path), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--cpu"], env=env, capture_output=True,
                          text=True, timeout=600)
    lines = {m.group(1): (m.group(2), m.group(3)) for m in
             re.finditer(r"^gpu_check: (\w+): (ok|FAIL|skipped): (.*)$", done.stdout, re.M)}
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert list(lines) == CHECKS
    assert {name for name, (status, _) in lines.items() if status != "ok"} == {"vllm"}
    assert lines["vllm"] == ("skipped", "no GPU")
    assert "Qwen2" in lines["model"][1] and "2 steps, loss" in lines["sft"][1]
    assert re.search(r"tokens x 8 new: [\d.]+ tokens/s", lines["generate"][1])
    gap = re.search(r"per token max ([\d.e+-]+)", lines["logprobs"][1])
    assert gap and float(gap.group(1)) < 1e-3  # fp32: sampled and recomputed agree to rounding
    assert lines["memory"][1].startswith("forward+backward of 512 tokens")
    assert re.search(r"^gpu_check: ok in \d+s \(cpu mode", done.stdout, re.M)
    assert (tmp_path / "grpo" / "final" / "config.json").is_file()

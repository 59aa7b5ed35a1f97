"""Two training processes on a CPU: GRPO on the tiny shop writes one metrics line per step, plays
different tasks on each rank and saves one final model.

accelerate 1.15 starts one process for `--cpu --num_processes 2` unless given an MPI hostfile;
`--multi_gpu --num_processes 2` on a machine without a GPU starts two through torchrun, which
train on the CPU over gloo (docs/training.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

TINYSHOP = ROOT / "tests" / "data" / "tinyshop.eig"
CONFIG = """
[grpo]
learning_rate = 1e-3
max_steps = 3
num_generations = 4
per_device_train_batch_size = 4   # one group of 4 episodes per process per step
max_turn_tokens = 16
max_episode_steps = 6
max_completion_length = 256
refill_rounds = 1
save_steps = 100
"""


@pytest.mark.slow
def test_two_processes_on_a_cpu_train_grpo_once(tmp_path):
    pytest.importorskip("trl")
    config = tmp_path / "train.toml"
    config.write_text(CONFIG)
    out = tmp_path / "run"
    accelerate = Path(sys.executable).parent / "accelerate"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    command = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "-m", "eigendsl", "train", str(TINYSHOP), "--stage", "grpo",
               "--model", "tiny:hidden=32", "--out", str(out), "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3]  # one line per step, not one per process
    for r in lines:
        assert len(r["task_ids"]) == 2 and r["task_ids"][0] != r["task_ids"][1]  # each rank its own group
        assert r["rollouts"] >= 8 and 0 <= r["reward"] <= 1
    assert (out / "final" / "config.json").is_file() and (out / "run.json").is_file()
    assert [p.name for p in out.iterdir() if p.name.startswith("final")] == ["final"]
    assert result.stdout.count("trained grpo on") == 2  # each process prints its own summary of the one run

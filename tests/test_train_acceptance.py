"""Acceptance of `eigendsl train`: a tiny model trained from scratch on the CPU learns the tiny shop.

SFT on the oracle dialogues of the tiny shop's own tasks must reach pass^1 >= 0.5 on the
held-out tasks (orders no training task names), measured with `eigendsl eval --agent hf:`;
GRPO on the separate RL tasks must then raise it by at least 0.15. Everything runs through
the command line, as a user would run it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

DATA = ROOT / "tests" / "data"
EIGENDSL = Path(sys.executable).parent / "eigendsl"
CONFIG = ROOT / "examples" / "train" / "tiny.toml"


def run(*args: str, cwd: Path) -> str:
    result = subprocess.run([str(EIGENDSL), *args], capture_output=True, text=True, cwd=cwd, timeout=600)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.stdout


def held_out_pass(model: Path, tmp_path: Path, name: str) -> float:
    (tmp_path / "eval.toml").write_text("[agent]\nmax_new_tokens = 32\n")
    out = tmp_path / f"{name}.json"
    run("eval", str(DATA / "tinyshop.eig"), "--tasks", str(DATA / "tinyshop_heldout.eig"), "--agent", f"hf:{model}",
        "--config", str(tmp_path / "eval.toml"), "--out", str(out), "--no-progress", cwd=tmp_path)
    summary = json.loads(out.read_text())["summary"]
    assert summary["episodes"] == 20
    return summary["pass_hat_k"]["1"]


@pytest.mark.slow
def test_sft_then_grpo_on_a_tiny_model_from_scratch(tmp_path):
    pytest.importorskip("trl")
    run("train", str(DATA / "tinyshop.eig"), "--model", "tiny:", "--out", str(tmp_path / "sft"), "--config", str(CONFIG),
        cwd=tmp_path)
    after_sft = held_out_pass(tmp_path / "sft" / "final", tmp_path, "sft")
    assert after_sft >= 0.5, f"pass^1 after SFT {after_sft}"
    run("train", str(DATA / "tinyshop.eig"), "--tasks", str(DATA / "tinyshop_rl.eig"), "--stage", "grpo",
        "--model", str(tmp_path / "sft" / "final"), "--out", str(tmp_path / "grpo"), "--config", str(CONFIG), cwd=tmp_path)
    metrics = [json.loads(line) for line in (tmp_path / "grpo" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == list(range(1, len(metrics) + 1)) and metrics
    assert all(0 <= m["filtered_fraction"] <= 1 and m["time"]["generation"] > 0 for m in metrics)
    after_grpo = held_out_pass(tmp_path / "grpo" / "final", tmp_path, "grpo")
    print(f"held-out pass^1: after SFT {after_sft:.2f}, after GRPO {after_grpo:.2f}")
    assert after_grpo >= after_sft + 0.15, f"pass^1 after SFT {after_sft}, after GRPO {after_grpo}"

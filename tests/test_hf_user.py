"""`eval --user hf:PATH`: a user model trained by `train --stage user-sft` plays the user in eval."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

TINYSHOP = ROOT / "tests" / "data" / "tinyshop.eig"
EIGENDSL = Path(sys.executable).parent / "eigendsl"
TASKS = ["sft-cancel-35", "sft-hold-37"]


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(EIGENDSL), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.slow  # about a minute and a half: trains a user model
def test_a_trained_user_model_plays_the_user_in_eval(tmp_path):
    pytest.importorskip("trl")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from eigendsl.compiler import load_domain
    from eigendsl.episode.episode import GREETING
    from eigendsl.episode.users import scenario_system

    (tmp_path / "train.toml").write_text("[sft]\nlearning_rate = 3e-3\nmax_steps = 30\nsave_steps = 100\n")
    trained = cli("train", TINYSHOP, "--stage", "user-sft", "--model", "tiny:", "--out", tmp_path / "user",
                  "--config", tmp_path / "train.toml", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]
    model_dir = tmp_path / "user" / "final"
    (tmp_path / "eval.toml").write_text("[user]\nmax_new_tokens = 24\n")
    out = tmp_path / "eval.json"
    ran = cli("eval", TINYSHOP, "--user", f"hf:{model_dir}", "--config", tmp_path / "eval.toml", "--task-ids",
              ",".join(TASKS), "--max-steps", 8, "--out", out, "--no-progress", cwd=tmp_path)
    assert ran.returncode == 0 and "Traceback" not in ran.stderr, ran.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["config"]["user"] == {"kind": "hf", "path": str(model_dir), "max_new_tokens": 24}
    episodes = sorted(results["episodes"], key=lambda e: e["task_id"])
    assert [e["task_id"] for e in episodes] == TASKS

    # Every user turn is the model's: it carries the model's token counts, and the opening is
    # what the model generates, greedily, from the scenario and the agent's greeting.
    domain = load_domain(TINYSHOP)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    for episode in episodes:
        user_turns = [m for m in episode["messages"] if m["role"] == "user"]
        assert user_turns and all(m["usage"]["completion_tokens"] > 0 for m in user_turns)
        assert episode["tokens"]["user"]["completion"] == sum(m["usage"]["completion_tokens"] for m in user_turns)
        task = next(t for t in domain.ir.tasks if t.id == episode["task_id"])
        prompt = tokenizer.apply_chat_template([scenario_system(task), {"role": "user", "content": GREETING}],
                                               tools=domain.tool_schemas("user") or None, add_generation_prompt=True,
                                               tokenize=False)
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            generated = model.generate(**ids, max_new_tokens=24, do_sample=False, pad_token_id=tokenizer.pad_token_id)
        opening = tokenizer.decode(generated[0][ids["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        assert user_turns[0]["content"] == opening


@pytest.mark.parametrize("spec, said", [
    ("hf:/nonexistent/user", "error: no model folder at /nonexistent/user"),
    ("hf:", "error: the hf user needs a model folder: --user hf:PATH"),
    ("hf:TMP", "error: TMP is not a transformers model folder (it has no config.json)"),
])
def test_a_bad_user_model_path_is_one_clear_error(tmp_path, spec, said):
    spec, said = spec.replace("TMP", str(tmp_path)), said.replace("TMP", str(tmp_path))
    result = cli("eval", TINYSHOP, "--user", spec, "--out", tmp_path / "r.json", "--no-progress", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.strip() == said, result.stderr

"""Training settings: the [STAGE.trl] tables go to TRL as they are, batch sizes are checked as TRL
checks them (and for whole groups per process), and every shipped config starts as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from eigendsl.train.config import TrainError, load_config

trl = pytest.importorskip("trl")

# the processes each shipped config is launched with (docs/training.md)
SHIPPED = {"tiny.toml": 1, "laptop_airline.toml": 1, "quick.toml": 1, "small.toml": 1, "node.toml": 8, "node_server.toml": 6}


def config(tmp_path: Path, text: str):
    path = tmp_path / "train.toml"
    path.write_text(text)
    return load_config(path)


def test_every_shipped_config_is_known_here():
    assert {p.name for p in (ROOT / "examples" / "train").glob("*.toml")} == set(SHIPPED)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_config_passes_trls_own_validation(tmp_path, name):
    from trl import SFTConfig

    from eigendsl.train.config import trl_arguments
    from eigendsl.train.grpo import grpo_arguments

    settings = load_config(ROOT / "examples" / "train" / name)
    processes = SHIPPED[name]
    args = grpo_arguments(settings.grpo, tmp_path, n_processes=processes)  # TRL's GRPOConfig, built
    local = args.per_device_train_batch_size * args.steps_per_generation
    assert local % settings.grpo.num_generations == 0  # each process plays whole groups
    assert args.vllm_importance_sampling_mode == settings.grpo.vllm_importance_sampling_mode
    SFTConfig(output_dir=str(tmp_path), **trl_arguments("sft", settings.sft, SFTConfig), use_cpu=True)
    if processes > 1:  # the 8-GPU configs: one long episode per forward pass, a group of 64 per process
        assert args.per_device_train_batch_size == 1 and args.activation_checkpointing and args.bf16
        assert local == 64 and args.vllm_max_model_length >= settings.grpo.max_completion_length + 4096
        assert local * processes == 64 * processes  # 8 (or 6) tasks x G=64 per optimiser step


def test_trl_table_reaches_grpo_config(tmp_path):
    from eigendsl.train.grpo import grpo_arguments

    s = config(tmp_path, "[grpo]\nnum_generations = 8\nper_device_train_batch_size = 2\n"
                         "[grpo.trl]\nsteps_per_generation = 4\nmask_truncated_completions = true\n"
                         "vllm_max_model_length = 9000\nvllm_importance_sampling_mode = \"token_mask\"\n").grpo
    with pytest.raises(TrainError, match=r"\[grpo.trl\] vllm_importance_sampling_mode: a setting of \[grpo\] itself"):
        grpo_arguments(s, tmp_path)
    s.trl.pop("vllm_importance_sampling_mode")
    args = grpo_arguments(s, tmp_path)
    assert (args.steps_per_generation, args.generation_batch_size) == (4, 8)
    assert args.mask_truncated_completions and args.vllm_max_model_length == 9000
    assert args.vllm_importance_sampling_mode == "token_truncate"  # the default, per token (docs/training.md)


@pytest.mark.parametrize("text, message", [
    ("[grpo.trl]\nsteps_per_generaton = 4\n", "[grpo.trl] steps_per_generaton: not a field of TRL's GRPOConfig"),
    ("[grpo.trl]\nmax_turn_tokens = 4\n", "[grpo.trl] max_turn_tokens: max_turn_tokens is eigendsl's own setting"),
    ("[grpo.trl]\nbeta = 0.2\n", "[grpo.trl] beta: a setting of [grpo] itself; set it there"),
    ("[grpo.trl]\noutput_dir = \"x\"\n", "[grpo.trl] output_dir: eigendsl sets output_dir itself"),
    ("[grpo]\nnum_generations = 8\nper_device_train_batch_size = 4\n",
     "= 4 prompts per generation; make it a multiple of 8 (e.g. [grpo.trl] steps_per_generation = 2)"),
    ("[grpo]\nnum_generations = 8\nper_device_train_batch_size = 1\n[grpo.trl]\nsteps_per_generation = 8\n"
     "generation_batch_size = 8\n", "TRL's GRPOConfig refuses these settings: 'generation_batch_size' and"),
    ("[grpo]\nnum_generations = 2\nper_device_train_batch_size = 2\n[grpo.trl]\n"
     "vllm_importance_sampling_clip_max = 0.5\nvllm_importance_sampling_clip_min = 0.9\n", "must be less than"),
])
def test_bad_trl_settings_are_one_sentence(tmp_path, text, message):
    from eigendsl.train.grpo import grpo_arguments

    with pytest.raises(TrainError) as caught:
        grpo_arguments(config(tmp_path, text).grpo, tmp_path)
    assert message in str(caught.value)


def test_batch_check_counts_steps_per_generation_not_the_per_device_batch(tmp_path):
    from eigendsl.train.grpo import check_groups, grpo_arguments

    # one long episode per forward pass and a group of 16 per process: refused by the old check
    s = config(tmp_path, "[grpo]\nnum_generations = 16\nper_device_train_batch_size = 1\n"
                         "gradient_accumulation_steps = 16\n").grpo
    assert grpo_arguments(s, tmp_path).generation_batch_size == 16
    check_groups({"per_device_train_batch_size": 1, "gradient_accumulation_steps": 1, "generation_batch_size": 32}, 16, 2)
    with pytest.raises(TrainError, match="= 8 prompts per generation"):  # 32 over 4 processes: half a group each
        check_groups({"per_device_train_batch_size": 1, "gradient_accumulation_steps": 1, "generation_batch_size": 32}, 16, 4)


def test_the_importance_sampling_mode_is_one_trl_accepts(tmp_path):
    with pytest.raises(TrainError, match="setting grpo.vllm_importance_sampling_mode"):
        config(tmp_path, "[grpo]\nvllm_importance_sampling_mode = \"per_token\"\n")
    from typing import get_args

    from eigendsl.train.config import GRPOSettings

    modes = get_args(GRPOSettings.model_fields["vllm_importance_sampling_mode"].annotation)
    source = (Path(trl.__file__).parent / "trainer" / "grpo_trainer.py").read_text()
    assert all(f'"{m}"' in source for m in modes)  # each is a mode TRL's trainer handles


def test_lora_is_merged_from_the_saved_adapter_into_the_base(tmp_path):
    # final/ is the base model with the adapter merged, built from the adapter as saved (gathered
    # from every process) rather than from the weights in training, which may be shards
    import subprocess
    import sys

    from transformers import AutoModelForCausalLM

    path = tmp_path / "train.toml"
    path.write_text("[sft]\nlearning_rate = 1e-2\nmax_steps = 2\nper_device_train_batch_size = 4\nsave_steps = 10\n"
                    "[sft.trl]\nlogging_first_step = true\n[lora]\nr = 4\nlora_alpha = 8\n")
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "eigendsl", "train", str(ROOT / "tests" / "data" / "tinyshop.eig"),
                             "--model", "tiny:hidden=32", "--out", str(out), "--config", str(path)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    final = AutoModelForCausalLM.from_pretrained(out / "final")
    base = AutoModelForCausalLM.from_pretrained(out / "base")
    assert not any("lora" in name for name in final.state_dict())
    changed = [n for n, w in final.state_dict().items() if not (w == base.state_dict()[n]).all()]
    assert changed and all("proj" in n for n in changed)  # the adapted linear layers, merged
    assert (out / "adapter" / "adapter_config.json").is_file()


def test_set_ups_whose_generation_would_hang_are_refused():
    from types import SimpleNamespace

    from eigendsl.train.config import GRPOSettings
    from eigendsl.train.grpo import refuse_unsafe

    def trainer(processes, fsdp=False, zero=None, tp=1):
        plugin = SimpleNamespace(zero_stage=zero)
        return SimpleNamespace(accelerator=SimpleNamespace(num_processes=processes, state=SimpleNamespace(deepspeed_plugin=plugin)),
                               is_fsdp_enabled=fsdp, is_deepspeed_enabled=zero is not None,
                               args=SimpleNamespace(vllm_tensor_parallel_size=tp))

    plain, colocate = GRPOSettings(), GRPOSettings(use_vllm=True)
    refuse_unsafe(trainer(1, fsdp=True), plain)  # one process: nothing to wait on
    refuse_unsafe(trainer(8, zero=2), plain)
    refuse_unsafe(trainer(8, zero=3), colocate)
    refuse_unsafe(trainer(6, zero=3), GRPOSettings(use_vllm=True, vllm_mode="server"))  # each rank asks the server itself
    for bad, settings in [(trainer(8, zero=3), plain), (trainer(8, fsdp=True), plain), (trainer(8, tp=2), colocate)]:
        with pytest.raises(TrainError, match="hang|wait on forever"):
            refuse_unsafe(bad, settings)

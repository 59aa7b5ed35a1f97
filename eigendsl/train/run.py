"""`eigendsl train`: resolve the model, the data or tasks and the settings, run a stage, resume.

Outputs in DIR: `checkpoint-N/` (TRL's), `metrics.jsonl`, `run.json` (what the run is), and
`final/`, a model folder that `eigendsl eval --agent hf:DIR/final` loads. Rerunning the same
command resumes from the last checkpoint.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

from .. import ir
from ..files import make_folder
from ..runtime.environment import CompiledDomain
from .config import TrainConfig, TrainError

STAGES = ("sft", "user-sft", "grpo")


def last_checkpoint(out: Path) -> tuple[str | None, int]:
    steps = [(int(m.group(1)), p) for p in out.glob("checkpoint-*") if (m := re.fullmatch(r"checkpoint-(\d+)", p.name))
             and (p / "trainer_state.json").is_file()]
    if not steps:
        return None, 0
    step, path = max(steps)
    return str(path), step


def corpus(domain: CompiledDomain, dialogues: list[dict]) -> list[str]:
    """Text for a tiny model's tokenizer: the policy, the tools, the data and the dialogues' words."""
    texts = [domain.policy_text, json.dumps(domain.tool_schemas("agent")), json.dumps(domain.tool_schemas("user")),
             json.dumps(domain.base.roots)[:1_000_000]]
    for d in dialogues:
        for m in d["messages"]:
            texts.append(m.get("content") or "")
            texts += [json.dumps(c) for c in m.get("tool_calls") or []]
    return texts


def load_tokenizer(path: str, template: str | None = None):
    """The model's tokenizer, with TEMPLATE (a Jinja chat template's text) as its chat template
    when given; one that does not render a short conversation is refused."""
    from transformers import AutoTokenizer

    from ..episode.local import DEFAULT_TEMPLATE

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise TrainError(f"cannot load a tokenizer from {path}: {e}") from None
    if template is not None:
        tokenizer.chat_template = template
        try:
            tokenizer.apply_chat_template([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
                                          tokenize=False, add_generation_prompt=True)
        except Exception as e:  # jinja2's syntax and undefined errors, the template's raise_exception
            first = next((line for line in str(e).splitlines() if line.strip()), type(e).__name__)
            raise TrainError(f"--chat-template: the template does not render a conversation: {first}") from None
    if getattr(tokenizer, "chat_template", None) is None:
        tokenizer.chat_template = DEFAULT_TEMPLATE
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def check_model(spec: str) -> None:
    """A bad --model fails before anything heavy is imported or DIR is claimed."""
    if spec.startswith("tiny:"):
        from .tiny import parse_spec

        parse_spec(spec)
    elif not (Path(spec) / "config.json").is_file():
        raise TrainError(f"--model {spec}: not a model folder (no config.json) and not a tiny: spec")


def resolve_model(spec: str, out: Path, domain: CompiledDomain, dialogues: list[dict]) -> str:
    """A model folder: SPEC itself, or a tiny random model built into DIR/base for `tiny:...`."""
    check_model(spec)
    if spec.startswith("tiny:"):
        base = out / "base"
        if not (base / "config.json").is_file():
            from .tiny import build_tiny_model, data_ids

            build_tiny_model(base, corpus(domain, dialogues), spec, data_ids(domain.base.roots))
        return str(base)
    return spec


def is_main() -> bool:
    """Whether this is the launch's main process (accelerate launch sets RANK; a plain run is)."""
    return os.environ.get("RANK", "0") in ("", "0")


@contextmanager
def main_first():
    """The main process does the body first (writing run.json, building a tiny model), the others after."""
    if int(os.environ.get("WORLD_SIZE", "1") or 1) == 1:
        yield
        return
    from accelerate import PartialState

    with PartialState().main_process_first():
        yield


def check_run(out: Path, identity: dict) -> None:
    """DIR holds one run: refuse to resume a different one into it. Only the main process writes."""
    record = out / "run.json"
    if record.is_file():
        try:
            before = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise TrainError(f"{record} is damaged, so what {out} holds is unknown; use another --out or delete it") from None
        if not isinstance(before, dict):
            raise TrainError(f"{record} is damaged, so what {out} holds is unknown; use another --out or delete it")
        if before != identity and (last_checkpoint(out)[0] is not None or (out / "final").is_dir()):
            changed = ", ".join(k for k in identity if before.get(k) != identity[k])
            raise TrainError(f"{out} holds another run (different {changed}); use another --out or delete it")
        if before != identity and is_main():  # a run that stopped before its first checkpoint: nothing to keep
            shutil.rmtree(out / "base", ignore_errors=True)  # a tiny model built for the other run's spec
            (out / "metrics.jsonl").unlink(missing_ok=True)
    if not is_main():
        return
    try:
        make_folder(out)
        record.write_text(json.dumps(identity, indent=1) + "\n")
    except OSError as e:
        raise TrainError(f"cannot use {out} for the run: {e.strerror or e}") from None


def train(domain: CompiledDomain, tasks: list[ir.TaskDef], model: str, out: Path, stage: str, config: TrainConfig,
          data: str | None, identity: dict, template: str | None = None) -> dict:
    """Run STAGE into OUT (resuming when OUT has a checkpoint); a summary of what was done."""
    from .data import oracle_dialogues, read_dialogues
    from .metrics import MetricsLog

    if stage not in STAGES:
        raise TrainError(f"unknown stage {stage!r}; use one of {', '.join(STAGES)}")
    final = out / "final"
    if (final / "config.json").is_file() and (out / "run.json").is_file():
        check_run(out, identity)
        return {"stage": stage, "final": str(final), "resumed_from": None, "already_done": True}
    dialogues: list[dict] = []  # read before DIR is claimed, so that a bad file leaves no run behind
    if stage != "grpo":
        dialogues = read_dialogues(data) if data else oracle_dialogues(domain, tasks, "agent" if stage == "sft" else "user")
    check_model(model)
    check_settings(stage, config, out)
    with main_first():  # run.json, the metrics kept and a tiny model: written once, by the main process
        check_run(out, identity)
        model_path = resolve_model(model, out, domain, dialogues or oracle_dialogues(domain, tasks))
        resume, step = last_checkpoint(out)
        metrics = MetricsLog(out / "metrics.jsonl")
        if is_main():
            metrics.resume_at(step)
    tokenizer = load_tokenizer(model_path, template)
    if stage == "grpo":
        from .grpo import train_grpo

        trainer = train_grpo(model_path, tokenizer, domain, tasks, out, config.grpo, config.lora, resume, metrics)
    else:
        from .sft import train_sft

        trainer = train_sft(model_path, tokenizer, dialogues, out, config.sft, config.lora, resume, metrics)
    save_final(trainer, tokenizer, final, model_path)
    return {"stage": stage, "final": str(final), "resumed_from": resume, "already_done": False,
            "steps": trainer.state.global_step, "dialogues": len(dialogues), "tasks": len(tasks)}


def check_settings(stage: str, config: TrainConfig, out: Path) -> None:
    """The stage's settings as TRL will take them, checked before DIR is claimed."""
    if stage == "grpo":
        from .grpo import grpo_arguments

        grpo_arguments(config.grpo, out)
    else:
        from trl import SFTConfig

        from .config import trl_arguments

        trl_arguments("sft", config.sft, SFTConfig)


def save_final(trainer, tokenizer, final: Path, base: str) -> None:
    """A full model folder (LoRA adapters merged) with its tokenizer and chat template.

    Every process takes part in saving, which gathers sharded (ZeRO-3, FSDP) weights. A LoRA
    adapter is saved so (gathered), then merged on the main process into a fresh load of the
    base model: the model in training may hold only a shard of each weight."""
    model = trainer.accelerator.unwrap_model(trainer.model)
    if not hasattr(model, "merge_and_unload"):
        trainer.save_model(str(final))
    else:
        adapter = final.parent / "adapter"
        trainer.save_model(str(adapter))
        trainer.accelerator.wait_for_everyone()
        if trainer.accelerator.is_main_process:
            from peft import PeftModel
            from transformers import AutoModelForCausalLM

            merged = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=model.dtype), adapter)
            merged.merge_and_unload().save_pretrained(final)
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(final)

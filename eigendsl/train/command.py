"""The `eigendsl train` command: load the domain and tasks, run the stage, print a one-line summary."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..console import failures_reported, out
from ..eval.command import load_eval_tasks, refuse_unstartable
from ..runtime.environment import DomainLoadError
from .config import TrainError, load_config


@click.command()
@click.argument("target", type=click.Path())
@click.option("--model", required=True, help="A local model folder, or tiny: (tiny:hidden=64,layers=2) for a tiny random model.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Checkpoints, metrics.jsonl and final/.")
@click.option("--stage", type=click.Choice(["sft", "user-sft", "grpo"]), default="sft", show_default=True,
              help="sft: the agent on dialogues; user-sft: the simulated user; grpo: the agent on episodes' rewards.")
@click.option("--data", type=click.Path(dir_okay=False), help="SFT dialogues (sft.jsonl, user_sft.jsonl; default: oracle dialogues).")
@click.option("--tasks", "tasks_file", type=click.Path(), help="Tasks: an .eig task file, a synth output folder or tau2 JSON.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="train.toml with the stages' settings.")
@click.option("--chat-template", "chat_template", type=click.Path(dir_okay=False),
              help="A Jinja chat template file to train with instead of the model's own (saved with final/).")
def train(target, model, out_dir, stage, data, tasks_file, config_file, chat_template) -> None:
    """Train on TARGET's tasks: SFT of the agent or the user model, or GRPO; rerun to resume."""
    with failures_reported(TrainError, DomainLoadError):  # a synth output folder: every round's tasks (the API's loader)
        domain, task_list = load_eval_tasks(target, tasks_file, None, None)
        refuse_unstartable(domain, task_list, "fix them or leave them out of the task file", tasks_file)
        out.print(run(domain, task_list, target, model, out_dir, stage, data, tasks_file, config_file, chat_template))


def read_template(path: str | None) -> str | None:
    """The text of a --chat-template file; a clear error for a missing or unreadable one."""
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TrainError(f"--chat-template {path}: not UTF-8 text") from None
    except OSError as e:
        raise TrainError(f"--chat-template {path}: {e.strerror or e}") from None
    if not text.strip():
        raise TrainError(f"--chat-template {path}: the file is empty")
    return text


def run(domain, task_list: list, target: str, model: str, out_dir: str, stage: str, data: str | None,
        tasks: str | None, config: str | None, chat_template: str | None = None) -> str:
    """Train one stage on the loaded domain's tasks; the summary line to print."""
    started = time.perf_counter()
    settings = load_config(config)
    template = read_template(chat_template)
    if not task_list and not data:
        raise TrainError(f"{target} has no tasks; pass --tasks FILE or --data FILE")
    try:
        from .run import train
    except ImportError as e:
        raise TrainError(f"training needs the train extra: pip install 'eigendsl[train]' ({e.name} is missing)") from None
    identity = {"target": target, "model": model, "stage": stage, "data": data, "tasks": tasks, "config": config,
                **({"chat_template": chat_template} if chat_template else {})}
    summary = train(domain, task_list, model, Path(out_dir), stage, settings, data, identity, template)
    if summary["already_done"]:
        return f"{out_dir} is already trained: {summary['final']}"
    resumed = f", resumed from {summary['resumed_from']}" if summary["resumed_from"] else ""
    what = f"{summary['dialogues']} dialogues" if stage != "grpo" else f"{summary['tasks']} tasks"
    return (f"trained {stage} on {what}: {summary['steps']} steps{resumed} -> {summary['final']} "
            f"({time.perf_counter() - started:.1f}s)")

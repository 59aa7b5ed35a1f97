"""The `eigendsl train` command: load the domain and tasks, run the stage, print a one-line summary."""

from __future__ import annotations

import re
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
def train(target, model, out_dir, stage, data, tasks_file, config_file) -> None:
    """Train on TARGET's tasks: SFT of the agent or the user model, or GRPO; rerun to resume."""
    with failures_reported(TrainError, DomainLoadError):
        domain, task_list = None, []
        for path in task_files(tasks_file):  # a synth folder: every round's tasks, on one domain
            loaded, tasks = load_eval_tasks(target, path, None, None)
            domain = domain or loaded
            refuse_unstartable(loaded, tasks, "fix them or leave them out of the task file", path)
            task_list += tasks
        ids = [t.id for t in task_list]
        if len(set(ids)) != len(ids):
            raise TrainError(f"{tasks_file}: task ids repeat across its files ({sorted({i for i in ids if ids.count(i) > 1})[:3]})")
        out.print(run(domain, task_list, target, model, out_dir, stage, data, tasks_file, config_file))


def task_files(path: str | None) -> list[str | None]:
    """An .eig or tau2 JSON file as is (None: TARGET's own tasks); a synth output folder by its
    kept tasks: `merged.eig` where synth-merge wrote one, else every `round_N.eig`."""
    if path is None or not Path(path).is_dir():
        return [path]
    folder = Path(path) / "tasks" if (Path(path) / "tasks").is_dir() else Path(path)
    merged = folder / "merged.eig"
    numbered = [(int(m.group(1)), p) for p in folder.glob("round_*.eig") if (m := re.fullmatch(r"round_(\d+)", p.stem))]
    rounds = [merged] if merged.is_file() else [p for _, p in sorted(numbered)]
    if not rounds:
        raise TrainError(f"{path}: not a synth output folder (no tasks/round_N.eig or merged.eig in it)")
    return [str(p) for p in rounds]


def run(domain, task_list: list, target: str, model: str, out_dir: str, stage: str, data: str | None,
        tasks: str | None, config: str | None) -> str:
    """Train one stage on the loaded domain's tasks; the summary line to print."""
    started = time.perf_counter()
    settings = load_config(config)
    if not task_list and not data:
        raise TrainError(f"{target} has no tasks; pass --tasks FILE or --data FILE")
    try:
        from .run import train
    except ImportError as e:
        raise TrainError(f"training needs the train extra: pip install 'eigendsl[train]' ({e.name} is missing)") from None
    identity = {"target": target, "model": model, "stage": stage, "data": data, "tasks": tasks, "config": config}
    summary = train(domain, task_list, model, Path(out_dir), stage, settings, data, identity)
    if summary["already_done"]:
        return f"{out_dir} is already trained: {summary['final']}"
    resumed = f", resumed from {summary['resumed_from']}" if summary["resumed_from"] else ""
    what = f"{summary['dialogues']} dialogues" if stage != "grpo" else f"{summary['tasks']} tasks"
    return (f"trained {stage} on {what}: {summary['steps']} steps{resumed} -> {summary['final']} "
            f"({time.perf_counter() - started:.1f}s)")

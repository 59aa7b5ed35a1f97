"""The `eigendsl train` command's work once the CLI has loaded the domain: the stage run, a one-line summary."""

from __future__ import annotations

import time
from pathlib import Path

from .config import TrainError, load_config


def task_file(path: str | None) -> str | None:
    """An .eig or tau2 JSON file as is; a synth output folder by the one task file in it."""
    if path is None or not Path(path).is_dir():
        return path
    found = sorted(Path(path).glob("*.eig")) or sorted(Path(path).glob("tasks/*.eig"))
    if len(found) != 1:
        raise TrainError(f"{path}: expected one .eig task file in the folder, found {len(found)}")
    return str(found[0])


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

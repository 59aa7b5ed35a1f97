"""The `eigendsl train` command: inputs checked and loaded, the stage run, a one-line summary."""

from __future__ import annotations

import time
from pathlib import Path

from ..cli import UsageProblem, load_eval_tasks, out
from .config import TrainError, load_config


def task_file(path: str | None) -> str | None:
    """An .eig or tau2 JSON file as is; a synth output folder by the one task file in it."""
    if path is None or not Path(path).is_dir():
        return path
    found = sorted(Path(path).glob("*.eig")) or sorted(Path(path).glob("tasks/*.eig"))
    if len(found) != 1:
        raise UsageProblem(f"{path}: expected one .eig task file in the folder, found {len(found)}")
    return str(found[0])


def run(target: str, model: str, out_dir: str, stage: str, data: str | None, tasks: str | None, config: str | None) -> None:
    from ..runtime.environment import DomainLoadError
    from ..syntax.diagnostics import CompileError

    started = time.perf_counter()
    try:
        settings = load_config(config)
        domain, task_list = load_eval_tasks(target, task_file(tasks), None, None)
        if not task_list and not data:
            raise UsageProblem(f"{target} has no tasks; pass --tasks FILE or --data FILE")
        try:
            from .run import train
        except ImportError as e:
            raise UsageProblem(f"training needs the train extra: pip install 'eigendsl[train]' ({e.name} is missing)")
        identity = {"target": target, "model": model, "stage": stage, "data": data, "tasks": tasks, "config": config}
        summary = train(domain, task_list, model, Path(out_dir), stage, settings, data, identity)
    except TrainError as e:
        raise UsageProblem(str(e))
    except (DomainLoadError, CompileError) as e:
        raise UsageProblem(str(e))
    if summary["already_done"]:
        out.print(f"{out_dir} is already trained: {summary['final']}")
        return
    resumed = f", resumed from {summary['resumed_from']}" if summary["resumed_from"] else ""
    what = f"{summary['dialogues']} dialogues" if stage != "grpo" else f"{summary['tasks']} tasks"
    out.print(f"trained {stage} on {what}: {summary['steps']} steps{resumed} -> {summary['final']} "
              f"({time.perf_counter() - started:.1f}s)")

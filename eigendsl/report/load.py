"""Reading what `report` renders: eval results (.json or .jsonl), a synth report.json, train metrics.jsonl.

Formats, as far as the report relies on them (everything else is shown when present):

- eval results.json: {"config", "summary", "episodes": [episode...]}; results.json.jsonl: one
  episode per line. An episode has task_id, trial, reward, components, details, termination,
  steps and messages.
- synth report.json: {"rounds": [{"round", "attempted", "kept", "rejections": {reason: count},
  "yield", "pass_rate", ...}], ...}.
- train metrics.jsonl: one JSON object per line with "step" and numeric fields ("reward",
  "pass_rate", "loss", ...; nested objects of numbers become "name.key" series).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .shapes import Episode, Results, ShapeError, SynthReport, checked


class ReportError(Exception):
    """The input cannot be rendered; the message says why in one sentence."""


@dataclass(frozen=True)
class RunData:
    kind: str  # results | synth | train
    path: Path
    data: Any  # results: {"config", "summary", "episodes"}; synth: the report; train: [records]
    skipped_lines: int = 0


def read_lines(path: Path) -> tuple[list[dict], int]:
    """The JSON objects of a .jsonl file, and how many lines were not one (a torn last line, say)."""
    records, skipped = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            skipped += 1
            continue
        if isinstance(value, dict):
            records.append(value)
        else:
            skipped += 1
    return records, skipped


def load(path: str | Path) -> RunData:
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"no such file: {path}")
    try:
        if path.suffix == ".jsonl":
            records, skipped = read_lines(path)
            if not records:
                raise ReportError(f"{path} has no JSON records")
            if all("task_id" in r and "db_hash" in r and "reward" not in r for r in records):
                raise ReportError(f"{path} holds gold replay records (`eigendsl replay`: actions and db hashes, no "
                                  "rewards); report reads eval results, score output, synth folders and training metrics")
            if all("task_id" in r and "messages" in r and "tools" in r and "reward" not in r for r in records):
                raise ReportError(f"{path} holds SFT dialogues (no rewards); score them first "
                                  "(`eigendsl score TARGET --tasks ... --simulations FILE --out scored.jsonl`) and report that")
            if all("task_id" in r for r in records):
                from ..eval.runner import summarise

                records = [shaped(Episode, r, f"{path}: episode {i}") for i, r in enumerate(records, 1)]
                tasks = sorted({str(r["task_id"]) for r in records})
                trials = 1 + max(int(r.get("trial", 0)) for r in records)
                summary = summarise(records, trials, len(tasks))
                return RunData("results", path, {"config": {}, "summary": summary, "episodes": records}, skipped)
            if any("step" in r for r in records):
                return RunData("train", path, [r for r in records if "step" in r], skipped)
            raise ReportError(f"{path} holds neither eval episodes (task_id) nor training steps (step)")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ReportError(f"cannot read {path}: {e.strerror or e}") from None
    except ValueError as e:
        raise ReportError(f"{path} is not valid JSON ({e})") from None
    if isinstance(data, dict) and isinstance(data.get("episodes"), list):
        return RunData("results", path, shaped(Results, data, str(path)))
    if isinstance(data, dict) and isinstance(data.get("rounds"), list):
        return RunData("synth", path, shaped(SynthReport, data, str(path)))
    raise ReportError(f"{path} is not an eval results file, a synth report.json or a train metrics.jsonl")


def shaped(model, data, where: str) -> dict:
    try:
        return checked(model, data)
    except ShapeError as e:
        raise ReportError(f"{where}: {e}") from None


def render(run: RunData) -> str:
    """The HTML page for a loaded run."""
    if run.kind == "results":
        from .results import render as render_results

        return render_results(run.data, str(run.path), run.skipped_lines)
    from .series import render_synth, render_train

    if run.kind == "synth":
        return render_synth(run.data, str(run.path))
    return render_train(run.data, str(run.path), run.skipped_lines)

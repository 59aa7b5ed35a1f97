"""Merging shards: runs of the same domain with different seeds (on one machine or many),
deduplicated by the tasks' canonical signatures.

Scale-out is by shards rather than a scheduler: plans are independent, so N machines run
`eigendsl synth TARGET --seed i --out shard_i` (each with its model endpoints), and
`eigendsl synth-merge OUT shard_0 shard_1 ...` keeps the first task of each signature, with
its SFT dialogues and RL entry, in one task file and one set of datasets.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..files import write_atomic
from .portable import NotPortable, copy_domain, task_files

TASK = re.compile(r"((?:^# [^\n]*\n)*)^task \"([^\"]+)\" \{\n.*?^\}\n", re.M | re.S)


class MergeProblem(Exception):
    """A shard that cannot be merged; the message says which and why."""


def tasks_of(shard: Path) -> dict[str, str]:
    """Task id -> its text with provenance comments, across the shard's task files."""
    out = {}
    for path in task_files(shard / "tasks"):
        for m in TASK.finditer(path.read_text(encoding="utf-8")):
            out[m.group(2)] = m.group(0)
    return out


def merge(out: Path, shards: list[Path]) -> dict:
    kept, seen = [], set()
    sft, user_sft, rl, texts = [], [], [], []
    header = None
    for shard in shards:
        if not (shard / "rl.jsonl").is_file():
            raise MergeProblem(f"{shard} is not a synth output folder (no rl.jsonl)")
        texts_by_id = tasks_of(shard)
        first = next(iter(task_files(shard / "tasks")), None)
        if first is not None and header is None:
            header = next((line for line in first.read_text().splitlines() if line.startswith("import ")), None)
        rows = [json.loads(x) for x in (shard / "rl.jsonl").read_text().splitlines() if x.strip()]
        s_lines = (shard / "sft.jsonl").read_text().splitlines() if (shard / "sft.jsonl").is_file() else []
        u_lines = (shard / "user_sft.jsonl").read_text().splitlines() if (shard / "user_sft.jsonl").is_file() else []
        at = 0
        for row in rows:
            n = row.get("sft", 0)
            if row.get("signature") in seen or row["task_id"] not in texts_by_id or row["task_id"] in kept:
                at += n
                continue
            seen.add(row.get("signature"))
            kept.append(row["task_id"])
            texts.append(texts_by_id[row["task_id"]])
            sft += s_lines[at:at + n]
            user_sft += u_lines[at:at + n]
            at += n
            rl.append({**row, "file": "tasks/merged.eig", "shard": shard.name})
    if header is None:
        raise MergeProblem("the shards hold no tasks")
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    # the shards import the copy of the domain beside their tasks: copy it beside OUT's as well
    source = shards[0] / "tasks" / header.split('"')[1]
    try:
        copy = copy_domain(source, out / "tasks")
    except (NotPortable, OSError) as e:
        raise MergeProblem(f"cannot copy the domain of {shards[0]}: {e}") from None
    header = f'import "{copy.name}"'
    write_atomic(out / "tasks" / "merged.eig", [f"# Tasks merged by `eigendsl synth-merge` from {len(shards)} shard(s).\n{header}\n\n", *(t + "\n" for t in texts)])
    write_atomic(out / "sft.jsonl", [x + "\n" for x in sft])
    write_atomic(out / "user_sft.jsonl", [x + "\n" for x in user_sft])
    write_atomic(out / "rl.jsonl", [json.dumps(r) + "\n" for r in rl])
    return {"shards": len(shards), "kept": len(kept), "sft": len(sft)}

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

from ..files import make_folder, numbered_lines, read_text, write_atomic
from .portable import NotPortable, copy_domain, task_files

IMPORT = re.compile(r'^import "([^"\n]+)"', re.M)
TASK = re.compile(r"((?:^# [^\n]*\n)*)^task \"([^\"]+)\" \{\n.*?^\}\n", re.M | re.S)


class MergeProblem(Exception):
    """A shard that cannot be merged; the message says which and why."""


def tasks_of(shard: Path) -> dict[str, str]:
    """Task id -> its text with provenance comments, across the shard's task files."""
    out = {}
    for path in task_files(shard / "tasks"):
        for m in TASK.finditer(read_text(path, MergeProblem)):
            out[m.group(2)] = m.group(0)
    return out


def rl_rows(path: Path) -> list[dict]:
    """The shard's rl.jsonl entries; a MergeProblem names the first line that is not one."""
    rows = []
    for n, line in numbered_lines(read_text(path, MergeProblem)):
        try:
            row = json.loads(line)
        except ValueError as e:
            raise MergeProblem(f"{path}:{n}: not JSON ({e})") from None
        if not (isinstance(row, dict) and isinstance(row.get("task_id"), str) and type(row.get("sft", 0)) is int
                and row.get("sft", 0) >= 0):
            raise MergeProblem(f"{path}:{n}: not a task entry (a task_id string and a count of sft dialogues)")
        rows.append(row)
    return rows


def merge(out: Path, shards: list[Path]) -> dict:
    if any(out.resolve() == shard.resolve() for shard in shards):
        raise MergeProblem(f"{out} is one of the shards; merge into another folder so that the shard stays as it is")
    if (out / "state.json").exists():
        raise MergeProblem(f"{out} holds a synth run (state.json); merge into another folder")
    kept, seen = [], set()
    sft, user_sft, rl, texts = [], [], [], []
    header = None
    for shard in shards:
        if not (shard / "rl.jsonl").is_file():
            raise MergeProblem(f"{shard} is not a synth output folder (no rl.jsonl)")
        texts_by_id = tasks_of(shard)
        first = next(iter(task_files(shard / "tasks")), None)
        if first is not None and header is None:
            header = IMPORT.search(read_text(first, MergeProblem))
            home = shard
        rows = rl_rows(shard / "rl.jsonl")
        s_lines = read_text(shard / "sft.jsonl", MergeProblem).splitlines() if (shard / "sft.jsonl").exists() else []
        u_lines = read_text(shard / "user_sft.jsonl", MergeProblem).splitlines() if (shard / "user_sft.jsonl").exists() else []
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
    # the shards import the copy of the domain beside their tasks: copy it beside OUT's as well
    try:
        make_folder(out / "tasks")
        copy = copy_domain(home / "tasks" / header.group(1), out / "tasks")
    except (NotPortable, OSError) as e:
        raise MergeProblem(f"cannot copy the domain of {home} into {out}: {getattr(e, 'strerror', None) or e}") from None
    try:
        write_outputs(out, f'import "{copy.name}"', len(shards), texts, sft, user_sft, rl)
    except OSError as e:
        raise MergeProblem(f"cannot write the merged outputs into {out}: {e.strerror or e}") from None
    return {"shards": len(shards), "kept": len(kept), "sft": len(sft)}


def write_outputs(out: Path, header: str, shards: int, texts: list[str], sft: list[str], user_sft: list[str], rl: list[dict]) -> None:
    write_atomic(out / "tasks" / "merged.eig", [f"# Tasks merged by `eigendsl synth-merge` from {shards} shard(s).\n{header}\n\n", *(t + "\n" for t in texts)])
    write_atomic(out / "sft.jsonl", [x + "\n" for x in sft])
    write_atomic(out / "user_sft.jsonl", [x + "\n" for x in user_sft])
    write_atomic(out / "rl.jsonl", [json.dumps(r) + "\n" for r in rl])

"""Picks the single-request tasks of a synth run, for scripts/laptop_airline.sh.

    python scripts/laptop_tasks.py tasks SYNTH_DIR OUT.eig [--unlike TRAIN_SYNTH_DIR] [--limit N]
    python scripts/laptop_tasks.py sft SYNTH_DIR/sft.jsonl OUT.jsonl

A kept task in a synth round file is a block that starts at its `# plan NAME ...` comment; a
plan whose name ends in `/compose` asks for two changes in one task (docs/synthesis.md). The
laptop proof trains and scores on the others only: one request each, allowed, refused or
transferred. `--unlike` leaves out every task whose gold actions equal those of a task in
TRAIN_SYNTH_DIR (any kind), so that no held-out task repeats a training one. Prints what it kept and dropped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

BLOCK = re.compile(r"^# plan (\S+)", re.M)
GOLD = re.compile(r"^  gold \{\n(.*?)^  \}", re.M | re.S)


def blocks(text: str) -> list[tuple[str, str]]:
    """(plan, block text) of each task in a round file, in order."""
    starts = [m.start() for m in BLOCK.finditer(text)]
    return [(BLOCK.match(text, s).group(1), text[s:e].rstrip() + "\n")
            for s, e in zip(starts, [*starts[1:], len(text)])]


def gold(block: str) -> str:
    found = GOLD.search(block)
    return found.group(1) if found else ""


def single(plan: str) -> bool:
    return not plan.endswith("/compose")


def rounds(source: Path) -> list[Path]:
    """The round files of a synth output folder, in order."""
    files = sorted(source.glob("tasks/round_*.eig"), key=lambda p: int(p.stem.split("_")[1]))
    if not files:
        sys.exit(f"{source}: no tasks/round_N.eig (is it a synth output folder?)")
    return files


def pick_tasks(source: Path, out: Path, unlike: Path | None, limit: int | None) -> None:
    seen = {gold(b) for file in rounds(unlike) for _, b in blocks(file.read_text())} if unlike else set()
    kept, repeats, multi = [], 0, 0
    for file in rounds(source):
        for plan, block in blocks(file.read_text()):
            if not single(plan):
                multi += 1
            elif gold(block) in seen:
                repeats += 1
            else:
                kept.append(block)
    kept = kept[:limit] if limit else kept
    header = '# Single-request tasks picked by scripts/laptop_tasks.py.\nimport "airline.eig"\n\n'
    out.write_text(header + "\n".join(kept))
    print(f"{out}: {len(kept)} tasks kept; left out {multi} two-request tasks, {repeats} whose gold repeats a training task")


def pick_sft(source: Path, out: Path) -> None:
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
    kept = [r for r in rows if single(r["plan"])]
    out.write_text("".join(json.dumps(r) + "\n" for r in kept))
    print(f"{out}: {len(kept)} of {len(rows)} dialogues (single-request tasks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["tasks", "sft"])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--unlike", type=Path)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    if args.what == "tasks":
        pick_tasks(args.source, args.out, args.unlike, args.limit)
    else:
        pick_sft(args.source, args.out)


if __name__ == "__main__":
    main()

"""SFT dialogues at scale: `synth --dialogues N` per domain, timed, and what the dialogues hold.

    python benchmarks/bench_dialogues.py [--domain airline] [--tasks 200] [--dialogues 50] [--out out/bench_dialogues]

Runs offline synthesis of `--tasks` tasks with `--dialogues` oracle variants each (a fresh
run per domain) and prints one JSON line per domain: kept tasks, SFT dialogues, wall seconds,
dialogues per wall-clock minute, distinct dialogues (their spoken turns), the share of distinct
agent and user texts, messages per
dialogue (mean, min, max), writes and writes made without a confirmation (the episode
monitor's count, recomputed from the records), and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eigendsl.compiler import load_domain  # noqa: E402
from eigendsl.episode.protocol import Protocol, agent_writes, check  # noqa: E402
from eigendsl.synth.engine import Engine, SynthConfig  # noqa: E402


def figures(out: Path, domain) -> dict:
    rows = [json.loads(line) for line in (out / "sft.jsonl").read_text().splitlines()]
    users = [json.loads(line) for line in (out / "user_sft.jsonl").read_text().splitlines()]
    agent = [m["content"] for r in rows for m in r["messages"][2:] if m["role"] == "assistant" and m.get("content")]
    said = [m["content"] for r in users for m in r["messages"][1:] if m["role"] == "assistant" and m.get("content")]
    lengths = [len(r["messages"]) for r in rows]
    spoken = {json.dumps([m.get("content") for m in r["messages"] if m["role"] in ("user", "assistant")]) for r in rows}
    protocol, writes, unconfirmed = Protocol.of(domain.ir), agent_writes(domain.ir), 0
    made = 0
    for r in rows:
        turns = [{"role": m["role"], "content": m.get("content"),
                  "tool_calls": [{"name": c["function"]["name"]} for c in m.get("tool_calls") or []]} for m in r["messages"]]
        kept = check(protocol, turns, writes)
        made, unconfirmed = made + kept["writes"], unconfirmed + kept["unconfirmed_writes"]
    return {"dialogues": len(rows), "distinct_dialogues": len(spoken), "user_records": len(users),
            "distinct_agent_texts": round(len(set(agent)) / max(1, len(agent)), 3),
            "distinct_user_texts": round(len(set(said)) / max(1, len(said)), 3),
            "messages": {"mean": round(sum(lengths) / max(1, len(lengths)), 1), "min": min(lengths, default=0),
                         "max": max(lengths, default=0)},
            "writes": made, "unconfirmed_writes": unconfirmed}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--domain", action="append", help="airline, retail, telecom (default: all three)")
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--dialogues", type=int, default=50)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", default=str(ROOT / "out" / "bench_dialogues"))
    args = ap.parse_args()
    total, wall = 0, 0.0
    for name in args.domain or ["airline", "retail", "telecom"]:
        started, load_before = time.perf_counter(), os.getloadavg()
        target = ROOT / "domains" / f"{name}.eig"
        config = SynthConfig(target=str(target), tasks=args.tasks, seed=args.seed, dialogues=args.dialogues)
        out = Path(args.out) / name
        report = Engine(config, out, fresh=True).run()
        seconds = time.perf_counter() - started
        row = {"domain": name, "kept": report["kept"], "wall_s": round(seconds, 1), **figures(out, load_domain(target))}
        row["dialogues_per_min"] = round(row["dialogues"] / seconds * 60)
        row["load"] = [round(x, 2) for x in load_before + os.getloadavg()]
        total, wall = total + row["dialogues"], wall + seconds
        print(json.dumps(row), flush=True)
    print(json.dumps({"dialogues": total, "wall_s": round(wall, 1), "dialogues_per_min": round(total / wall * 60)}))


if __name__ == "__main__":
    main()

"""Offline synthesis at scale: kept tasks per minute, time per stage, yield per round, coverage.

    python benchmarks/bench_synth.py [--domain airline] [--tasks 2000] [--workers N] [--out out/bench_synth]

Runs `eigendsl synth domains/<d>.eig --tasks N` with every role offline (a fresh run per
domain) and prints one JSON line per domain: kept, attempted, wall and CPU seconds, kept per
wall-clock and per CPU minute, seconds per stage, each round's yield, and the coverage
figures of report.json, with the machine's load average before and after. Wall-clock rates
depend on what else the machine runs; the CPU time is the engine's own with its verification
workers' (`--workers`, default: the usable CPUs). Stage seconds add up every process's time;
`verify_wall` is the verify stage's wall-clock time, compile included.
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

from eigendsl.synth.engine import Engine, SynthConfig  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--domain", action="append", help="airline, retail, telecom (default: all three)")
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, help="verification processes (default: the usable CPUs, at most 8)")
    ap.add_argument("--out", default=str(ROOT / "out" / "bench_synth"))
    args = ap.parse_args()
    for name in args.domain or ["airline", "retail", "telecom"]:
        started, load_before = time.perf_counter(), os.getloadavg()
        config = SynthConfig(target=str(ROOT / "domains" / f"{name}.eig"), tasks=args.tasks, seed=args.seed, workers=args.workers)
        engine = Engine(config, Path(args.out) / name, fresh=True)
        load = time.perf_counter() - started
        report = engine.run()
        stages: dict[str, float] = {}
        for r in report["rounds"]:
            for k, v in r["seconds"].items():
                stages[k] = round(stages.get(k, 0.0) + v, 2)
        cov = report["coverage"]
        print(json.dumps({
            "domain": name, "tasks": args.tasks, "kept": report["kept"], "attempted": report["attempted"],
            "load_seconds": round(load, 2), "wall_seconds": report["seconds"], "cpu_seconds": report["cpu_seconds"],
            "kept_per_minute": report["kept_per_minute"], "kept_per_cpu_minute": report["kept_per_cpu_minute"],
            "workers": report["workers"], "stage_seconds": stages,
            "verify_wall": round(sum(r["verify_seconds"].get("wall", 0.0) for r in report["rounds"]), 2),
            "workers_cpu": round(sum(r["verify_seconds"].get("workers_cpu", 0.0) for r in report["rounds"]), 2),
            "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
            "yield_by_round": [r["yield"] for r in report["rounds"]],
            "multi_write_share": cov["multi_write_share"], "refusal_or_transfer_share": cov["refusal_or_transfer_share"],
            "missing_write_tools": cov["write_tools"]["missing"], "missing_guard_branches": cov["guard_branches"]["missing"],
            "retired_plans": len(report["retired"]),
            "quality": report["quality"],  # the kept tasks' quality figures, and the seconds measuring them took
        }), flush=True)


if __name__ == "__main__":
    main()

"""Offline synthesis at scale: kept tasks per minute, time per stage, yield per round, coverage.

    python benchmarks/bench_synth.py [--domain airline] [--tasks 2000] [--out out/bench_synth]

Runs `eigendsl synth domains/<d>.eig --tasks N` with every role offline (a fresh run per
domain) and prints one JSON line per domain: kept, attempted, wall and CPU seconds, kept per
wall-clock and per CPU minute, seconds per stage, each round's yield, and the coverage
figures of report.json. Wall-clock rates depend on what else the machine runs; the CPU
rate is the process's own time.
"""

from __future__ import annotations

import argparse
import json
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
    ap.add_argument("--out", default=str(ROOT / "out" / "bench_synth"))
    args = ap.parse_args()
    for name in args.domain or ["airline", "retail", "telecom"]:
        started = time.perf_counter()
        config = SynthConfig(target=str(ROOT / "domains" / f"{name}.eig"), tasks=args.tasks, seed=args.seed)
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
            "stage_seconds": stages, "yield_by_round": [r["yield"] for r in report["rounds"]],
            "multi_write_share": cov["multi_write_share"], "refusal_or_transfer_share": cov["refusal_or_transfer_share"],
            "missing_write_tools": cov["write_tools"]["missing"], "missing_guard_branches": cov["guard_branches"]["missing"],
            "retired_plans": len(report["retired"]),
        }), flush=True)


if __name__ == "__main__":
    main()

"""Scoring benchmark: simulations scored per second by `eigendsl score`'s Scorer.

    python benchmarks/bench_score.py                  # all three domains (needs ../shared/tau2)
    python benchmarks/bench_score.py --domain airline --passes 5

For each domain, one simulation per benchmark task: the task's gold actions as tool calls with
their recorded results (tau2's message format), the required information said, the user's stop.
`setup_s` is loading the domain and compiling the tau2 tasks once; the first pass also replays
each task's gold once (the checker keeps it); `per_s` is the median over the later passes of
whole records scored (parse, replay on a fresh environment with result checks, reward), by
the wall clock; `cpu_per_s` the same by this process's CPU time (steadier on a shared machine).
The last line is `score_sims_per_s=<airline median>`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "tau2"
sys.path.insert(0, str(ROOT))

from eigendsl.interop.score import Scorer  # noqa: E402
from eigendsl.interop.tau2_results import gold_simulation  # noqa: E402


def bench(domain: str, passes: int) -> dict:
    shared = SHARED / domain
    user_db = shared / "user_db.json"
    started = time.perf_counter()
    scorer = Scorer.load(ROOT / "compiled" / domain, shared / "tasks.json", str(shared / "db.json"),
                         str(user_db) if user_db.is_file() else None)
    setup_s = time.perf_counter() - started
    records = [gold_simulation(scorer.checker(t)) for t in scorer.tasks]
    rates, cpu_rates, rewards = [], [], []
    for _ in range(passes + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        rewards = [scorer.score(r)["reward"] for r in records]
        rates.append(len(records) / (time.perf_counter() - t0))
        cpu_rates.append(len(records) / max(time.process_time() - c0, 1e-9))
    return {"domain": domain, "simulations": len(records), "setup_s": round(setup_s, 2),
            "first_pass_per_s": round(rates[0]), "per_s": round(statistics.median(rates[1:])),
            "cpu_per_s": round(statistics.median(cpu_rates[1:])), "reward_1": sum(r == 1.0 for r in rewards)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", choices=["airline", "retail", "telecom"])
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"the benchmark's data is not at {SHARED}")
    os.environ.setdefault("EIGENDSL_CACHE", tempfile.mkdtemp(prefix="eigendsl-bench-"))
    results = [bench(d, args.passes) for d in ([args.domain] if args.domain else ["airline", "retail", "telecom"])]
    print(f"{'domain':8} {'sims':>5} {'setup_s':>8} {'first/s':>8} {'per_s':>7} {'cpu_per_s':>9} {'reward=1':>9}")
    for r in results:
        print(f"{r['domain']:8} {r['simulations']:>5} {r['setup_s']:>8} {r['first_pass_per_s']:>8} {r['per_s']:>7}"
              f" {r['cpu_per_s']:>9} {r['reward_1']:>9}")
    airline = next((r for r in results if r["domain"] == "airline"), results[0])
    print(f"score_sims_per_s={airline['per_s']}")


if __name__ == "__main__":
    main()

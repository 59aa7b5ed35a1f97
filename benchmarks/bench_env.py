"""Environment benchmark: compile time, cost per episode, memory per live environment.

    python benchmarks/bench_env.py                 # every domain that has a compiled folder
    python benchmarks/bench_env.py --domain airline

For each domain, on the benchmark's db from ../shared/tau2 when present (else the project's own):
  compile_ms       compiling domains/<d>.eig (parse, check, validate data), median of 5 warm runs
  load_ms          loading compiled/<d>/ into a CompiledDomain (once per process)
  episode_ms       one episode = create an environment from the loaded domain, replay one of the
                   reference's random tool-call sequences (agent and user calls), compute the
                   final-state diff; median and p90 over all sequences, 3 passes
  hash_ms          computing the full final-state sha256 the way the reference does (optional
                   extra; the diff above is what a reward needs)
  kib_per_env      Python heap per environment with 1,000 live at once, each after its episode
The last line is `env_episode_ms=<median> env_kib_per_instance=<value>` for airline.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "tau2"
sys.path.insert(0, str(ROOT))

from eigendsl.compilation import forget_cached_data  # noqa: E402
from eigendsl.compiler import compile_file  # noqa: E402
from eigendsl.interop.tau2 import ACTOR, load_tasks  # noqa: E402
from eigendsl.runtime.environment import CompiledDomain  # noqa: E402
from eigendsl.compiler import load_domain  # noqa: E402


def episode(domain: CompiledDomain, task) -> dict:
    env = domain.environment()
    init = (task.initial_state.initialization_actions if task.initial_state else None) or []
    for call in init:
        env.run_setup(call.func_name, call.arguments, ACTOR[call.env_type])
    for action in task.evaluation_criteria.actions or []:
        env.call(action.name, action.arguments, ACTOR[action.requestor])
    env.diff()
    return env


def bench(name: str) -> dict:
    source = ROOT / "domains" / f"{name}.eig"
    shared = SHARED / name
    db = shared / "db.json" if (shared / "db.json").is_file() else None
    user_db = shared / "user_db.json" if (shared / "user_db.json").is_file() else None
    compile_times = []
    for i in range(6):
        forget_cached_data()
        started = time.perf_counter()
        c = compile_file(source, db, user_db)
        compile_times.append((time.perf_counter() - started) * 1000)
        assert c.ok, c.diagnostics
    forget_cached_data()
    started = time.perf_counter()
    domain = load_domain(ROOT / "compiled" / name, db, user_db)
    load_ms = (time.perf_counter() - started) * 1000
    if (shared / "sequences.json").is_file():
        tasks = load_tasks(shared / "sequences.json")
    else:
        tasks = []
    times = []
    for _ in range(3):
        for task in tasks:
            started = time.perf_counter()
            episode(domain, task)
            times.append((time.perf_counter() - started) * 1000)
    hash_times = []
    for task in tasks[:20]:
        env = episode(domain, task)
        started = time.perf_counter()
        env.state_hash("agent")
        hash_times.append((time.perf_counter() - started) * 1000)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    live = [episode(domain, tasks[i % len(tasks)]) for i in range(1000)] if tasks else []
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    kib = (after - before) / 1024 / max(1, len(live))
    del live
    times.sort()
    return {
        "domain": name,
        "data": "tau2" if db else "own",
        "compile_ms": round(statistics.median(compile_times[1:]), 1),
        "compile_cold_ms": round(compile_times[0], 1),
        "load_ms": round(load_ms, 1),
        "episodes": len(times),
        "episode_ms_median": round(statistics.median(times), 3) if times else None,
        "episode_ms_p90": round(times[int(len(times) * 0.9)], 3) if times else None,
        "hash_ms_median": round(statistics.median(hash_times), 2) if hash_times else None,
        "kib_per_env": round(kib, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domain", action="append", help="domain name (repeatable); default: all compiled")
    args = parser.parse_args()
    names = args.domain or [p.name for p in sorted((ROOT / "compiled").iterdir()) if (p / "ir.json").is_file()]
    results = {}
    for name in names:
        results[name] = bench(name)
        print(json.dumps(results[name]))
    main_result = results.get("airline") or next(iter(results.values()))
    print(f"env_episode_ms={main_result['episode_ms_median']} env_kib_per_instance={main_result['kib_per_env']}")


if __name__ == "__main__":
    main()

"""Time loading each compiled folder, and the share of it spent checking the folder (hashes, IR, data).

    python benchmarks/bench_load.py [--repeat N]

Prints one line per domain: the least CPU time of N loads, and the checks' part of it. CPU
time rather than wall time, because on a shared machine wall time mostly measures the others.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from eigendsl.runtime import folder_check
from eigendsl.compiler import load_domain

ROOT = Path(__file__).resolve().parents[1]


def fastest(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    for domain in ("airline", "retail", "telecom"):
        folder = ROOT / "compiled" / domain
        load = fastest(lambda: load_domain(folder), args.repeat)
        manifest = folder_check.read_manifest(folder)
        files = folder_check.read_files(folder, manifest)
        ir_domain = folder_check.check_ir(folder, files["ir.json"])
        hashes = fastest(lambda: folder_check.read_files(folder, manifest), args.repeat)
        ir_check = fastest(lambda: folder_check.check_ir(folder, files["ir.json"]), args.repeat)
        data = 0.0
        for side, name in (("agent", "db.json"), ("user", "user_db.json")):
            if name in files:
                data += fastest(lambda: folder_check.check_data(folder, ir_domain, side, name, files[name]), args.repeat)
        print(f"{domain}: load {load * 1000:.0f} ms CPU; of which read+sha256 {hashes * 1000:.0f} ms, "
              f"ir.json parse+check+decode {ir_check * 1000:.0f} ms, data parse+check {data * 1000:.0f} ms")


if __name__ == "__main__":
    main()

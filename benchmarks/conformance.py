"""Replay conformance with tau2-bench on ../shared/tau2: one row per domain and task set.

    python benchmarks/conformance.py

Replays the train tasks and the random tool-call sequences of each domain on the benchmark's
data, compares with the reference records by the reference's rules, and prints a Markdown
table with the stricter figures (identical error text, identical db and user-db hashes).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "tau2"
sys.path.insert(0, str(ROOT))

from eigendsl.interop.conformance import compare, read_jsonl  # noqa: E402
from eigendsl.interop.tau2 import load_tasks, replay  # noqa: E402
from eigendsl.compiler import load_domain  # noqa: E402


def main() -> None:
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent: the reference data lives next to the project")
    print("| domain | set | records matched | error text identical | db_hash identical | user_db_hash identical | replay time |")
    print("|---|---|---|---|---|---|---|")
    for domain in ("airline", "retail", "telecom"):
        shared = SHARED / domain
        user_db = shared / "user_db.json"
        compiled = load_domain(ROOT / "compiled" / domain, shared / "db.json", user_db if user_db.is_file() else None)
        train = set(json.loads((shared / "split_tasks.json").read_text())["train"])
        sets = [
            ("train", [t for t in load_tasks(shared / "tasks.json") if t.id in train], "expected_train.jsonl"),
            ("sequences", load_tasks(shared / "sequences.json"), "expected_sequences.jsonl"),
        ]
        for name, tasks, expected in sets:
            started = time.perf_counter()
            records = list(replay(compiled, tasks))
            seconds = time.perf_counter() - started
            r = compare(records, read_jsonl(shared / expected))
            s = r.summary()
            user = s["user_db_hash_agreement"] if r.user_hashes_total else "n/a"
            print(f"| {domain} | {name} | {r.matched}/{r.records} | {s['error_text_agreement']} | {s['db_hash_agreement']} | {user} | {seconds:.1f} s |")


if __name__ == "__main__":
    main()

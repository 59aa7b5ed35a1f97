"""Task verification on the benchmark's own tasks: import, analyses, checker kill rates.

    python benchmarks/bench_verify.py [--domain airline] [--mutate]

For each domain: converts ../shared/tau2/<d>/tasks.json to an eig task file (in a temporary
folder; the benchmark's task texts are not part of the project), compiles it on the
benchmark's data, runs every analysis (Z3 guard consistency, goal checks, gold compliance)
and, with --mutate, the checker mutation test. Prints timings, the gold-replay rewards,
the findings by kind, and kill rates, as JSON lines.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "tau2"
sys.path.insert(0, str(ROOT))

from eigendsl.compiler import compile_file  # noqa: E402
from eigendsl.interop.tau2 import load_tasks  # noqa: E402
from eigendsl.interop.tau2_tasks import to_eig  # noqa: E402
from eigendsl.runtime.environment import CompiledDomain  # noqa: E402
from eigendsl.verify.analyses import analyse  # noqa: E402


def by_kind(report) -> dict:
    totals: dict[str, list[int]] = {}
    for t in report.tasks:
        for kind, (killed, total) in (t.mutants or {}).get("by_kind", {}).items():
            acc = totals.setdefault(kind, [0, 0])
            acc[0] += killed
            acc[1] += total
    return {k: f"{killed}/{total} = {killed / total:.2f}" for k, (killed, total) in sorted(totals.items())}


def run(domain: str, mutate: bool, folder: Path) -> dict:
    shared = SHARED / domain
    out = folder / f"{domain}.eig"
    started = time.perf_counter()
    out.write_text(to_eig(load_tasks(shared / "tasks.json"), ROOT / "domains" / f"{domain}.eig", out, "tasks.json"))
    user_db = shared / "user_db.json"
    c = compile_file(out, shared / "db.json", user_db if user_db.is_file() else None)
    assert c.ok, [str(d.message) for d in c.diagnostics if d.is_error][:5]
    compiled = CompiledDomain.from_compilation(c)
    import_s = time.perf_counter() - started
    report = analyse(compiled, mutate=False)
    analyse_s = report.seconds
    result = {
        "domain": domain,
        "tasks": len(report.tasks),
        "import_and_compile_s": round(import_s, 2),
        "analyses_s": round(analyse_s, 2),
        "gold_reward_1": sum(t.gold_reward == 1.0 for t in report.tasks),
        "domain_findings": collections.Counter(f.kind for f in report.domain_findings),
        "task_findings": collections.Counter(f.kind for t in report.tasks for f in t.findings),
        "examples": sorted({f"{f.kind}: {f.message}" for t in report.tasks for f in t.findings if f.kind != "gold_call_fails"})[:8],
    }
    if mutate:
        mutated = analyse(compiled, mutate=True)
        rates = [t.kill_rate for t in mutated.tasks if t.kill_rate is not None]
        result.update({
            "analyses_with_mutation_s": round(mutated.seconds, 2),
            "kill_rate": round(mutated.kill_rate(), 3),
            "mutants": sum(t.mutants["total"] for t in mutated.tasks),
            "equivalent_mutants": sum(t.mutants["equivalent"] for t in mutated.tasks),
            "weak_checkers": sum(1 for t in mutated.tasks if t.mutants["weak"]),
            "perfect_checkers": sum(1 for r in rates if r == 1.0),
            "tasks_without_mutants": sum(1 for t in mutated.tasks if t.kill_rate is None),
            "kill_rate_by_kind": by_kind(mutated),
        })
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domain", action="append")
    parser.add_argument("--mutate", action="store_true")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is absent: the reference data lives next to the project")
    with tempfile.TemporaryDirectory() as tmp:
        for domain in args.domain or ["airline", "retail", "telecom"]:
            print(json.dumps(run(domain, args.mutate, Path(tmp))))


if __name__ == "__main__":
    main()

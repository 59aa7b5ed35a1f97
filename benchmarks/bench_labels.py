"""Do synthesized no-write labels agree with the guards' declared outcomes?

    python benchmarks/bench_labels.py OUT_DIR DOMAIN.eig

OUT_DIR is a `synth --out` folder. For every kept task that writes nothing, the forbidden
request its notes record (`Forbidden request: {...}`) is replayed after the task's setup and
gold reads, and the outcome its violated guards declare (refuse or transfer,
eigendsl.synth.outcomes.declared_outcome) is compared with the task's label (transfer when
its gold calls the domain's transfer tool). Prints one JSON line: refusals, transfers, how
many record their request, how many agree.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eigendsl.compiler import compile_file, load_domain  # noqa: E402
from eigendsl.synth.outcomes import label_agrees, label_of  # noqa: E402
from eigendsl.synth.portable import task_files  # noqa: E402


def measure(out: Path, domain_path: Path) -> dict:
    domain = load_domain(domain_path)
    kept = {json.loads(line)["task_id"] for line in (out / "rl.jsonl").read_text().splitlines()}
    counts: Counter = Counter()
    for path in task_files(out / "tasks"):
        c = compile_file(path)
        for task in c.domain.tasks if c.ok else ():
            if task.id not in kept:
                continue
            label = label_of(domain, task)
            if label is None:
                continue
            counts[label] += 1
            agrees = label_agrees(domain, task)
            counts["recorded"] += agrees is not None
            counts["agree"] += agrees is True
    return {"out": str(out), "kept_no_write": counts["refuse"] + counts["transfer"], "refuse": counts["refuse"],
            "transfer": counts["transfer"], "recorded": counts["recorded"], "agree": counts["agree"]}


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]))))

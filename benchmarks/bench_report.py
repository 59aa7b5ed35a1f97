"""`eigendsl report` on a 300-episode eval run: time to write the page and for Chromium to load it.

    python benchmarks/bench_report.py [--screenshot docs/report.png]

Runs 300 airline episodes (6 tasks x 50 trials; the oracle on five episodes in seven, a random
agent on the rest, so that there are failures to look at), renders the results file, then
loads the page in headless Chromium three times and reports the median time from navigation
to the load event (the page is fully parsed, styled and its script has run). With
--screenshot, also saves a picture of the page with a failed episode open.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser import Browser  # noqa: E402
from eigendsl.episode.agents import OracleAgent, RandomAgent  # noqa: E402
from eigendsl.episode.users import ScriptedUser  # noqa: E402
from eigendsl.eval.runner import Evaluation  # noqa: E402
from eigendsl.report.load import load, render  # noqa: E402
from eigendsl.compiler import load_domain  # noqa: E402


def make_run(out: Path) -> None:
    domain = load_domain(ROOT / "compiled" / "airline")
    tasks = list(domain.ir.tasks)[:6]
    made = [0]

    def agent():
        made[0] += 1
        return RandomAgent() if made[0] % 7 in (0, 3) else OracleAgent()

    config = {"domain": domain.name, "agent": {"kind": "oracle or random"}, "user": {"kind": "scripted"}, "trials": 50,
              "max_steps": 100, "max_errors": 10, "tasks": [t.id for t in tasks]}
    run = Evaluation(domain, tasks, agent, lambda seed: ScriptedUser(), config, out, trials=50)
    run.run(run.prepare(overwrite=True))
    run.finish()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.json"
        make_run(results)
        started = time.perf_counter()
        run = load(results)
        html = render(run)
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        write_ms = (time.perf_counter() - started) * 1000
        episodes = len(run.data["episodes"])
        loads, ready = [], []
        with Browser() as b:
            for _ in range(3):
                b.open("about:blank")
                started = time.perf_counter()
                b.open(page.as_uri())
                loads.append((time.perf_counter() - started) * 1000)
                ready.append(b.eval("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            assert not b.errors, b.errors
            if args.screenshot:
                failed = next(e for e in run.data["episodes"] if e["reward"] < 1 and e["details"])
                b.eval(f"(() => {{ const d = document.getElementById('ep-{failed['task_id']}-{failed['trial']}');"
                       " document.getElementById('only-failures').click(); d.open = true;"
                       " document.getElementById('tasks').scrollIntoView(); })()")
                b.screenshot(args.screenshot)
        print(f"episodes {episodes}, page {len(html.encode()) / 1024:.0f} KiB, write {write_ms:.0f} ms")
        print(f"chromium navigation to load event: median {statistics.median(loads):.0f} ms (runs: {', '.join(f'{x:.0f}' for x in loads)}); "
              f"page's own loadEventEnd {statistics.median(ready):.0f} ms")
        print(f"report_write_ms={write_ms:.0f} report_load_ms={statistics.median(loads):.0f}")


if __name__ == "__main__":
    main()

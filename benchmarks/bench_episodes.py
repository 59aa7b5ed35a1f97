"""Orchestration overhead: the cost of an episode step, everything but the model calls.

    python benchmarks/bench_episodes.py

Runs the oracle agent with the scripted user on every benchmark task of each domain (from
../shared/tau2; the project's own tasks when it is absent), timing the agent's and the user's
decisions separately and subtracting them: what is left is the protocol, tool execution,
guards, the fidelity monitor, conversation views and the final reward. Also times creating
and resetting episodes.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "tau2"
sys.path.insert(0, str(ROOT))

from eigendsl.episode.agents import OracleAgent  # noqa: E402
from eigendsl.episode.episode import Episode  # noqa: E402
from eigendsl.episode.users import ScriptedUser  # noqa: E402
from eigendsl.interop.tau2 import load_tasks  # noqa: E402
from eigendsl.interop.tau2_tasks import to_eig  # noqa: E402
from eigendsl.runtime.environment import CompiledDomain  # noqa: E402
from eigendsl.compiler import load_domain  # noqa: E402


class Timed:
    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0

    def reset(self, *a):
        return self.inner.reset(*a)

    def respond(self, messages, tools):
        started = time.perf_counter()
        try:
            return self.inner.respond(messages, tools)
        finally:
            self.seconds += time.perf_counter() - started


def load(domain: str, folder: Path) -> CompiledDomain:
    shared = SHARED / domain
    if not shared.is_dir():
        return load_domain(ROOT / "domains" / f"{domain}.eig")
    out = folder / f"{domain}.eig"
    out.write_text(to_eig(load_tasks(shared / "tasks.json"), ROOT / "domains" / f"{domain}.eig", out, "tasks.json"))
    user_db = shared / "user_db.json"
    return load_domain(out, shared / "db.json", user_db if user_db.is_file() else None)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("airline", "retail", "telecom"):
            domain = load(name, Path(tmp))
            tasks = list(domain.ir.tasks)
            per_step, steps_total = [], 0
            for _ in range(3):
                for task in tasks:
                    agent, user = Timed(OracleAgent()), Timed(ScriptedUser())
                    started = time.perf_counter()
                    episode = Episode(domain, task, user)
                    messages = episode.reset()
                    agent.reset(task, domain, 0)
                    while not episode.done:
                        messages = episode.step(agent.respond(messages, episode.tools)).observation
                    episode.result()
                    total = time.perf_counter() - started
                    overhead = total - agent.seconds - user.seconds
                    per_step.append(overhead / max(1, episode.steps) * 1e6)
                    steps_total += episode.steps
            started = time.perf_counter()
            many = [Episode(domain, tasks[i % len(tasks)], ScriptedUser()) for i in range(1000)]
            create_us = (time.perf_counter() - started) / 1000 * 1e6
            started = time.perf_counter()
            for e in many:
                e.reset()
            reset_us = (time.perf_counter() - started) / 1000 * 1e6
            print(f"{name}: {len(tasks)} tasks x 3, {steps_total} steps; overhead per step median "
                  f"{statistics.median(per_step):.0f} us (p90 {sorted(per_step)[int(len(per_step) * 0.9)]:.0f} us); "
                  f"create an episode {create_us:.0f} us, reset (initial state + opening message) {reset_us:.0f} us")


if __name__ == "__main__":
    main()

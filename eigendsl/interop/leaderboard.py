"""pass^k as the tau2-bench leaderboard computes it, for a results file scored again by `eigendsl score`.

tau2's metrics (metrics/agent_metrics.py): simulations that ended in an infrastructure error
are left out; a simulation succeeds when its reward is 1 (within 1e-6); k runs from 1 to the
file's `info.num_trials`, capped by the fewest simulations any task has; a task's pass^k is
C(successes, k) / C(simulations, k), and the file's pass^k is the mean over its tasks.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

INFRASTRUCTURE_ERROR = "infrastructure_error"


def is_successful(reward: float) -> bool:
    return (1 - 1e-6) <= reward <= (1 + 1e-6)


def pass_hat_k(trials: int, successes: int, k: int) -> float:
    return math.comb(successes, k) / math.comb(trials, k)


def pass_hat_ks(rewards: list[tuple[str, float]], num_trials: int | None) -> dict[int, float]:
    """{k: pass^k} over (task_id, reward) pairs, as the leaderboard computes it."""
    per_task: dict[str, list[bool]] = {}
    for task_id, reward in rewards:
        per_task.setdefault(str(task_id), []).append(is_successful(reward))
    if not per_task:
        return {}
    max_k = min(len(v) for v in per_task.values())
    if num_trials:
        max_k = min(max_k, num_trials)
    return {k: sum(pass_hat_k(len(v), sum(v), k) for v in per_task.values()) / len(per_task) for k in range(1, max_k + 1)}


@dataclass
class Published:
    """What a results file says of itself: its domain, trials and the rewards it recorded."""

    domain: str | None = None
    num_trials: int | None = None
    recorded: dict[str, tuple[str, float]] = field(default_factory=dict)  # simulation id -> (task id, reward)
    infrastructure: set[str] = field(default_factory=set)  # ids of simulations that never ran
    tasks: set[str] = field(default_factory=set)  # ids of the tasks the file carries
    simulated: set[str] = field(default_factory=set)  # ids of the tasks its simulations ran


def published(path: str | Path) -> Published | None:
    """The results file's own account, or None when the file is not tau2-bench results."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("simulations"), list) or not isinstance(data.get("info"), dict):
        return None
    info = data["info"]
    env = info.get("environment_info") if isinstance(info.get("environment_info"), dict) else {}
    trials = info.get("num_trials")
    out = Published(env.get("domain_name") or info.get("domain_name"), trials if isinstance(trials, int) else None)
    out.tasks = {str(t["id"]) for t in data.get("tasks") or [] if isinstance(t, dict) and "id" in t}
    out.simulated = {str(s["task_id"]) for s in data["simulations"] if isinstance(s, dict) and "task_id" in s}
    for n, sim in enumerate(data["simulations"], 1):
        if not isinstance(sim, dict):
            continue
        ident = str(sim.get("id", f"record {n}"))
        if sim.get("termination_reason") == INFRASTRUCTURE_ERROR:
            out.infrastructure.add(ident)
        reward = (sim.get("reward_info") or {}).get("reward") if isinstance(sim.get("reward_info"), dict) else None
        if isinstance(reward, (int, float)) and not isinstance(reward, bool):
            out.recorded[ident] = (str(sim.get("task_id")), float(reward))
    return out


def summary(pub: Published, lines: list[dict], skipped: list[str]) -> list[str]:
    """The lines `score` prints for a results file: pass^k as scored here and as recorded there,
    the simulations whose rewards differ, and the records skipped with their reasons."""
    def ident(line: dict) -> str:
        return str(line.get("id"))

    counted = [ln for ln in lines if ident(ln) not in pub.infrastructure and ln.get("termination_reason") != INFRASTRUCTURE_ERROR]
    scored = pass_hat_ks([(ln["task_id"], ln["reward"]) for ln in counted], pub.num_trials)
    recorded = pass_hat_ks([v for k, v in pub.recorded.items() if k not in pub.infrastructure], pub.num_trials)
    domain = pub.domain or "?"
    out = [f"{domain}: {len(counted)} simulation(s) of {len({ln['task_id'] for ln in counted})} task(s), "
           f"num_trials {pub.num_trials or '?'}; {len(pub.infrastructure)} infrastructure error(s) left out as the leaderboard does"]
    out.append(f"{domain} pass^k scored here:  " + ("  ".join(f"pass^{k} {v:.4f}" for k, v in scored.items()) or "none"))
    if recorded:
        out.append(f"{domain} pass^k as recorded:  " + "  ".join(f"pass^{k} {v:.4f}" for k, v in recorded.items()))
        differ = [ident(ln) for ln in counted if ident(ln) in pub.recorded
                  and is_successful(ln["reward"]) != is_successful(pub.recorded[ident(ln)][1])]
        out.append(f"{domain} success differs from the recorded reward on {len(differ)} simulation(s)"
                   + (f": {', '.join(differ[:10])}" if differ else ""))
    reasons = Counter(reason_of(s) for s in skipped)
    out.append(f"{domain} could not score {len(skipped)} record(s)"
               + (": " + "; ".join(f"{n}x {r}" for r, n in reasons.most_common()) if skipped else ""))
    return out


def reason_of(message: str) -> str:
    """A skip message without the record's own number, id and message index (to count alike ones)."""
    text = re.sub(r"^record \d+( \(id [^)]*\))?: ", "", message)
    return re.sub(r"message \d+", "message N", re.sub(r"'[^']*'", "'…'", text))[:160]

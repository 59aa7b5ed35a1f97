"""tau2-bench's results format: episodes of this project as its `simulations`, and gold runs.

`results_json` turns finished `eval` episodes into the benchmark's results file (`timestamp`,
`info`, `tasks`, `simulations`), so its viewers and scripts read them; `gold_simulation` builds
the run of an agent that plays a task's gold actions and says what it must, in the benchmark's
message format (tests and the scoring benchmark start from it). Field names and shapes are the
benchmark's; values it has and this project does not (costs, git commit) are null.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from .. import ir
from ..runtime.environment import CompiledDomain
from ..verify.reward import TaskChecker
from .tau2_tasks import to_tau2

# This project's endings as the benchmark names them: a transfer or an out-of-scope answer is
# the user's stop there.
TERMINATION = {"transfer": "user_stop", "out_of_scope": "user_stop"}


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            return raw
    return raw


def tau2_messages(turns: list[dict]) -> list[dict]:
    """This project's episode messages (Turn.to_json) in the benchmark's message format."""
    out = []
    for i, t in enumerate(turns):
        role = t.get("role")
        if role == "tool":
            requestor = "assistant" if t.get("side", ir.Side.AGENT) == ir.Side.AGENT else "user"
            out.append({"id": t.get("tool_call_id"), "role": "tool", "content": t.get("content"),
                        "requestor": requestor, "error": bool(t.get("error")), "turn_idx": i, "timestamp": None})
            continue
        requestor = "assistant" if role == "assistant" else "user"
        calls = [{"id": c.get("id"), "name": c.get("name"), "arguments": _arguments(c.get("arguments")),
                  "requestor": requestor} for c in t.get("tool_calls") or []]
        out.append({"role": role, "content": t.get("content"), "tool_calls": calls or None,
                    "turn_idx": i, "timestamp": None, "cost": None, "usage": t.get("usage")})
    return out


def simulation_json(entry: dict) -> dict:
    """One finished `eval` episode as a tau2 `SimulationRun`."""
    breakdown = {k: v for k, v in (entry.get("components") or {}).items() if v is not None}
    return {
        "id": f"{entry['task_id']}:{entry.get('trial', 0)}",
        "task_id": entry["task_id"],
        "timestamp": None, "start_time": None, "end_time": None,
        "duration": entry.get("seconds"),
        "termination_reason": TERMINATION.get(entry.get("termination"), entry.get("termination")),
        "agent_cost": None, "user_cost": None,
        "reward_info": {"reward": entry.get("reward"), "reward_basis": entry.get("basis"),
                        "reward_breakdown": breakdown, "info": entry.get("details") or None},
        "messages": tau2_messages(entry.get("messages") or []),
        "trial": entry.get("trial", 0),
        "seed": entry.get("seed"),
    }


def results_json(domain: CompiledDomain, tasks: list[ir.TaskDef], episodes: list[dict], config: dict) -> dict:
    """The benchmark's results file for an evaluation's episodes."""
    return {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "info": {
            "git_commit": None,
            "num_trials": config.get("trials"),
            "max_steps": config.get("max_steps"),
            "max_errors": config.get("max_errors"),
            "user_info": {"implementation": "eigendsl", "llm": str(config.get("user")), "llm_args": {}},
            "agent_info": {"implementation": "eigendsl", "llm": str(config.get("agent")), "llm_args": {}},
            "environment_info": {"domain_name": domain.name, "policy": domain.policy_text, "tool_defs": None},
            "seed": None,
        },
        "tasks": [to_tau2(t, domain.ir) for t in tasks],
        "simulations": [simulation_json(e) for e in episodes],
    }


def gold_simulation(checker: TaskChecker, termination: str = "user_stop", sim_id: str | None = None,
                    calls: list[ir.CallSpec] | list[tuple[str, str, Any]] | None = None) -> dict:
    """A run that plays `calls` (default: the gold actions) then says what the task requires.

    `calls` may be (actor, name, arguments) triples, to build perturbed runs; the tool results
    recorded are this project's, so the record replays without disagreement.
    """
    task = checker.task
    env = checker.start()
    steps = [(c.actor, c.name, dict(c.args)) for c in (task.gold or ())] if calls is None else [
        (c.actor, c.name, dict(c.args)) if isinstance(c, ir.CallSpec) else c for c in calls]
    messages: list[dict] = [{"role": "assistant", "content": "Hi! How can I help you today?"},
                            {"role": "user", "content": "I need help with my request."}]
    for i, (actor, name, arguments) in enumerate(steps):
        result = env.call(name, arguments, actor)
        requestor = "assistant" if actor == ir.Side.AGENT else "user"
        call_id = f"call_{i}"
        messages.append({"role": requestor, "content": None,
                         "tool_calls": [{"id": call_id, "name": name, "arguments": arguments, "requestor": requestor}]})
        messages.append({"id": call_id, "role": "tool", "content": result.text, "requestor": requestor, "error": not result.ok})
    said = " ".join(task.communicate) if task.communicate else "It is done."
    messages.append({"role": "assistant", "content": said})
    messages.append({"role": "user", "content": "Thanks. ###STOP###"})
    return {"id": sim_id or f"{task.id}:gold", "task_id": task.id, "termination_reason": termination, "messages": messages}


def write_results(path, run) -> None:
    """Write an Evaluation's finished episodes (eval/runner.py) as the benchmark's results file."""
    from ..files import write_atomic

    order = {t.id: i for i, t in enumerate(run.tasks)}
    episodes = sorted(run.episodes, key=lambda e: (order.get(e["task_id"], 0), e["trial"]))
    payload = results_json(run.domain, run.tasks, episodes, run.config)
    write_atomic(path, [json.dumps(payload, ensure_ascii=False, indent=1)])

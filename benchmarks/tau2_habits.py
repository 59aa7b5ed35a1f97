"""Freeze trajectories with real models' habits, rewarded by tau2-bench itself (tests/data/tau2_habits/).

    PYTHONPATH=$PWD python benchmarks/tau2_habits.py [--out tests/data/tau2_habits] [--domains airline,retail,telecom]

For every write tool of each benchmark domain (tau2's `mutates_state` tools, the agent's and the
user's), the first of the benchmark's tasks whose gold actions call it and earn 1 (else the first
task whose calls name the write's ids, with the write appended to its gold actions) is played in tau2-bench's own environment with the habits real models have, each call run
as its orchestrator runs one (`Environment.get_response`), and scored by its evaluator
(`evaluate_simulation`, `EvaluationType.ALL`):

- the gold calls of each side gathered in one message, `content: ""` beside them, with unique,
  repeated (`"-1"`) and missing ids; one call per message with one id reused throughout;
- the write's objects with keys their models lack, at every nesting level (inside each object;
  a top-level argument the tool does not take is a tool error there);
- a wrong call (an unknown argument) and the right one in one message; the wrong one alone, an
  object missing a key, the write left out (unrewarded runs);
- the repeated-id run in the OpenAI wire form (arguments as JSON text, `tool_call_id`).

NL assertions need a judge model on both sides, so they are left out of the frozen tasks' reward
basis (as benchmarks/tau2_crosscheck.py leaves them out); everything else is the benchmark's.

Each domain's runs are written as a tau2 results file (`info`, `tasks`, `simulations`, each with
tau2's `reward_info`), which `eigendsl score` reads as it is; tests/test_tau2_habits.py checks that
score agrees with every frozen reward (without tau2). tau2-bench runs in its own Python
($EIGENDSL_TAU2_PYTHON, default /tmp/tau2-venv/bin/python; see benchmarks/tau2_crosscheck.py):
this file is run there with --tau2-side and imports nothing of the project then.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EIGENDSL_TAU2_DIR", ROOT.parent / "shared" / "tau2"))
GREETING = "Hi! How can I help you today?"
EXTRA = {"note": "as the customer asked", "price": 0}  # keys no argument model of the benchmark has
# Values for the arguments of a write no benchmark task calls, where the task's own calls do not
# give them (the write is then appended to the gold actions of a task that names its ids).
FILL = {"reason": "The customer asked for it.", "amount": 50, "apn_settings": {"apn_name": "internet", "mms_apn": "mms"}}


# ---------------------------------------------------------------- tau2's side (runs under tau2's Python)


def with_extra_keys(value, depth: int = 0):
    """Every object below the top level of the arguments gets keys its model lacks."""
    if isinstance(value, list):
        return [with_extra_keys(x, depth) for x in value]
    if isinstance(value, dict):
        inner = {k: with_extra_keys(v, depth + 1) for k, v in value.items()}
        return {**inner, **EXTRA} if depth > 0 else inner
    return value


def missing_a_key(value, depth: int = 0):
    """The first object below the top level without its first key."""
    if isinstance(value, list):
        return [missing_a_key(value[0], depth)] + value[1:] if value else value
    if isinstance(value, dict):
        if depth > 0 and value:
            return dict(list(value.items())[1:])
        for k, v in value.items():
            changed = missing_a_key(v, depth + 1)
            if changed != v:
                return {**value, k: changed}
    return value


def has_objects(arguments: dict) -> bool:
    return any(isinstance(v, dict) or (isinstance(v, list) and any(isinstance(x, dict) for x in v)) for v in arguments.values())


def variants(actions: list, write: str) -> list[tuple[str, str, list]]:
    """(name, ids, steps) per habit; steps are messages as lists of (requestor, name, arguments)."""
    gold = [(a.requestor, a.name, dict(a.arguments)) for a in actions]
    at = next(i for i, (_, n, _) in enumerate(gold) if n == write)
    requestor, _, arguments = gold[at]

    def grouped(calls):  # consecutive calls of one side in one message
        steps = []
        for c in calls:
            if steps and steps[-1][0][0] == c[0]:
                steps[-1].append(c)
            else:
                steps.append([c])
        return steps

    wrong = (requestor, write, {**arguments, "note": "as the customer asked"})
    out = [("one-message", "unique", grouped(gold)), ("one-message", "repeated", grouped(gold)),
           ("one-message", "missing", grouped(gold)), ("one-per-message", "reused", [[c] for c in gold]),
           ("wrong-and-right", "repeated", grouped(gold[:at] + [wrong] + gold[at:])),
           ("wrong-only", "repeated", grouped(gold[:at] + [wrong] + gold[at + 1:])),
           ("write-left-out", "repeated", grouped(gold[:at] + gold[at + 1:])),
           ("openai-wire", "repeated", grouped(gold))]
    if has_objects(arguments):
        loose = (requestor, write, with_extra_keys(arguments))
        out.append(("unknown-keys-inside", "repeated", grouped(gold[:at] + [loose] + gold[at + 1:])))
        out.append(("unknown-keys-inside", "unique", [[c] for c in gold[:at] + [loose] + gold[at + 1:]]))
        out.append(("object-missing-a-key", "repeated", grouped(gold[:at] + [(requestor, write, missing_a_key(arguments))] + gold[at + 1:])))
    return out


def call_id(ids: str, n: int) -> str:
    return {"unique": f"call_{n}", "repeated": "-1", "missing": "", "reused": "call_0"}[ids]


def openai_form(messages: list[dict]) -> list[dict]:
    """tau2 messages in the OpenAI wire form: arguments as JSON text, results by tool_call_id."""
    out = []
    for m in messages:
        if m["role"] == "tool":
            out.append({"role": "tool", "tool_call_id": m["id"], "content": m["content"]})
        elif m.get("tool_calls"):
            out.append({"role": m["role"], "content": m.get("content"), "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                for c in m["tool_calls"]]})
        else:
            out.append({"role": m["role"], "content": m.get("content")})
    return out


def tau2_side(domain: str, tasks_file: str, db: str | None, user_db: str | None) -> dict:
    import importlib
    import inspect
    from datetime import datetime

    from tau2.data_model.message import AssistantMessage, ToolCall, UserMessage
    from tau2.data_model.simulation import SimulationRun, TerminationReason
    from tau2.data_model.tasks import Task
    from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation
    from tau2.registry import registry

    module = importlib.import_module(f"tau2.domains.{domain}.environment")
    if db:
        setattr(module, f"{domain.upper()}_DB_PATH", db)
    if user_db:
        setattr(module, f"{domain.upper()}_USER_DB_PATH", user_db)
    make_env = registry.get_env_constructor(domain)
    probe = make_env()
    writes = [(side, name) for kit, side in ((probe.tools, "assistant"), (probe.user_tools, "user")) if kit is not None
              for name in kit.tools if kit.tool_mutates_state(name)]
    raw_tasks = json.loads(Path(tasks_file).read_text(encoding="utf-8"))
    for raw in raw_tasks:  # NL assertions need a judge model on both sides: left out of both rewards
        criteria = raw.get("evaluation_criteria") or {}
        if "NL_ASSERTION" in (criteria.get("reward_basis") or []):
            criteria["reward_basis"] = [b for b in criteria["reward_basis"] if b != "NL_ASSERTION"]
            criteria["nl_assertions"] = None
    tasks = [(raw, Task.model_validate(raw)) for raw in raw_tasks]

    def play(task, steps, ids: str, sim_id: str):
        state = task.initial_state
        env = make_env()
        env.set_state(initialization_data=state.initialization_data if state else None,
                      initialization_actions=state.initialization_actions if state else None, message_history=[])
        messages = [AssistantMessage(role="assistant", content=GREETING), UserMessage(role="user", content="I need help with my request.")]
        n = 0
        for step in steps:
            calls = []
            for requestor, name, arguments in step:
                calls.append(ToolCall(id=call_id(ids, n), name=name, arguments=arguments, requestor=requestor))
                n += 1
            kind = AssistantMessage if step[0][0] == "assistant" else UserMessage
            messages.append(kind(role=step[0][0], content="", tool_calls=calls))
            messages += [env.get_response(c) for c in calls]  # as the orchestrator runs them, in order
        info = task.evaluation_criteria.communicate_info if task.evaluation_criteria else None
        messages.append(AssistantMessage(role="assistant", content=" ".join(info) if info else "It is done."))
        messages.append(UserMessage(role="user", content="Thanks. ###STOP###"))
        now = datetime.now().isoformat()
        run = SimulationRun(id=sim_id, task_id=task.id, start_time=now, end_time=now, duration=0.0,
                            termination_reason=TerminationReason.USER_STOP, messages=messages)
        reward = evaluate_simulation(run, task, EvaluationType.ALL, solo_mode=False, domain=domain)
        record = run.model_dump(mode="json")
        record["reward_info"] = reward.model_dump(mode="json")
        return record, reward.reward

    def appended(side: str, write: str):
        """A benchmark task with `write` appended to its gold actions, its arguments taken from
        the task's own calls (and FILL), where the gold then earns 1 and the write succeeds."""
        kit = probe.tools if side == "assistant" else probe.user_tools
        params = [p for p in inspect.signature(kit.tools[write]).parameters]
        for raw, task in tasks:
            criteria = task.evaluation_criteria
            if criteria is None or not criteria.actions:
                continue
            seen = {k: v for a in criteria.actions for k, v in a.arguments.items()}
            if any(p not in seen and p not in FILL for p in params):
                continue
            raw = copy.deepcopy(raw)
            raw["id"] = f"{raw['id']}+{write}"
            raw["evaluation_criteria"]["actions"].append({"action_id": f"{raw['id']}_added", "requestor": side, "name": write,
                                                          "arguments": {p: seen.get(p, FILL.get(p)) for p in params}, "info": None})
            task = Task.model_validate(raw)
            record, reward = play(task, [[(a.requestor, a.name, dict(a.arguments))] for a in task.evaluation_criteria.actions], "unique", "probe")
            if reward == 1.0 and not any(m.get("error") for m in record["messages"][-4:-2]):
                return raw, task
        return None

    simulations, used, coverage = [], {}, []
    for side, write in writes:
        found = None
        for raw, task in tasks:
            criteria = task.evaluation_criteria
            if criteria is None or not criteria.actions:
                continue
            if not any(a.name == write and a.requestor == side for a in criteria.actions):
                continue
            record, reward = play(task, [[(a.requestor, a.name, dict(a.arguments))] for a in criteria.actions], "unique", "probe")
            if reward == 1.0:
                found = (raw, task)
                break
        if found is None:
            found = appended(side, write)
        if found is None:
            coverage.append({"tool": write, "side": side, "task": None})
            continue
        raw, task = found
        used[task.id] = raw
        habits = []
        for habit, ids, steps in variants(task.evaluation_criteria.actions, write):
            sim_id = f"{write}:{habit}:{ids}"
            record, reward = play(task, steps, ids, sim_id)
            record = {k: record[k] for k in ("id", "task_id", "termination_reason", "messages", "reward_info")}
            record["messages"] = [{k: v for k, v in m.items() if k in ("role", "content", "tool_calls", "id", "requestor", "error")}
                                  for m in record["messages"]]
            if ids == "missing":  # the ids left out, as some serving stacks send them
                for m in record["messages"]:
                    m.pop("id", None) if m["role"] == "tool" else [c.pop("id", None) for c in m.get("tool_calls") or []]
            if habit == "openai-wire":
                record["messages"] = openai_form(record["messages"])
            simulations.append(record)
            habits.append((habit, ids, reward))
        coverage.append({"tool": write, "side": side, "task": task.id, "habits": habits,
                         **({"appended": True} if "+" in task.id else {})})
    return {"info": {"generator": "benchmarks/tau2_habits.py", "domain_name": domain, "evaluation_type": "all",
                     "coverage": coverage},
            "tasks": list(used.values()), "simulations": simulations}


# ---------------------------------------------------------------- the project's side


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "tests" / "data" / "tau2_habits"))
    parser.add_argument("--domains", default="airline,retail,telecom")
    parser.add_argument("--tau2-side", nargs=4, metavar=("DOMAIN", "TASKS", "DB", "USER_DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tau2_side:
        domain, tasks, db, user_db = args.tau2_side
        json.dump(tau2_side(domain, tasks, db or None, user_db or None), sys.stdout)
        return 0
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tau2_crosscheck import tau2_missing, tau2_python

    missing = tau2_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for domain in args.domains.split(","):
        shared = SHARED / domain
        user_db = shared / "user_db.json"
        proc = subprocess.run([tau2_python(), __file__, "--tau2-side", domain, str(shared / "tasks.json"), str(shared / "db.json"),
                               str(user_db) if user_db.is_file() else ""], capture_output=True, text=True,
                              env={**os.environ, "TAU2_DATA_DIR": str(SHARED / "bench" / "data"), "LOGURU_LEVEL": "ERROR"})
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        results = json.loads(proc.stdout)
        (out / f"{domain}.json").write_text(json.dumps(results, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
        rewards = [s["reward_info"]["reward"] for s in results["simulations"]]
        tools = results["info"]["coverage"]
        print(f"{domain}: {len(rewards)} runs ({sum(r == 1.0 for r in rewards)} rewarded) over {sum(1 for t in tools if t['task'])}"
              f"/{len(tools)} write tools; no task calls: {', '.join(t['tool'] for t in tools if not t['task']) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

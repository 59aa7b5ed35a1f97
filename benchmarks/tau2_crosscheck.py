"""Cross-check exported tasks in tau2-bench itself: does each task's gold earn there what it earns here?

    PYTHONPATH=$PWD python benchmarks/tau2_crosscheck.py TASKS.json [TASKS.json ...] \
        [--domain domains/telecom.eig] [--db DB.json] [--user-db USER_DB.json] [--out report.json]

TASKS.json is what `eigendsl export-tau2` writes. For every task this prints the gold reward the
project gives (its checker on an independent replay of the gold by an oracle agent) beside the
reward tau2-bench's own evaluator gives a simulation made of the same gold: tau2's environment
runs the initial state and then every gold action as a tool call of its requestor through
`Environment.get_response` (as its orchestrator does, syncing the user's surroundings after
each call), an agent message says the `communicate_info` strings, and `evaluate_simulation`
scores the run with `EvaluationType.ALL`. NL assertions need a judge model in both places and
are left out of both rewards (the report says so). Where the rewards differ, or tau2's is not
1, the first difference is named: a failed gold call, the first path where tau2's gold
database and the simulated one differ, a failed env assertion, an unmatched gold action.

Both sides run on the same data: --db/--user-db, else the domain's own data files. tau2-bench
runs in its own Python (3.12+, `pip install ../shared/tau2/bench`), given by
$EIGENDSL_TAU2_PYTHON (default /tmp/tau2-venv/bin/python); this file is run there with
--tau2-side and imports nothing of the project then. Exit status: 0 when every task earns 1 in
both, 1 when some task does not, 2 when tau2-bench or its source is not available.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAU2_DIR = Path(os.environ.get("EIGENDSL_TAU2_DIR", ROOT.parent / "shared" / "tau2"))
UNAVAILABLE = 2


def tau2_python() -> str:
    return os.environ.get("EIGENDSL_TAU2_PYTHON", "/tmp/tau2-venv/bin/python")


def tau2_missing() -> str | None:
    """Why tau2-bench cannot be run here, or None when it can."""
    if not (TAU2_DIR / "bench" / "data").is_dir():
        return f"tau2-bench's source is not at {TAU2_DIR / 'bench'} (set EIGENDSL_TAU2_DIR to the shared tau2 folder)"
    python = tau2_python()
    if not Path(python).is_file():
        return (f"no Python with tau2-bench at {python}: make one with `python3.12 -m venv /tmp/tau2-venv && "
                f"/tmp/tau2-venv/bin/pip install {TAU2_DIR / 'bench'}` or set EIGENDSL_TAU2_PYTHON")
    probe = subprocess.run([python, "-c", "import sys, tau2; assert sys.version_info >= (3, 12)"], capture_output=True,
                           text=True, env={**os.environ, "TAU2_DATA_DIR": str(TAU2_DIR / "bench" / "data")})
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["(no message)"])[-1]
        return f"{python} cannot import tau2-bench (Python 3.12+ with `pip install {TAU2_DIR / 'bench'}`): {last}"
    return None


# ---------------------------------------------------------------- tau2's side (runs under tau2's Python)


def first_difference(a, b, path: str = "") -> str | None:
    """The first path where two JSON values differ, with both values (shortened)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{path}.{k}: {'missing' if k not in a else 'present'} in tau2's gold, {'missing' if k not in b else 'present'} after the gold run"
            found = first_difference(a[k], b[k], f"{path}.{k}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None if len(a) == len(b) else f"{path}: {len(a)} item(s) in tau2's gold, {len(b)} after the gold run"
    if a != b:
        return f"{path}: {json.dumps(a, default=str)[:80]} in tau2's gold, {json.dumps(b, default=str)[:80]} after the gold run"
    return None


def tau2_side(tasks_file: str, domain: str, db: str | None, user_db: str | None) -> list[dict]:
    from datetime import datetime

    from tau2.data_model.message import AssistantMessage, ToolCall, UserMessage
    from tau2.data_model.simulation import SimulationRun, TerminationReason
    from tau2.data_model.tasks import RewardType, Task
    from tau2.evaluator.evaluator import EvaluationType, evaluate_simulation
    from tau2.registry import registry
    import importlib

    module = importlib.import_module(f"tau2.domains.{domain}.environment")
    # The domain's data (tau2 reads these module globals each time it builds an environment).
    if db:
        setattr(module, f"{domain.upper()}_DB_PATH", db)
    if user_db:
        setattr(module, f"{domain.upper()}_USER_DB_PATH", user_db)
    make_env = registry.get_env_constructor(domain)
    out = []
    for raw in json.loads(Path(tasks_file).read_text(encoding="utf-8")):
        task = Task.model_validate(raw)
        criteria = task.evaluation_criteria
        state = task.initial_state
        init_data = state.initialization_data if state else None
        init_actions = state.initialization_actions if state else None
        env = make_env()
        env.set_state(initialization_data=init_data, initialization_actions=init_actions, message_history=[])
        messages, failed_calls = [], []
        for i, action in enumerate(criteria.actions or [] if criteria else []):
            call = ToolCall(id=f"gold_{i}", name=action.name, arguments=action.arguments, requestor=action.requestor)
            kind = AssistantMessage if action.requestor == "assistant" else UserMessage
            messages.append(kind(role=action.requestor, content=None, tool_calls=[call]))
            response = env.get_response(call)  # as the orchestrator runs a call: the tool, then sync_tools
            messages.append(response)
            if response.error:
                failed_calls.append(f"gold call {i} {action.name}: {response.content[:120]}")
        if criteria and criteria.communicate_info:
            messages.append(AssistantMessage(role="assistant", content=" ".join(criteria.communicate_info)))
        not_checked = []
        scored = task
        if criteria and RewardType.NL_ASSERTION in criteria.reward_basis:
            not_checked = ["NL_ASSERTION"]
            basis = [b for b in criteria.reward_basis if b != RewardType.NL_ASSERTION]
            scored = task.model_copy(update={"evaluation_criteria": criteria.model_copy(update={"reward_basis": basis})})
        now = datetime.now().isoformat()
        run = SimulationRun(id=f"gold-{task.id}", task_id=task.id, start_time=now, end_time=now, duration=0.0,
                            termination_reason=TerminationReason.AGENT_STOP, messages=messages)
        info = evaluate_simulation(run, scored, EvaluationType.ALL, solo_mode=False, domain=domain)
        breakdown = {str(getattr(k, "value", k)): v for k, v in (info.reward_breakdown or {}).items()}
        difference = failed_calls[0] if failed_calls else None
        if difference is None and breakdown.get("DB", 1.0) < 1.0:
            # tau2's gold database: the evaluator's own way, gold calls without sync_tools in between
            gold = make_env()
            gold.set_state(initialization_data=init_data, initialization_actions=init_actions, message_history=[])
            for action in criteria.actions or []:
                try:
                    gold.make_tool_call(tool_name=action.name, requestor=action.requestor, **action.arguments)
                except Exception:  # noqa: BLE001 - the evaluator logs and goes on; so does this replay
                    pass
            for side, kit in (("db", "tools"), ("user_db", "user_tools")):
                a, b = getattr(gold, kit), getattr(env, kit)
                if a is not None and b is not None:
                    found = first_difference(a.db.model_dump(mode="json"), b.db.model_dump(mode="json"), side)
                    if found:
                        difference = f"DB differs at {found}"
                        break
        if difference is None:
            unmet = [c.env_assertion.func_name for c in info.env_assertions or [] if not c.met]
            unmatched = [c.action.name for c in info.action_checks or [] if not c.action_match]
            missing = [c.info for c in info.communicate_checks or [] if not c.met]
            if unmet:
                difference = f"env assertion {unmet[0]} not met"
            elif unmatched:
                difference = f"gold action {unmatched[0]} not matched"
            elif missing:
                difference = f"communicate_info {missing[0]!r} not found"
            elif info.reward < 1.0:
                difference = str(info.info)[:200]
        out.append({"task_id": task.id, "reward": info.reward, "breakdown": breakdown, "not_checked": not_checked,
                    "difference": difference})
    return out


# ---------------------------------------------------------------- the project's side


def project_side(tasks_file: Path, domain_file: Path, db: str | None, user_db: str | None) -> dict[str, dict]:
    """Each exported task's gold reward here, on the same data."""
    sys.path.insert(0, str(ROOT))
    from eigendsl.interop.task_source import task_file_compilation
    from eigendsl.runtime.environment import CompiledDomain
    from eigendsl.verify.reward import TaskChecker

    c = task_file_compilation(domain_file, tasks_file, db, user_db)
    if not c.ok:
        first = next(d for d in c.diagnostics if d.is_error)
        raise SystemExit(f"{tasks_file}: {first.message}")
    domain = CompiledDomain.from_compilation(c)
    out = {}
    for task in c.domain.tasks:
        checker = TaskChecker(domain, task)
        result = checker.score(checker.replay(), checker.oracle_messages())
        failed = {k: v for k, v in result.details.items()} if result.reward < 1.0 else {}
        out[task.id] = {"reward": result.reward, "breakdown": dict(result.components),
                        "difference": json.dumps(failed, default=str)[:200] if failed else None}
    return out


def data_of(domain_file: Path, db: str | None, user_db: str | None) -> tuple[str | None, str | None]:
    """The data both sides run on: the options, else the domain's own data files."""
    sys.path.insert(0, str(ROOT))
    from eigendsl.compiler import compile_file

    paths = compile_file(domain_file).data_paths
    return (db or (str(paths["agent"]) if "agent" in paths else None),
            user_db or (str(paths["user"]) if "user" in paths else None))


def check(tasks_file: Path, domain_file: Path | None, db: str | None, user_db: str | None) -> list[dict]:
    raw = json.loads(tasks_file.read_text(encoding="utf-8"))
    names = {(t.get("user_scenario") or {}).get("instructions", {}).get("domain") for t in raw
             if isinstance((t.get("user_scenario") or {}).get("instructions"), dict)}
    names.discard(None)
    if domain_file is None:
        if len(names) != 1:
            raise SystemExit(f"{tasks_file}: cannot tell the domain from the tasks ({sorted(names) or 'none named'}); pass --domain")
        domain_file = ROOT / "domains" / f"{names.pop()}.eig"
    db, user_db = data_of(domain_file, db, user_db)
    ours = project_side(tasks_file, domain_file, db, user_db)
    command = [tau2_python(), str(Path(__file__).resolve()), "--tau2-side", str(tasks_file), "--domain-name", domain_file.stem]
    command += ["--db", str(Path(db).resolve())] if db else []
    command += ["--user-db", str(Path(user_db).resolve())] if user_db else []
    env = {**os.environ, "TAU2_DATA_DIR": str(TAU2_DIR / "bench" / "data"), "LOGURU_LEVEL": "ERROR"}
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise SystemExit(f"tau2-bench's side failed on {tasks_file}:\n{run.stderr[-3000:]}")
    theirs = json.loads(run.stdout)
    rows = []
    for t in theirs:
        mine = ours.get(t["task_id"], {"reward": None, "difference": "not compiled here"})
        rows.append({"file": str(tasks_file), "task_id": t["task_id"], "ours": mine["reward"], "tau2": t["reward"],
                     "tau2_breakdown": t["breakdown"], "not_checked": t["not_checked"],
                     "difference": t["difference"] or mine["difference"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tasks", nargs="+", type=Path, help="tau2 task JSON written by `eigendsl export-tau2`")
    ap.add_argument("--domain", type=Path, help="the domain's .eig (default: domains/<the tasks' domain>.eig)")
    ap.add_argument("--db", help="agent-side data both sides run on (default: the domain's own)")
    ap.add_argument("--user-db", help="user-side data (telecom; default: the domain's own)")
    ap.add_argument("--out", type=Path, help="write every row as JSON here")
    ap.add_argument("--tau2-side", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--domain-name", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.tau2_side:
        json.dump(tau2_side(str(args.tasks[0]), args.domain_name, args.db, args.user_db), sys.stdout)
        return 0
    why = tau2_missing()
    if why:
        print(f"tau2-bench is not available, nothing checked: {why}", file=sys.stderr)
        return UNAVAILABLE
    rows = []
    for tasks_file in args.tasks:
        rows += check(tasks_file, args.domain, args.db, args.user_db)
    disagree = [r for r in rows if r["ours"] != r["tau2"]]
    below = [r for r in rows if r["tau2"] != 1.0 or r["ours"] != 1.0]
    for r in below:
        print(f"{r['task_id']}: ours {r['ours']}, tau2 {r['tau2']} {r['tau2_breakdown']}: {r['difference']}")
    unchecked = sorted({n for r in rows for n in r["not_checked"]})
    print(f"{len(rows)} task(s): tau2's gold reward 1 on {sum(r['tau2'] == 1.0 for r in rows)}, ours 1 on "
          f"{sum(r['ours'] == 1.0 for r in rows)}, rewards agree on {len(rows) - len(disagree)}"
          + (f" ({', '.join(unchecked)} left out of both: it needs a judge model)" if unchecked else ""))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())

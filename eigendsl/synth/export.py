"""Kept tasks to tau2-bench's task format, so that they run in tau2-bench itself.

tau2-bench scores with its own reward basis (DB, ENV_ASSERTION, NL_ASSERTION, ACTION,
COMMUNICATE): GOAL, POLICY and REPLY, which it does not know, are left out of the basis.
Little is lost for a synthesized task: its goals pin exactly the changes of its gold final
state, which DB already compares, a refusal's DB check is that nothing changed, and what a
refusal must say is its NL assertion, which tau2-bench's judge scores. Facts have no
field in tau2's format; the scenario text states them.

DB is not kept where tau2-bench cannot reproduce it. In a domain whose user side follows the
agent's data (`derive`d fields; tau2's `sync_tools`), tau2's evaluator builds its reference
state by calling the gold actions without syncing the user side in between or after, while
the run it scores is synced after every call; and such a domain's tools may make up ids at
random (telecom's new bills). A task whose gold changes the agent's data there would earn 0
in tau2 whatever the agent does, so its export scores by ENV_ASSERTION and ACTION instead,
as the benchmark's own tasks of such a domain do: ACTION holds every gold write with its
arguments (benchmarks/tau2_crosscheck.py checks the gold earns 1 in tau2 itself).
"""

from __future__ import annotations

import json
from pathlib import Path

from .. import ir
from ..compiler import compile_file
from ..files import same_file, write_atomic
from ..interop.tau2_tasks import to_tau2
from ..runtime.environment import CompiledDomain
from ..verify.analyses import setup_failures
from ..verify.reward import TaskChecker

TAU2_BASIS = ("DB", "ENV_ASSERTION", "NL_ASSERTION", "ACTION", "COMMUNICATE")


class ExportProblem(Exception):
    """The task file cannot be exported; the message says why."""


def user_side_follows_agent(domain: CompiledDomain) -> bool:
    return any(d.side == ir.Side.USER for d in domain.ir.derives)


def tau2_basis(task: ir.TaskDef, domain: CompiledDomain) -> list[str]:
    """The task's reward basis in what tau2-bench scores, and can score reproducibly (see above)."""
    basis = [getattr(b, "value", b) for b in task.reward if getattr(b, "value", b) in TAU2_BASIS]
    if "DB" in basis and task.gold and user_side_follows_agent(domain) and TaskChecker(domain, task).gold_env.diff(side="agent"):
        basis = [b for b in basis if b != "DB"] + ([] if "ACTION" in basis else ["ACTION"])
    return basis or ["DB"]


def export(tasks_path: Path, out_path: Path) -> int:
    if same_file(tasks_path, out_path):
        raise ExportProblem(f"-o {out_path} is the task file itself, which the export would overwrite; write elsewhere")
    c = compile_file(tasks_path)  # with the domain's data: each task's setup must run on it, as eval and train require
    if not c.ok:
        first = next(d for d in c.diagnostics if d.is_error)
        raise ExportProblem(f"{first.span.file}:{first.span.line}:{first.span.col}: {first.message}")
    own = Path(tasks_path).resolve()
    tasks = [t for t in c.domain.tasks if c.files.get(t.span.file, Path(t.span.file)).resolve() == own]
    if not tasks:
        raise ExportProblem(f"{tasks_path} declares no task")
    broken = setup_failures(CompiledDomain.from_compilation(c), tasks)
    if broken:
        listed = "; ".join(f"{f.task_id} (line {f.span.line}: {f.message})" for f in broken[:5])
        more = f"; and {len(broken) - 5} more" if len(broken) > 5 else ""
        raise ExportProblem(f"{len(broken)} task(s) of {tasks_path} cannot start on the domain's data, so tau2-bench "
                            f"could not run them either; fix or remove them: {listed}{more}")
    out = []
    domain = CompiledDomain.from_compilation(c)
    for task in tasks:
        try:
            record = to_tau2(task, c.domain)
        except ValueError as e:
            raise ExportProblem(f"task {task.id}: {e}")
        record["evaluation_criteria"]["reward_basis"] = tau2_basis(task, domain)
        out.append(record)
    try:
        write_atomic(out_path, [json.dumps(out, indent=2, ensure_ascii=False) + "\n"])
    except OSError as e:
        raise ExportProblem(f"cannot write {out_path}: {e.strerror or e}") from None
    return len(out)

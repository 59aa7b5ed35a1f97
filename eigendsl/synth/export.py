"""Kept tasks to tau2-bench's task format, so that they run in tau2-bench itself.

tau2-bench scores with its own reward basis (DB, ENV_ASSERTION, NL_ASSERTION, ACTION,
COMMUNICATE): GOAL, POLICY and REPLY, which it does not know, are left out of the basis.
Little is lost for a synthesized task: its goals pin exactly the changes of its gold final
state, which DB already compares, a refusal's DB check is that nothing changed, and what a
refusal must say is its NL assertion, which tau2-bench's judge scores. Facts have no
field in tau2's format; the scenario text states them.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..compiler import compile_file
from ..files import same_file, write_atomic
from ..interop.tau2_tasks import to_tau2
from ..runtime.environment import CompiledDomain
from ..verify.analyses import setup_failures

TAU2_BASIS = ("DB", "ENV_ASSERTION", "NL_ASSERTION", "ACTION", "COMMUNICATE")


class ExportProblem(Exception):
    """The task file cannot be exported; the message says why."""


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
    for task in tasks:
        try:
            record = to_tau2(task, c.domain)
        except ValueError as e:
            raise ExportProblem(f"task {task.id}: {e}")
        criteria = record["evaluation_criteria"]
        criteria["reward_basis"] = [b for b in criteria["reward_basis"] if b in TAU2_BASIS] or ["DB"]
        out.append(record)
    try:
        write_atomic(out_path, [json.dumps(out, indent=2, ensure_ascii=False) + "\n"])
    except OSError as e:
        raise ExportProblem(f"cannot write {out_path}: {e.strerror or e}") from None
    return len(out)

"""The request a no-write task leaves out, and the reason its guards give for refusing it.

A synthesized refusal or transfer task records in its `notes` the request its gold does not
make (`Forbidden request: {"actor", "name", "args"}`). Replayed after the task's setup and gold
reads, the request's violated guards say why it is not done, in the words the domain declares
(`guard t { ... } else refuse "reason"`) or else as the policy's failure text.
"""

from __future__ import annotations

import json

from .. import ir

FORBIDDEN = "Forbidden request: "  # a no-write task's `notes`: the request its gold leaves out, as JSON


def forbidden_note(actor: str, name: str, args: dict) -> str:
    return FORBIDDEN + json.dumps({"actor": str(actor), "name": name, "args": args}, sort_keys=True)


def forbidden_request(task: ir.TaskDef) -> dict | None:
    """The request a task's notes record as left out ({"actor", "name", "args"}), or None."""
    note = str((task.texts or {}).get("notes") or "")
    if FORBIDDEN not in note:
        return None
    try:
        request = json.loads(note.split(FORBIDDEN, 1)[1])
    except ValueError:
        return None
    ok = isinstance(request, dict) and isinstance(request.get("name"), str) and isinstance(request.get("args"), dict)
    return request if ok else None


def refusal(domain, task: ir.TaskDef, skip: str | None = None):
    """The forbidden request's result replayed after the task's setup and gold (but `skip`, the
    transfer tool), or None when the task records none. `domain`: a CompiledDomain."""
    from .reward import TaskChecker

    request = forbidden_request(task)
    if request is None:
        return None
    env = TaskChecker(domain, task).start()
    for c in task.gold or ():
        if c.name != skip:
            env.call(c.name, c.args, c.actor)
    return env.call(request["name"], request["args"], request.get("actor", "agent"))


def refusal_reason(domain, task: ir.TaskDef) -> str | None:
    """Why the task's forbidden request is not done, in words: the reason a violated guard
    declares, else the text of that guard's policy, else the tool's failure text; None when the
    task records no forbidden request or the request breaks no rule."""
    result = refusal(domain, task, domain.ir.settings.get("transfer_tool"))
    if result is None:
        return None
    violated = [g for g in result.guards if g.verdict == "violated"]
    for g in violated:
        if g.reason:
            return g.reason
    policies = {p.name: p.text for p in domain.ir.policies}
    for g in violated:
        text = " ".join((policies.get(g.policy) or "").split())
        if text:
            return text
    if result.ok:
        return None
    return (result.text or "").strip().removeprefix("Error:").strip() or None

"""tau2-bench task files to eig task specs and back.

`to_eig` writes a task file that imports its domain; `to_tau2` turns a compiled task back into
the benchmark's JSON. `equivalent_form` is what a round trip preserves: everything the
benchmark evaluates or shows a simulated user (ids of gold actions are renumbered).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .. import ir
from ..confine import HIDDEN_RE, shown
from .tau2 import Tau2Task

ACTOR = {"assistant": "agent", "user": "user"}
REQUESTOR = {"agent": "assistant", "user": "user"}
USER_TEXTS = (("persona", None), ("reason", "reason_for_call"), ("known", "known_info"),
              ("unknown", "unknown_info"), ("instructions", "task_instructions"))
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TaskImportError(ValueError):
    """A task field that cannot be written as eig; the message names the task and the field."""


class Instructions(BaseModel):
    """The user-scenario texts the importer writes out (others are kept by tau2, not by eig)."""

    model_config = ConfigDict(extra="allow")
    reason_for_call: str | None = None
    known_info: str | None = None
    unknown_info: str | None = None
    task_instructions: str | None = None


class Scenario(BaseModel):
    model_config = ConfigDict(extra="allow")
    persona: str | None = None
    instructions: Instructions | str | None = None


def scenario_of(task: Tau2Task) -> Scenario:
    if not isinstance(task.user_scenario, dict):
        return Scenario()
    try:
        return Scenario.model_validate(task.user_scenario)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("Instructions", "str")))
        raise TaskImportError(f"user_scenario.{where}: {err['msg']}") from None


def name(text: Any, where: str) -> str:
    """`text` where the eig grammar wants a name (a tool, an argument, a table, a field)."""
    if isinstance(text, str) and NAME.fullmatch(text):
        return text
    what = shown(text) if isinstance(text, str) else f"a {type(text).__name__}"
    raise TaskImportError(f"{where}: {what} is not a name (letters, digits and '_', not starting with a digit)")


def quote(text: str, interpolated: bool = False) -> str:
    """An eig string literal; braces are escaped where the string is an expression."""
    if not isinstance(text, str):
        raise TaskImportError(f"expected a string, got a {type(text).__name__}")
    hidden = HIDDEN_RE.search(text.replace("\t", " ").replace("\r", " "))
    if hidden is not None:
        raise TaskImportError(f"the string {shown(text[:60])} contains the invisible character U+{ord(hidden.group()):04X}")
    out = ['"']
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif interpolated and ch in "{}":
            out.append("\\" + ch)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def literal(value: Any) -> str:
    """A JSON value as an eig expression (objects become `{"k": v}`, typed by context)."""
    if value is None:
        return "none"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TaskImportError(f"{value} is not a finite number")
        text = repr(value)
        return text if any(c in text for c in ".e") else text + ".0"
    if isinstance(value, str):
        return quote(value, interpolated=True)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{quote(str(k), True)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TaskImportError(f"not a JSON value: {type(value).__name__}")


def call_text(actor: str, tool: str, arguments: dict, compare: list | None = None, where: str = "call") -> str:
    prefix = "user " if actor == "user" else ""
    args = ", ".join(f"{name(k, f'{where}.arguments')}: {literal(v)}" for k, v in arguments.items())
    text = f"{prefix}{name(tool, where)}({args})"
    if compare is not None:
        text += f" compare({', '.join(name(c, f'{where}.compare_args') for c in compare)})"
    return text


def leaf_assignments(root: str, value: Any, path: str = "", where: str = "initialization_data") -> list[str]:
    """tau2's initialization_data merges nested objects into the db: one assignment per leaf."""
    if isinstance(value, dict) and value:
        out = []
        for k, v in value.items():
            step = f"[{literal(k)}]" if not path else f".{name(k, where)}"
            out += leaf_assignments(root, v, path + step, where)
        return out
    return [f"{name(root, where)}{path} = {literal(value)}"]


def task_to_eig(task: Tau2Task, indent: str = "  ") -> str:
    """One task as eig text; every string is quoted and every name checked, so no field can add syntax."""
    try:
        return _task_to_eig(task, indent)
    except TaskImportError as e:
        raise TaskImportError(f"task {shown(str(task.id)[:80])}: {e}") from None


def _task_to_eig(task: Tau2Task, indent: str) -> str:
    lines = [f"task {quote(task.id)} {{"]
    desc = task.description if isinstance(task.description, dict) else {}
    for key, tau2_key in (("purpose", "purpose"), ("notes", "notes"), ("policies", "relevant_policies")):
        if desc.get(tau2_key):
            lines.append(f"{indent}{key} {quote(str(desc[tau2_key]))}")
    ticket = getattr(task, "ticket", None)
    if ticket:
        if not isinstance(ticket, str):
            raise TaskImportError("ticket: expected a string")
        lines.append(f"{indent}ticket {quote(ticket)}")
    scenario = scenario_of(task)
    instructions = scenario.instructions
    user_lines = []
    for key, tau2_key in USER_TEXTS:
        if tau2_key is None:
            text = scenario.persona
        elif isinstance(instructions, Instructions):
            text = getattr(instructions, tau2_key)
        else:
            text = instructions if key == "instructions" else None
        if text:
            user_lines.append(f"{indent * 2}{key} {quote(text)}")
    if user_lines:
        lines += [f"{indent}user {{", *user_lines, f"{indent}}}"]
    state = task.initial_state
    setup = []
    if state is not None:
        data = state.initialization_data or {}
        for side in ("agent_data", "user_data"):
            for table, rows in (data.get(side) or {}).items():
                setup += leaf_assignments(table, rows, where=f"initial_state.initialization_data.{side}")
        for i, call in enumerate(state.initialization_actions or []):
            setup.append(call_text(ACTOR[call.env_type], call.func_name, call.arguments,
                                   where=f"initial_state.initialization_actions.{i}.func_name"))
    if setup:
        lines += [f"{indent}setup {{", *[f"{indent * 2}{s}" for s in setup], f"{indent}}}"]
    criteria = task.evaluation_criteria
    if criteria is not None and criteria.actions is not None:
        gold = [call_text(ACTOR[a.requestor], a.name, a.arguments, a.compare_args, f"evaluation_criteria.actions.{i}.name")
                for i, a in enumerate(criteria.actions)]
        lines += [f"{indent}gold {{", *[f"{indent * 2}{g}" for g in gold], f"{indent}}}"]
    if criteria is not None and criteria.env_assertions:
        asserts = []
        for i, a in enumerate(criteria.env_assertions):
            text = call_text(ACTOR[a.env_type], a.func_name, a.arguments, where=f"evaluation_criteria.env_assertions.{i}.func_name")
            if a.assert_value is not True:
                text += f" == {literal(a.assert_value)}"
            if a.message:
                text += f" {quote(a.message)}"
            asserts.append(text)
        lines += [f"{indent}assert {{", *[f"{indent * 2}{a}" for a in asserts], f"{indent}}}"]
    if criteria is not None and criteria.communicate_info:
        lines.append(f"{indent}communicate {{ {', '.join(quote(s) for s in criteria.communicate_info)} }}")
    if criteria is not None and criteria.nl_assertions:
        lines += [f"{indent}judge {{", *[f"{indent * 2}{quote(s)}" for s in criteria.nl_assertions], f"{indent}}}"]
    basis = criteria.reward_basis if criteria is not None else []
    lines.append(f"{indent}reward {{ {', '.join(name(b, 'evaluation_criteria.reward_basis') for b in basis)} }}")
    lines.append("}")
    return "\n".join(lines)


def to_eig(tasks: list[Tau2Task], domain_file: Path, out_file: Path, source: str) -> str:
    rel = os.path.relpath(domain_file.resolve(), out_file.resolve().parent)
    header = [
        f"# Tasks imported from {source} by `eigendsl import-tau2`.",
        f"import {quote(rel)}",
        "",
    ]
    return "\n".join(header) + "\n\n".join(task_to_eig(t) for t in tasks) + "\n"


# ---------------------------------------------------------------- back to tau2


def call_json(spec: ir.CallSpec, index: int, task_id: str, with_requestor: bool) -> dict:
    out: dict[str, Any] = {"action_id": f"{task_id}_{index}"}
    if with_requestor:
        out["requestor"] = REQUESTOR[spec.actor]
    out.update({"name": spec.name, "arguments": dict(spec.args), "info": None})
    if spec.compare is not None:
        out["compare_args"] = list(spec.compare)
    return out


def assignment_leaf(step: ir.Function, sides: dict[str, str], unions) -> tuple[str, list, Any]:
    """A setup assignment `table[k].f = literal` as (side, [table, k, f], value)."""
    (assign,) = step.body
    place = assign.target
    path: list = [place.name]
    for st in place.steps:
        key = st.name if st.kind == ir.StepKind.FIELD else ir.constant_value(st.expr, unions)
        if key is ir.NOT_CONSTANT:
            raise ValueError(f"setup assignment at line {step.span.line} has a computed key; tau2 data needs literals")
        path.append(key)
    value = ir.constant_value(assign.value, unions)
    if value is ir.NOT_CONSTANT or assign.op != ir.AssignOperator.SET:
        raise ValueError(f"setup assignment at line {step.span.line} is not `place = literal`")
    return sides[place.name], path, value


def to_tau2(task: ir.TaskDef, domain: ir.Domain) -> dict:
    sides = {sf.name: sf.side for sf in domain.state}
    unions = {u.name: u for u in domain.unions}
    domain_name = domain.name
    texts, user = task.texts, task.user.texts
    description = {k2: texts[k1] for k1, k2 in (("purpose", "purpose"), ("policies", "relevant_policies"), ("notes", "notes")) if k1 in texts}
    instructions = {"domain": domain_name}
    for key, tau2_key in USER_TEXTS:
        if tau2_key and key in user:
            instructions[tau2_key] = user[key]
    scenario: dict[str, Any] = {"instructions": instructions}
    if "persona" in user:
        scenario["persona"] = user["persona"]
    out: dict[str, Any] = {"id": task.id, "description": description or None, "user_scenario": scenario}
    if "ticket" in texts:
        out["ticket"] = texts["ticket"]
    init_actions = [
        {"env_type": REQUESTOR[s.actor], "func_name": s.name, "arguments": dict(s.args)}
        for s in task.setup if isinstance(s, ir.CallSpec)
    ]
    data: dict[str, dict] = {}
    for step in task.setup:
        if isinstance(step, ir.Function):
            side, path, value = assignment_leaf(step, sides, unions)
            node = data.setdefault(f"{side}_data", {})
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = value
    initial: dict[str, Any] = {}
    if data:
        initial["initialization_data"] = data
    if init_actions:
        initial["initialization_actions"] = init_actions
    out["initial_state"] = initial or None
    uses_user = any(g.actor == ir.Side.USER for g in task.gold or ()) or bool(init_actions)
    criteria: dict[str, Any] = {}
    if task.gold is not None:
        criteria["actions"] = [call_json(g, i, task.id, uses_user) for i, g in enumerate(task.gold)]
    if task.assertions:
        criteria["env_assertions"] = [
            {"env_type": REQUESTOR[a.actor], "func_name": a.name, "arguments": dict(a.args), "assert_value": a.expected,
             "message": a.message}
            for a in task.assertions
        ]
    criteria["communicate_info"] = list(task.communicate)
    criteria["nl_assertions"] = list(task.judge)
    criteria["reward_basis"] = list(task.reward)
    out["evaluation_criteria"] = criteria
    return out


def equivalent_form(task: dict) -> Any:
    """A task's JSON without what carries no meaning: nulls, empty lists, action ids, `info`."""

    def clean(value, key=None):
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if k in ("action_id", "info", "domain") or v is None or v == [] or v == {}:
                    continue
                if k == "requestor" and v == "assistant":
                    continue
                if k == "assert_value" and v is True:
                    continue
                cleaned = clean(v, k)
                if cleaned not in ({}, []):
                    out[k] = cleaned
            return out
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    keep = {k: task.get(k) for k in ("id", "description", "user_scenario", "ticket", "initial_state", "evaluation_criteria")}
    return clean(json.loads(json.dumps(keep)))

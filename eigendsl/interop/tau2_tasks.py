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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Origin:
    """Where a line of a converted task file comes from: a task of the JSON array and its field.

    `parts` narrows the field by column: (first, end, field) with 1-based, end-exclusive columns,
    e.g. one argument's value of a gold call.
    """

    index: int
    task_id: str
    field: str
    parts: tuple[tuple[int, int, str], ...] = ()

    def field_at(self, col: int) -> str:
        return next((f for first, end, f in self.parts if first <= col < end), self.field)

    def describe(self, col: int) -> str:
        return f"task {shown(self.task_id[:80])} (index {self.index}): {self.field_at(col)}"


def call_parts(actor: str, tool: str, arguments: dict, compare: list | None = None, where: str = "call",
               name_key: str = "name") -> tuple[str, list[tuple[int, int, str]]]:
    """A call as eig text, and the JSON field (under `where`) each column range of it comes from."""
    text = "user " if actor == ir.Side.USER else ""
    parts = [(len(text), len(text) + len(str(tool)), f"{where}.{name_key}")]
    text += name(tool, f"{where}.{name_key}") + "("
    if not isinstance(arguments, dict):
        raise TaskImportError(f"{where}.arguments: expected an object")
    for i, (k, v) in enumerate(arguments.items()):
        text += ", " if i else ""
        arg = f"{name(k, f'{where}.arguments')}: {literal(v)}"
        parts.append((len(text), len(text) + len(arg), f"{where}.arguments.{k}"))
        text += arg
    text += ")"
    if compare is not None:
        text += f" compare({', '.join(name(c, f'{where}.compare_args') for c in compare)})"
    return text, parts


def call_text(actor: str, tool: str, arguments: dict, compare: list | None = None, where: str = "call") -> str:
    return call_parts(actor, tool, arguments, compare, where)[0]


def leaf_assignments(root: str, value: Any, path: str = "", where: str = "initialization_data") -> list[str]:
    """tau2's initialization_data merges nested objects into the db: one assignment per leaf."""
    if isinstance(value, dict) and value:
        out = []
        for k, v in value.items():
            step = f"[{literal(k)}]" if not path else f".{name(k, where)}"
            out += leaf_assignments(root, v, path + step, where)
        return out
    return [f"{name(root, where)}{path} = {literal(value)}"]


def task_to_eig(task: Tau2Task, indent: str = "  ", index: int | None = None) -> str:
    """One task as eig text; every string is quoted and every name checked, so no field can add syntax."""
    return "\n".join(text for text, _, _ in task_lines(task, indent, index))


def task_lines(task: Tau2Task, indent: str = "  ", index: int | None = None) -> list[tuple[str, str, tuple]]:
    """One task as (eig line, JSON field, column parts) triples; errors name the task (and its index)."""
    try:
        return _task_lines(task, indent)
    except TaskImportError as e:
        at = f" (index {index})" if index is not None else ""
        raise TaskImportError(f"task {shown(str(task.id)[:80])}{at}: {e}") from None


def _task_lines(task: Tau2Task, indent: str) -> list[tuple[str, str, tuple]]:
    lines: list[tuple[str, str, tuple]] = []

    def add(depth: int, text: str, field: str = "", parts=()) -> None:
        pad = len(indent * depth) + 1
        lines.append((indent * depth + text, field, tuple((a + pad, b + pad, f) for a, b, f in parts)))

    def block(key: str, items: list[tuple[str, str, list]]) -> None:
        add(1, f"{key} {{")
        for text, field, parts in items:
            add(2, text, field, parts)
        add(1, "}")

    add(0, f"task {quote(task.id)} {{", "id")
    desc = task.description if isinstance(task.description, dict) else {}
    for key, tau2_key in (("purpose", "purpose"), ("notes", "notes"), ("policies", "relevant_policies")):
        if desc.get(tau2_key):
            add(1, f"{key} {quote(str(desc[tau2_key]))}", f"description.{tau2_key}")
    ticket = getattr(task, "ticket", None)
    if ticket:
        if not isinstance(ticket, str):
            raise TaskImportError("ticket: expected a string")
        add(1, f"ticket {quote(ticket)}", "ticket")
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
            user_lines.append((f"{key} {quote(text)}", f"user_scenario.{tau2_key or key}", []))
    if user_lines:
        block("user", user_lines)
    state = task.initial_state
    setup = []
    if state is not None:
        data = state.initialization_data or {}
        for side in ("agent_data", "user_data"):
            where = f"initial_state.initialization_data.{side}"
            for table, rows in (data.get(side) or {}).items():
                setup += [(a, f"{where}.{table}", []) for a in leaf_assignments(table, rows, where=where)]
        for i, call in enumerate(state.initialization_actions or []):
            where = f"initial_state.initialization_actions[{i}]"
            text, parts = call_parts(ACTOR[call.env_type], call.func_name, call.arguments, where=where, name_key="func_name")
            setup.append((text, where, parts))
    if setup:
        block("setup", setup)
    criteria = task.evaluation_criteria
    if criteria is not None and criteria.actions is not None:
        gold = []
        for i, a in enumerate(criteria.actions):
            where = f"evaluation_criteria.actions[{i}]"
            text, parts = call_parts(ACTOR[a.requestor], a.name, a.arguments, a.compare_args, where)
            gold.append((text, where, parts))
        block("gold", gold)
    if criteria is not None and criteria.env_assertions:
        asserts = []
        for i, a in enumerate(criteria.env_assertions):
            where = f"evaluation_criteria.env_assertions[{i}]"
            text, parts = call_parts(ACTOR[a.env_type], a.func_name, a.arguments, where=where, name_key="func_name")
            if a.assert_value is not True:
                text += f" == {literal(a.assert_value)}"
            if a.message:
                text += f" {quote(a.message)}"
            asserts.append((text, where, parts))
        block("assert", asserts)
    if criteria is not None and criteria.communicate_info:
        add(1, f"communicate {{ {', '.join(quote(s) for s in criteria.communicate_info)} }}", "evaluation_criteria.communicate_info")
    if criteria is not None and criteria.nl_assertions:
        block("judge", [(quote(s), f"evaluation_criteria.nl_assertions[{i}]", []) for i, s in enumerate(criteria.nl_assertions)])
    basis = criteria.reward_basis if criteria is not None else []
    add(1, f"reward {{ {', '.join(name(b, 'evaluation_criteria.reward_basis') for b in basis)} }}", "evaluation_criteria.reward_basis")
    add(0, "}")
    return lines


def to_eig(tasks: list[Tau2Task], domain_file: Path, out_file: Path, source: str) -> str:
    return to_eig_mapped(tasks, domain_file, out_file, source)[0]


def to_eig_mapped(tasks: list[Tau2Task], domain_file: Path, out_file: Path, source: str) -> tuple[str, dict[int, Origin]]:
    """The task file's text and, by 1-based line, the task and field each task line comes from."""
    rel = os.path.relpath(domain_file.resolve(), out_file.resolve().parent)
    lines = [f"# Tasks imported from {source} by `eigendsl import-tau2`.", f"import {quote(rel)}", ""]
    origins: dict[int, Origin] = {}
    for index, task in enumerate(tasks):
        if index:
            lines.append("")
        for text, field, parts in task_lines(task, index=index):
            lines.append(text)
            origins[len(lines)] = Origin(index, str(task.id), field or "the task", parts)
    return "\n".join(lines) + "\n", origins


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

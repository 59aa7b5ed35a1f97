"""tau2-bench interop: its task files, and replaying their gold actions into its record format.

Replay semantics (as in the reference data's README): on a fresh environment run the task's
initialisation actions, then every gold action by its requestor (a failing call records an
error and changes nothing), then the env assertions; report results, the final db hash and the
rows that changed since initialisation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..confine import shown
from ..digest import json_sha256
from ..files import read_text, write_atomic
from ..ir import Side
from ..runtime.environment import CompiledDomain, Environment, ToolResult

ACTOR = {"assistant": "agent", "user": "user"}


class Tau2Call(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    requestor: Literal["assistant", "user"] = "assistant"
    action_id: str | None = None
    compare_args: list[str] | None = None


class Tau2EnvCall(BaseModel):
    model_config = ConfigDict(extra="allow")
    env_type: Literal["assistant", "user"]
    func_name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    assert_value: Any = True
    message: str | None = None


class Tau2InitialState(BaseModel):
    model_config = ConfigDict(extra="allow")
    initialization_data: dict | None = None
    initialization_actions: list[Tau2EnvCall] | None = None
    message_history: list | None = None


class Tau2Criteria(BaseModel):
    model_config = ConfigDict(extra="allow")
    actions: list[Tau2Call] | None = None
    env_assertions: list[Tau2EnvCall] | None = None
    communicate_info: list[str] | None = None
    nl_assertions: list[str] | None = None
    reward_basis: list[str] = Field(default_factory=lambda: ["DB", "COMMUNICATE"])


class Tau2Task(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    user_scenario: Any = None
    description: Any = None
    initial_state: Tau2InitialState | None = None
    evaluation_criteria: Tau2Criteria | None = None


class TaskFileError(Exception):
    """A task file that cannot be read; the message names the file, the task and the field."""


def load_tasks(path: str | Path) -> list[Tau2Task]:
    path = Path(path)
    text = read_text(path, TaskFileError, "the tasks")
    if not text.strip():
        raise TaskFileError(f"{path} is empty; expected a JSON list of tasks")
    try:
        data = json.loads(text)
    except ValueError as e:
        raise TaskFileError(f"{path}: not valid JSON: {e}") from None
    if isinstance(data, dict) and "tasks" in data:
        data = data["tasks"]
    if not isinstance(data, list):
        raise TaskFileError(f"{path}: expected a JSON list of tasks")
    tasks = []
    for i, item in enumerate(data):
        try:
            tasks.append(Tau2Task.model_validate(item))
        except ValidationError as e:
            err = e.errors()[0]
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".") or "the task"
            ident = f"task {shown(str(item['id'])[:80])} (index {i})" if isinstance(item, dict) and "id" in item else f"task at index {i}"
            if not isinstance(item, dict):
                raise TaskFileError(f"{path}: {ident}: should be a JSON object, not {json.dumps(item)[:40]}") from None
            raise TaskFileError(f"{path}: {ident}: {where}: {err['msg']}") from None
    return tasks


def content_json(result: ToolResult) -> Any:
    """A result as the reference records show it: the message text, parsed as JSON when it is JSON."""
    if not result.ok:
        return f"Error: {result.error}"
    if isinstance(result.content, str):
        try:
            return json.loads(result.content)
        except ValueError:
            return result.content
    return result.content


def replay_task(domain: CompiledDomain, task: Tau2Task) -> dict:
    env: Environment = domain.environment()
    record: dict[str, Any] = {"task_id": task.id, "init": [], "actions": [], "assertions": []}
    init = (task.initial_state.initialization_actions if task.initial_state else None) or []
    for call in init:
        result = env.run_setup(call.func_name, call.arguments, ACTOR[call.env_type])
        record["init"].append({"env_type": call.env_type, "func_name": call.func_name, "ok": result.ok, "content": content_json(result)})
    after_init = env.checkpoint()
    criteria = task.evaluation_criteria
    for action in (criteria.actions if criteria else None) or []:
        result = env.call(action.name, action.arguments, ACTOR[action.requestor])
        record["actions"].append({"name": action.name, "requestor": action.requestor, "ok": result.ok, "content": content_json(result)})
    for assertion in (criteria.env_assertions if criteria else None) or []:
        result = env.run_assertion(assertion.func_name, assertion.arguments, ACTOR[assertion.env_type])
        record["assertions"].append({"env_type": assertion.env_type, "func_name": assertion.func_name, "value": content_json(result)})
    record["db_hash"] = env.state_hash("agent")
    record["db_changes"] = env.diff(since=after_init)
    has_user = any(side == Side.USER for side in domain.base.sides.values())
    if has_user:
        user_db = env.dump("user")
        record["user_db_hash"] = json_sha256(user_db)
        record["user_db"] = user_db
    else:
        record["user_db_hash"] = None
    return record


def replay(domain: CompiledDomain, tasks: Iterable[Tau2Task]) -> Iterable[dict]:
    for task in tasks:
        yield replay_task(domain, task)


def write_jsonl_atomic(path: str | Path, records: Iterable[dict]) -> int:
    """Write records one per line, atomically; the number written."""
    count = [0]

    def lines():
        for r in records:
            count[0] += 1
            yield json.dumps(r, ensure_ascii=False) + "\n"

    write_atomic(path, lines())
    return count[0]

"""SFT dialogues: read from `sft.jsonl` / `user_sft.jsonl`, or played here by the oracle agent.

A dialogue is `{"messages": [...], "tools": [...]}` in OpenAI chat format, as the trained model
sees the conversation: for the agent, the policy as system message and the agent as
`assistant`; for the user model, the scenario as system message and the user as `assistant`
(Episode.user_view). Oracle dialogues come from episodes of the oracle agent with the
scripted user, kept only when the task's checker gives them reward 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from .. import ir
from ..files import numbered_lines, read_text
from ..episode.agents import OracleAgent
from ..episode.episode import Episode
from ..episode.users import ScriptedUser, scenario_system
from ..runtime.environment import CompiledDomain
from .config import TrainError


class Dialogue(BaseModel):
    model_config = ConfigDict(extra="ignore")
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = []
    train_from: int = 0  # messages before this one are given, never trained (an episode's greeting)


def read_dialogues(path: str | Path) -> list[dict]:
    """Dialogues from a JSON-lines file; a clear error names the first bad line."""
    path = Path(path)
    out = []
    for n, line in numbered_lines(read_text(path, TrainError, "dialogues")):
        try:
            d = Dialogue.model_validate_json(line)
        except ValidationError as e:
            raise TrainError(f"{path}:{n}: not a dialogue with messages and tools: {e.errors()[0]['msg']}") from None
        bad = next((i for i, m in enumerate(d.messages) if not message_shape_ok(m)), None)
        if bad is not None:
            raise TrainError(f"{path}:{n}: message {bad} is not a chat message (a role string, text or parts as content, "
                             "tool calls as objects with a function name)")
        if not any(m.get("role") == "assistant" for m in d.messages):
            raise TrainError(f"{path}:{n}: the dialogue has no assistant turn to train on")
        out.append(d.model_dump())
    if not out:
        raise TrainError(f"{path} has no dialogues")
    return out


def message_shape_ok(m: dict) -> bool:
    """An OpenAI chat message a chat template can render: a role, content, tool calls with a function name."""
    calls = m.get("tool_calls") or []
    return (isinstance(m.get("role"), str) and isinstance(m.get("content"), (str, list, type(None))) and isinstance(calls, list)
            and all(isinstance(c, dict) and isinstance(c.get("function"), dict) and isinstance(c["function"].get("name"), str)
                    for c in calls))


def user_dialogue(episode: Episode) -> dict:
    """The user's side of a played episode, for user-model SFT: the system message the model or LLM
    user plays from (the guide and the scenario), then the user's view."""
    return {"messages": [scenario_system(episode.task), *episode.user_view()], "tools": episode.user_tools}


def agent_dialogue(episode: Episode) -> dict:
    """The agent's side of a played episode; its fixed greeting is not the agent's to learn."""
    return {"messages": episode.agent_view(), "tools": episode.tools, "train_from": 2}


def oracle_dialogues(domain: CompiledDomain, tasks: list[ir.TaskDef], side: str = "agent") -> list[dict]:
    """One dialogue per task whose oracle episode earns reward 1 (SIDE: agent or user)."""
    out = []
    for task in tasks:
        if not task.gold:
            continue
        episode = Episode(domain, task, ScriptedUser())
        messages = episode.reset()
        agent = OracleAgent()
        agent.reset(task, domain, 0)
        while not episode.done:
            messages = episode.step(agent.respond(messages, episode.tools)).observation
        if episode.result().reward >= 1.0:
            out.append(agent_dialogue(episode) if side == "agent" else user_dialogue(episode))
    if not out:
        raise TrainError("no task's oracle episode earns reward 1, so there are no dialogues to learn from")
    return out


def write_dialogues(path: str | Path, dialogues: list[dict]) -> None:
    from ..files import write_atomic

    write_atomic(Path(path), [json.dumps(d, ensure_ascii=False) + "\n" for d in dialogues])

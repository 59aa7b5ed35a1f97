"""Agents: a model behind an OpenAI-compatible endpoint, an oracle that plays the gold
actions, and a random floor. (A local transformers agent is in `local.py`.)

An agent answers the conversation as it sees it (OpenAI chat messages, starting with the
policy as the system message) with one message: text, or tool calls.
"""

from __future__ import annotations

import json
import random
from typing import Protocol

from .. import ir
from ..runtime.environment import CompiledDomain
from .chat import ChatClient, ChatConfig, ChatError


class AgentError(Exception):
    """The agent could not produce a message; the episode ends with termination agent_error."""


class Agent(Protocol):
    def reset(self, task: ir.TaskDef, domain: CompiledDomain, seed: int) -> None: ...

    def respond(self, messages: list[dict], tools: list[dict]) -> dict: ...


class OpenAIAgent:
    """Chat completions with tool calling through any OpenAI-compatible endpoint."""

    def __init__(self, config: ChatConfig):
        self.chat = ChatClient(config, who="agent")
        self.seed: int | None = None

    def reset(self, task, domain, seed: int) -> None:
        self.seed = seed if self.chat.config.seed is None else self.chat.config.seed

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        try:
            return self.chat.complete(messages, tools, seed=self.seed)
        except ChatError as e:  # the model answered badly: a result (an EndpointError is not, and passes)
            raise AgentError(str(e)) from None


class OracleAgent:
    """Plays the task's gold actions in order, asks the user to perform the user-side ones, then
    says what the task requires be communicated."""

    def reset(self, task: ir.TaskDef, domain: CompiledDomain, seed: int) -> None:
        self.plan = list(task.gold or ())
        self.communicate = list(task.communicate)
        self.calls = 0

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        if self.plan:
            step = self.plan.pop(0)
            if step.actor == ir.Side.USER:
                args = ", ".join(f"{k}={json.dumps(v)}" for k, v in step.args.items())
                return {"role": "assistant", "content": f"Please do this on your side: {step.name}({args})."}
            self.calls += 1
            return {"role": "assistant", "content": None,
                    "tool_calls": [{"id": f"oracle_{self.calls}", "name": step.name, "arguments": dict(step.args)}]}
        said = " ".join(self.communicate)
        return {"role": "assistant", "content": f"All done. {said}".strip()}


class RandomAgent:
    """A floor: random tool calls whose arguments are drawn from values seen in the conversation
    (under the same key where possible), a few random words, then goodbye."""

    def __init__(self, turns: int = 8):
        self.turns = turns

    def reset(self, task, domain: CompiledDomain, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = 0

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        self.count += 1
        if self.count > self.turns or not tools or self.rng.random() < 0.1:
            return {"role": "assistant", "content": self.rng.choice(["Could you tell me more?", "Done. Goodbye!", "I see."])}
        by_key: dict[str, list] = {}
        loose: list[str] = []
        for m in messages:
            if m["role"] == "tool":
                try:
                    collect(json.loads(m.get("content") or ""), by_key)
                except ValueError:
                    loose += str(m.get("content") or "").split()
            elif m["role"] == "user":
                loose += [w.strip(".,:;!?'\"()[]{}") for w in str(m.get("content") or "").split()]
        tool = self.rng.choice(tools)["function"]
        args = {name: self.value(name, schema, by_key, loose) for name, schema in tool["parameters"]["properties"].items()}
        return {"role": "assistant", "content": None, "tool_calls": [{"id": f"random_{self.count}", "name": tool["name"], "arguments": args}]}

    def value(self, name: str, schema: dict, by_key: dict, loose: list[str]):
        if "enum" in schema:
            return self.rng.choice(schema["enum"])
        if "anyOf" in schema:
            return self.value(name, schema["anyOf"][0], by_key, loose)
        kind = schema.get("type")
        seen = [v for v in by_key.get(name, []) if type_fits(v, kind)]
        if seen and self.rng.random() < 0.8:
            return self.rng.choice(seen)
        if kind == "integer":
            return self.rng.randint(0, 5)
        if kind == "number":
            return float(self.rng.randint(0, 500))
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "array":
            return [self.value(name, schema.get("items", {}), by_key, loose) for _ in range(self.rng.randint(1, 2))]
        if kind == "object":
            return {k: self.value(k, v, by_key, loose) for k, v in schema.get("properties", {}).items()}
        pool = [w for w in loose if w] or ["x"]
        return self.rng.choice(pool)


def collect(value, by_key: dict[str, list], key: str | None = None) -> None:
    """Values in a JSON tool result, grouped by the key they appear under."""
    if isinstance(value, dict):
        for k, v in value.items():
            collect(v, by_key, k)
    elif isinstance(value, list):
        for v in value:
            collect(v, by_key, key)
    elif key is not None and value is not None:
        values = by_key.setdefault(key, [])
        if value not in values:
            values.append(value)


def type_fits(value, kind: str | None) -> bool:
    return {"string": isinstance(value, str), "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "boolean": isinstance(value, bool)}.get(kind or "", True)

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
from . import talk
from .chat import ChatClient, ChatConfig, ChatError
from .protocol import agreed
from .talk import pick


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
    """Plays the task's gold actions in order, as the domain's protocol asks (protocol.py):
    asks the user for each detail the next action needs that the user has not said, lists each
    write and waits for a yes before it (where the domain says `confirm = "writes"`), asks the
    user to do the user-side steps, reports what was done, says why a forbidden request is
    refused (the reason its guard declares) or hands over with the domain's transfer message,
    says what the task requires be communicated, and asks whether there is anything else.

    Its wording is drawn from talk.py with a generator seeded by the task and `seed`: each seed
    is another dialogue with the same tool calls."""

    def reset(self, task: ir.TaskDef, domain: CompiledDomain, seed: int) -> None:
        from ..verify.forbidden import refusal_reason
        from .protocol import Protocol

        self.rng = random.Random(f"{task.id}:{seed}")
        self.gold = list(task.gold or ())
        self.plan = list(self.gold)
        self.communicate = list(task.communicate)
        self.knows = {k: v for k, v in task.user.knows.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
        self.protocol = Protocol.of(domain.ir)
        self.tools = {(t.actor, t.name): t for t in domain.ir.tools}
        self.transfer_tool = domain.ir.settings.get("transfer_tool")
        self.transfer_message = domain.ir.settings.get("transfer_message")
        writes = [c for c in self.plan if self.is_write(c)]
        self.refusal = refusal_reason(domain, task) if not writes else None
        self.transfers = any(c.name == self.transfer_tool for c in self.plan)
        self.words, self.data = domain.words, domain.base.roots
        self.outcomes = dry_run(domain, task) if writes and (domain.words.actions or domain.words.costs) else []
        self.done_write: str | None = None
        self.asked: set[str] = set()
        self.listed = False  # the next write has been listed to the user, who has not answered yet
        self.listed_as = ""  # how it was listed
        self.asked_again = False
        self.report = ""  # what was done since the user last heard from the agent
        self.calls = 0
        self.closed = False
        self.repeated = False

    def is_write(self, call: ir.CallSpec) -> bool:
        tool = self.tools.get((call.actor, call.name))
        return tool is not None and call.actor == ir.Side.AGENT and tool.effect == ir.Effect.WRITES and call.name != self.transfer_tool

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        said = " ".join(str(m.get("content") or "") for m in messages if m["role"] == "user")
        last = messages[-1] if messages else {}
        if last.get("role") == "tool" and self.done_write:
            if not str(last.get("content") or "").startswith("Error"):  # a refused write is not reported done
                self.report = pick(self.rng, talk.DONE, self.done_write)
            self.done_write = None
        while self.plan:
            step = self.plan[0]
            if step.actor == ir.Side.USER:
                self.plan.pop(0)
                return self.say(pick(self.rng, talk.ON_DEVICE, talk.on_device(step, self.tools.get((step.actor, step.name)))))
            missing = [k for k, v in self.knows.items() if k not in self.asked and talk.spoken_value(v) not in said
                       and talk.spoken_value(v) in leaves(step.args)]
            if missing:
                ask = missing if self.rng.random() < 0.5 else missing[:1]
                self.asked.update(ask)
                names = [talk.detail_name(k) for k in ask]
                opener = pick(self.rng, talk.OPENERS) if len(self.asked) == len(ask) else ""
                return self.say(opener + pick(self.rng, talk.ASK_ONE if len(ask) == 1 else talk.ASK_MANY, talk.join(names)))
            if self.is_write(step) and self.protocol.confirm_writes:
                if not self.listed:
                    self.listed = True
                    self.listed_as = self.listing(step)
                    return self.say(pick(self.rng, talk.CONFIRM, self.listed_as))
                if not agreed(str(last.get("content") or "")) and not self.asked_again:
                    self.asked_again = True  # one more time; then the write is made and the monitor says so
                    return self.say(pick(self.rng, talk.CONFIRM_AGAIN, self.listed_as))
            self.plan.pop(0)
            self.listed = self.asked_again = False
            self.calls += 1
            self.done_write = (self.listed_as if self.protocol.confirm_writes else self.listing(step)) if self.is_write(step) else None
            return {"role": "assistant", "content": None,
                    "tool_calls": [{"id": f"oracle_{self.calls}", "name": step.name, "arguments": dict(step.args)}]}
        if self.closed:
            if self.refusal and not self.repeated:  # the user pushes back: the same reason, once more
                self.repeated = True
                return self.say(pick(self.rng, talk.AGAIN, self.refusal.rstrip(".") + ".") + " " + pick(self.rng, talk.CLOSE))
            return self.say(pick(self.rng, talk.GOODBYE))
        self.closed = True
        if self.transfers and self.transfer_message:
            return self.say(" ".join(self.communicate + [self.transfer_message]))  # the policy's words, exactly
        parts = [pick(self.rng, talk.REFUSE, self.refusal.rstrip(".") + ".")] if self.refusal else []
        parts += [pick(self.rng, talk.NOTE, c.rstrip(".")) for c in self.communicate] + [pick(self.rng, talk.CLOSE)]
        return self.say(" ".join(parts))

    def listing(self, step: ir.CallSpec) -> str:
        """The write `step` as listed to the customer (talk.listing), with its dry-run outcome."""
        index = len(self.gold) - len(self.plan)
        outcome = self.outcomes[index] if index < len(self.outcomes) else None
        return talk.listing(self.words, step, self.tools.get((step.actor, step.name)), outcome, self.rng, self.data)

    def say(self, text: str) -> dict:
        text = f"{self.report} {text}".strip() if self.report else text
        self.report = ""
        return {"role": "assistant", "content": text}

def dry_run(domain: CompiledDomain, task: ir.TaskDef) -> list[talk.Outcome]:
    """The task's gold calls played on a fresh environment, each with what it returned and
    appended: the oracle knows what a write will cost before it lists it, as an agent that
    worked it out from what it read would. Empty when the task's setup fails."""
    from ..runtime.store import State
    from ..verify.reward import TaskChecker, TaskSetupError

    try:
        env = TaskChecker(domain, task).start()
    except TaskSetupError:
        return []
    out, seen = [], []
    for call in task.gold or ():
        before = env.checkpoint()
        result = env.call(call.name, call.args, call.actor)
        seen = seen + [result.content] if result.ok else seen
        added: dict = {}
        if result.ok:
            old = State(domain.base, before)
            for table, rows in env.diff(since=before).items():
                for key, row in (rows.items() if isinstance(rows, dict) and domain.base.kinds[table] != "row" else ()):
                    was = old.row(table, key)
                    for field, new in (row.items() if isinstance(row, dict) else ()):
                        prior = was.get(field) if isinstance(was, dict) else None
                        if isinstance(new, list) and isinstance(prior, list) and new[:len(prior)] == prior and len(new) > len(prior):
                            added.setdefault(field, new[len(prior):])
        out.append(talk.Outcome(result.ok, result.content, added, seen))
    return out


def leaves(value) -> set[str]:
    """Every scalar inside a call's arguments, as text."""
    if isinstance(value, dict):
        return set().union(*map(leaves, value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*map(leaves, value)) if value else set()
    return {talk.spoken_value(value)} if value is not None else set()


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

"""Simulated users: a model behind any OpenAI-compatible endpoint, and a scripted user.

The scripted user is derived deterministically from the task: it states its request, answers
the agent's questions from what it knows, confirms, performs the user-side actions it is asked
for (dual control), and stops when the agent's work is done. It has no noise at all, which is
what tests and RL rollouts that must not be corrupted by the user need.
"""

from __future__ import annotations

import re

from .. import ir
from ..runtime.environment import CompiledDomain
from .chat import ChatClient, ChatConfig, ChatError
from .episode import OUT_OF_SCOPE, STOP, TRANSFER, UserError

CONFIRM = re.compile(r"\b(confirm|proceed|go ahead|shall i|should i|do you want|would you like|is that (ok|correct|right)|yes or no|agree)\b", re.I)
WORD = re.compile(r"[a-z0-9]+")
ANYTHING_ELSE = re.compile(r"\banything else\b", re.I)


def words(text: str) -> set[str]:
    return set(WORD.findall((text or "").lower()))


def key_words(key: str) -> set[str]:
    parts = set(key.lower().split("_"))
    return parts - {"id"} or parts


class ScriptedUser:
    """A deterministic user that follows its task."""

    def __init__(self, patience: int = 12):
        self.patience = patience

    def reset(self, task: ir.TaskDef, domain: CompiledDomain) -> None:
        self.task = task
        self.domain = domain
        self.knows = dict(task.user.knows)
        self.texts = task.user.texts
        self.pending = [c for c in task.gold or () if c.actor == ir.Side.USER]
        self.user_tools = {t.name: t for t in domain.ir.tools if t.actor == ir.Side.USER}
        self.turns = 0
        self.told: set[str] = set()

    def opening(self) -> str:
        parts = [self.texts.get(k) for k in ("reason", "wants") if self.texts.get(k)]
        known = self.texts.get("known")
        if known:
            parts.append(known)
        for key, value in self.knows.items():
            if not any(str(value) in p for p in parts):
                parts.append(f"My {key.replace('_', ' ')} is {value}.")
            self.told.add(key)
        return " ".join(p.strip() for p in parts) or "Hi, I need some help with my account."

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        self.turns += 1
        if not any(m["role"] == "assistant" for m in messages):
            return {"role": "assistant", "content": self.opening()}
        last = messages[-1]
        if last["role"] == "tool":  # report what the phone shows after an action
            return {"role": "assistant", "content": f"Done. It shows: {last['content']}"}
        said = last.get("content") or ""
        heard = words(said)
        action = self.requested_action(said, heard)
        if action is not None:
            return {"role": "assistant", "content": None,
                    "tool_calls": [{"id": f"user_{self.turns}", "name": action[0], "arguments": action[1]}]}
        answers = [f"My {key.replace('_', ' ')} is {value}." for key, value in self.knows.items()
                   if key_words(key) <= heard or key.lower() in said.lower()]
        if answers:
            self.told.update(self.knows)
            return {"role": "assistant", "content": " ".join(answers)}
        if ANYTHING_ELSE.search(said):
            return {"role": "assistant", "content": f"No, that's all. Thank you! {STOP}"}
        if CONFIRM.search(said) or said.rstrip().endswith("?"):
            if self.turns > self.patience:
                return {"role": "assistant", "content": f"I have to go now. {STOP}"}
            if CONFIRM.search(said):
                return {"role": "assistant", "content": "Yes, please go ahead."}
            untold = {k: v for k, v in self.knows.items() if k not in self.told}
            if untold:
                self.told.update(untold)
                return {"role": "assistant", "content": " ".join(f"My {k.replace('_', ' ')} is {v}." for k, v in untold.items())}
            return {"role": "assistant", "content": "I don't know anything more than I told you."}
        if "transfer" in heard and ("human" in heard or "agent" in heard):
            return {"role": "assistant", "content": TRANSFER}
        return {"role": "assistant", "content": f"Thank you, that's all I needed. {STOP}"}

    def requested_action(self, said: str, heard: set[str]) -> tuple[str, dict] | None:
        """A user-side action the agent asks for: the next one of the task's, or any without arguments."""
        lowered = said.lower()
        for i, call in enumerate(self.pending):
            if call.name in lowered or set(call.name.split("_")) <= heard:
                self.pending.pop(i)
                return call.name, dict(call.args)
        for name, tool in self.user_tools.items():
            required = [p for p in tool.params if not p.has_default]
            if not required and (name in lowered or set(name.split("_")) <= heard):
                return name, {}
        return None


USER_GUIDE = """You are playing a customer who contacts customer service. Stay in character.

How to behave:
- Write one message at a time, the way a real customer would: short, in your own words.
- Only say what the scenario below tells you or what you learn in the conversation. Never
  invent ids, numbers, names or other details; if you do not know something, say so.
- Do not give all your information at once; answer what the agent asks.
- When the agent asks you to do something on your own device, do it with your tools, then
  say what you see.
- When your request is handled, or cannot be, end the conversation with a message that is
  exactly {stop}. If you are transferred to a human agent, reply exactly {transfer}. If the
  scenario does not give you enough to go on, reply exactly {out_of_scope}.

Your scenario:
{scenario}"""


def scenario_prompt(task: ir.TaskDef) -> str:
    texts = task.user.texts
    lines = []
    labels = {"persona": "Persona", "reason": "Why you are calling", "wants": "What you want",
              "known": "What you know", "unknown": "What you do not know", "instructions": "How to act"}
    for key, label in labels.items():
        if texts.get(key):
            lines.append(f"{label}: {texts[key]}")
    for key, value in task.user.knows.items():
        lines.append(f"{key.replace('_', ' ')}: {value}")
    return "\n".join(lines)


def scenario_system(task: ir.TaskDef) -> dict:
    """A user model's system message: the guide and the task's scenario (what user-model SFT trains on)."""
    return {"role": "system", "content": USER_GUIDE.format(stop=STOP, transfer=TRANSFER, out_of_scope=OUT_OF_SCOPE,
                                                           scenario=scenario_prompt(task))}


class LLMUser:
    """A user played by a model behind an OpenAI-compatible endpoint, prompted from the scenario."""

    def __init__(self, config: ChatConfig, seed: int | None = None):
        self.chat = ChatClient(config, who="user")
        self.seed = seed

    def reset(self, task: ir.TaskDef, domain: CompiledDomain) -> None:
        self.system = scenario_system(task)

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        if not any(m["role"] == "assistant" for m in messages) and not messages:
            messages = [{"role": "user", "content": "Hi! How can I help you today?"}]
        try:
            return self.chat.complete([self.system, *messages], tools or None, seed=self.seed)
        except ChatError as e:  # the model answered badly: a result (an EndpointError is not, and passes)
            raise UserError(str(e)) from None

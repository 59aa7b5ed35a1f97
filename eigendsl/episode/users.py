"""Simulated users: a model behind any OpenAI-compatible endpoint, and a scripted user.

The scripted user is derived deterministically from the task and behaves like a customer: it
opens with its need (the scenario's reason), gives its details only when the agent asks for
them (or, asked an open question, one at a time), says yes when the agent lists an action and
asks to go ahead, performs the user-side actions it is asked for (dual control), and ends the
conversation when the agent asks whether there is anything else, hands it over, or stops
asking. It has no noise at all, which is what tests and RL rollouts that must not be corrupted
by the user need. `variant` draws its phrasings (talk.py): each is another dialogue with the
same facts.
"""

from __future__ import annotations

import random
import re

from .. import ir
from ..runtime.environment import CompiledDomain
from . import talk
from .chat import ChatClient, ChatConfig, ChatError
from .episode import OUT_OF_SCOPE, STOP, TRANSFER, UserError
from .protocol import ASKS
from .talk import pick

CONFIRM = re.compile(r"\b(confirm|proceed|go ahead|shall i|should i|do you want|would you like|is that (ok|okay|correct|right)|yes or no|agree)\b", re.I)
WORD = re.compile(r"[a-z0-9]+")
ANYTHING_ELSE = re.compile(r"\banything else\b", re.I)
REFUSED = re.compile(r"\b(sorry|cannot|can't|not possible|unfortunately|not allowed|allowed to|unable)\b", re.I)
HANDED_OVER = re.compile(r"\btransferr?(ed|ing)?\b.*\b(human|agent|person|specialist)\b", re.I | re.S)


def words(text: str) -> set[str]:
    return set(WORD.findall((text or "").lower()))


def key_words(key: str) -> set[str]:
    parts = set(key.lower().split("_"))
    return parts - {"id"} or parts


class ScriptedUser:
    """A deterministic user that follows its task and discloses its details as asked."""

    def __init__(self, patience: int = 12, variant: int = 0):
        self.patience = patience
        self.variant = variant

    def reset(self, task: ir.TaskDef, domain: CompiledDomain) -> None:
        self.task = task
        self.domain = domain
        self.rng = random.Random(f"{task.id}:user:{self.variant}")
        self.knows = dict(task.user.knows)
        self.texts = task.user.texts
        self.pending = [c for c in task.gold or () if c.actor == ir.Side.USER]
        self.user_tools = {t.name: t for t in domain.ir.tools if t.actor == ir.Side.USER}
        self.turns = 0
        self.questions = 0
        self.told: set[str] = set()
        # one push back on a refusal, where the scenario asks for it: insist once, or ask why once
        how = str(self.texts.get("instructions") or "").lower()
        self.push_back = talk.INSIST if "insist" in how else talk.WHY if "ask why" in how else None
        # a question before the first yes, where the scenario asks for it ("ask whether this costs anything")
        self.cost_question = "costs anything" in how or "cost anything" in how

    def opening(self) -> str:
        """The need, in the scenario's words; no details yet (the agent asks for them)."""
        need = " ".join(self.texts.get(k).strip() for k in ("reason", "wants") if self.texts.get(k))
        if not need:  # a scenario with no reason: what it knows is all it can say
            self.told.update(self.knows)
            return " ".join(f"My {talk.detail_name(k)} is {talk.spoken_value(v)}." for k, v in self.knows.items()) \
                or "Hi, I need some help with my account."
        self.told.update(k for k, v in self.knows.items() if talk.spoken_value(v) in need)
        return talk.first_person(need)

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        self.turns += 1
        if not any(m["role"] == "assistant" for m in messages):
            return self.say(self.opening())
        last = messages[-1]
        if last["role"] == "tool":  # report what the phone shows after an action
            return self.say(pick(self.rng, talk.DID, last["content"]))
        said = last.get("content") or ""
        heard = words(said)
        if HANDED_OVER.search(said):
            return self.say(TRANSFER)
        action = self.requested_action(said, heard)
        if action is not None:
            return {"role": "assistant", "content": None,
                    "tool_calls": [{"id": f"user_{self.turns}", "name": action[0], "arguments": action[1]}]}
        if self.push_back and REFUSED.search(said):
            push, self.push_back = self.push_back, None
            return self.say(pick(self.rng, push))
        if ANYTHING_ELSE.search(said):
            return self.say(f"{pick(self.rng, talk.END)} {STOP}")
        lowered = said.lower()
        asked = [k for k in self.knows if f"your {talk.detail_name(k)}" in lowered]
        agreeing = CONFIRM.search(said) is not None
        if not asked and not agreeing:  # a plainer question: the details whose words it uses
            asked = [k for k in self.knows if key_words(k) <= heard or k.lower() in lowered]
        if asked:
            self.told.update(asked)
            return self.say(" ".join(pick(self.rng, talk.ANSWER, talk.detail_name(k), talk.spoken_value(self.knows[k]))
                                     for k in asked))
        if agreeing or ASKS.search(said) or said.rstrip().endswith("?"):
            self.questions += 1
            if self.questions > self.patience:
                return self.say(f"I have to go now. {STOP}")
            if agreeing and self.cost_question:
                self.cost_question = False
                return self.say(pick(self.rng, talk.COST))
            if agreeing:
                return self.say(pick(self.rng, talk.YES))
            untold = [k for k in self.knows if k not in self.told]
            if untold:  # an open question: the next detail, one at a time
                self.told.add(untold[0])
                return self.say(pick(self.rng, talk.ANSWER, talk.detail_name(untold[0]), talk.spoken_value(self.knows[untold[0]])))
            return self.say(pick(self.rng, talk.NOTHING_MORE))
        return self.say(f"{pick(self.rng, talk.THANKS_END)} {STOP}")

    def say(self, text: str) -> dict:
        return {"role": "assistant", "content": text}

    def requested_action(self, said: str, heard: set[str]) -> tuple[str, dict] | None:
        """A user-side action the agent asks for: the next one of the task's, or any without arguments."""
        lowered = said.lower()

        def asked_for(name: str, loosely: bool) -> bool:  # by its name or its description's words
            described = words(talk.step_words(name, self.user_tools.get(name)))
            return (name in lowered or (len(described) >= 3 and described <= heard)
                    or (loosely and set(name.split("_")) <= heard))

        for i, call in enumerate(self.pending):  # a step the task expects: its name's words are enough
            if asked_for(call.name, True):
                self.pending.pop(i)
                return call.name, dict(call.args)
        for name, tool in self.user_tools.items():  # any other: only asked for by name or description
            required = [p for p in tool.params if not p.has_default]
            if not required and asked_for(name, False):
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

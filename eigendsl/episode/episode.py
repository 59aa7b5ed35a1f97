"""An episode: agent ⇄ simulated user ⇄ tools on one task, stepped by the agent's messages.

The protocol is the benchmark's: the agent greets first; every message is text or tool
calls; the agent's tool calls run on the agent's side and their results go back to the agent;
the user's tool calls (dual-control domains) run on the user's side and their results go back
to the user; the user ends the conversation with ###STOP###, ###TRANSFER### or
###OUT-OF-SCOPE###; limits on steps and on tool errors end it too. The reward is the task's
compiled checker applied to the final state, the trace and the agent's messages; a run cut by
a limit or by a failing agent or user scores 0, as in the benchmark (verify/rules.py).

    episode = Episode(domain, task, ScriptedUser())
    messages = episode.reset()                    # OpenAI-style messages, up to the agent's turn
    while not episode.done:
        reply = my_policy(messages, episode.tools)   # {"role": "assistant", "content" | "tool_calls"}
        messages = episode.step(reply).observation
    episode.result().reward

Creating an episode costs an environment (O(1)) and a checker lookup; thousands are cheap.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import ir
from ..runtime.environment import CompiledDomain, Environment
from ..verify.reward import RewardBreakdown, TaskChecker
from .fidelity import FidelityMonitor
from .protocol import Protocol, agent_writes
from .protocol import check as check_protocol

GREETING = "Hi! How can I help you today?"
STOP, TRANSFER, OUT_OF_SCOPE = "###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###"
TERMINATIONS = ("user_stop", "transfer", "out_of_scope", "max_steps", "too_many_errors", "agent_error", "user_error")


@dataclass
class Turn:
    """One message of the conversation, with who sees it."""

    role: str  # assistant | user | tool
    content: str | None = None
    tool_calls: list[dict] = field(default_factory=list)  # [{"id", "name", "arguments"}]
    tool_call_id: str | None = None
    side: str = "agent"  # whose conversation a tool message belongs to: agent | user
    error: bool = False
    usage: dict | None = None
    guards: list[dict] = field(default_factory=list)  # a tool call's policy verdicts

    def to_json(self) -> dict:
        out: dict[str, Any] = {"role": self.role}
        if self.content is not None:
            out["content"] = self.content
        if self.tool_calls:
            out["tool_calls"] = self.tool_calls
        if self.role == "tool":
            out.update({"tool_call_id": self.tool_call_id, "side": self.side, "error": self.error})
            if self.guards:
                out["guards"] = self.guards
        if self.usage:
            out["usage"] = self.usage
        return out


class User(Protocol):
    """A simulated user: given its view of the conversation, the next user message."""

    def reset(self, task: ir.TaskDef, domain: CompiledDomain) -> None: ...

    def respond(self, messages: list[dict], tools: list[dict]) -> dict: ...


class UserError(Exception):
    """The user simulator could not produce a message (its model failed, say)."""


@dataclass
class StepResult:
    observation: list[dict]  # the agent's whole view of the conversation after this step
    done: bool
    reward: float | None
    info: dict


@dataclass
class EpisodeResult:
    task_id: str
    reward: float
    breakdown: RewardBreakdown
    termination: str
    steps: int
    tool_errors: int
    messages: list[dict]
    fidelity: list[dict]
    tokens: dict
    seconds: float
    protocol: dict = field(default_factory=dict)  # the domain's protocol kept or not (protocol.py)

    def to_json(self) -> dict:
        return {
            "task_id": self.task_id, "reward": self.reward, "components": self.breakdown.components,
            "basis": list(self.breakdown.basis), "details": self.breakdown.details, "termination": self.termination,
            "steps": self.steps, "tool_errors": self.tool_errors, "fidelity_flags": self.fidelity,
            "tokens": self.tokens, "seconds": round(self.seconds, 3), "protocol": self.protocol, "messages": self.messages,
        }


def normalise_tool_calls(raw: Any, prefix: str) -> list[dict]:
    """Tool calls from an OpenAI-style message, as {"id", "name", "arguments"} (arguments raw)."""
    calls = []
    for i, call in enumerate(raw or []):
        fn = call.get("function", call) if isinstance(call, dict) else {}
        name = fn.get("name") if isinstance(fn, dict) else None
        arguments = fn.get("arguments", {}) if isinstance(fn, dict) else {}
        calls.append({"id": (call.get("id") if isinstance(call, dict) else None) or f"{prefix}{i}",
                      "name": name if isinstance(name, str) else "", "arguments": arguments})
    return calls


def openai_tool_call(call: dict) -> dict:
    arguments = call["arguments"]
    text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": text}}


class Episode:
    def __init__(self, domain: CompiledDomain, task: ir.TaskDef, user: User, *, checker: TaskChecker | None = None,
                 max_steps: int = 100, max_errors: int = 10, greeting: str = GREETING, monitor: bool = True):
        self.domain = domain
        self.task = task
        self.user = user
        self.checker = checker or TaskChecker(domain, task)
        self.max_steps = max_steps
        self.max_errors = max_errors
        self.greeting = greeting
        self.monitor = FidelityMonitor(task) if monitor else None
        self.tools = domain.tool_schemas("agent")
        self.protocol = Protocol.of(domain.ir)
        self.writes = agent_writes(domain.ir)
        self.user_tools = domain.tool_schemas("user")
        self.policy = domain.policy_text
        self.env: Environment | None = None
        self.turns: list[Turn] = []
        self.done = False
        self.termination: str | None = None
        self.steps = 0
        self.tool_errors = 0
        self.fidelity: list[dict] = []
        self.started = 0.0
        self._ids = 0
        self._final: EpisodeResult | None = None  # the result, scored once the episode is over

    # ------------------------------------------------------------ views
    def agent_view(self) -> list[dict]:
        """The conversation as the agent sees it (OpenAI chat format, with its system prompt)."""
        out = [{"role": "system", "content": self.policy}]
        for t in self.turns:
            if t.role == "assistant":
                msg: dict[str, Any] = {"role": "assistant", "content": t.content}
                if t.tool_calls:
                    msg["tool_calls"] = [openai_tool_call(c) for c in t.tool_calls]
                out.append(msg)
            elif t.role == "user" and not t.tool_calls:
                out.append({"role": "user", "content": t.content or ""})
            elif t.role == "tool" and t.side == ir.Side.AGENT:
                out.append({"role": "tool", "tool_call_id": t.tool_call_id, "content": t.content or ""})
        return out

    def user_view(self) -> list[dict]:
        """The conversation as the user sees it: the agent speaks as 'user', the user as 'assistant'."""
        out = []
        for t in self.turns:
            if t.role == "assistant" and not t.tool_calls:
                out.append({"role": "user", "content": t.content or ""})
            elif t.role == "user":
                msg: dict[str, Any] = {"role": "assistant", "content": t.content}
                if t.tool_calls:
                    msg["tool_calls"] = [openai_tool_call(c) for c in t.tool_calls]
                out.append(msg)
            elif t.role == "tool" and t.side == ir.Side.USER:
                out.append({"role": "tool", "tool_call_id": t.tool_call_id, "content": t.content or ""})
        return out

    # ------------------------------------------------------------ protocol
    def reset(self) -> list[dict]:
        self.env = self.checker.start()
        self.turns = [Turn("assistant", self.greeting)]
        self.done, self.termination = False, None
        self.steps, self.tool_errors = 0, 0
        self.fidelity = []
        self._final = None
        self.started = time.perf_counter()
        self.user.reset(self.task, self.domain)
        if self.monitor is not None:
            self.monitor.reset()
            self.monitor.heard(self.greeting)
        self._user_turn()
        return self.agent_view()

    def step(self, message: dict) -> StepResult:
        """Play one agent message: its tool calls (results come back to the agent), or text
        (the user answers). Returns the agent's view after it and, when done, the reward."""
        if self.done:
            raise RuntimeError("the episode is over; call reset() to start again")
        if self.env is None:
            raise RuntimeError("call reset() before step()")
        content = message.get("content")
        calls = normalise_tool_calls(message.get("tool_calls"), f"a{len(self.turns)}_")
        self.turns.append(Turn("assistant", content if isinstance(content, str) else None, calls, usage=message.get("usage")))
        self.steps += 1
        if calls:
            self.tool_errors += self._run_calls(calls, "agent")
            if self.tool_errors >= self.max_errors:
                self._finish("too_many_errors")
        else:
            if self.monitor is not None and isinstance(content, str):
                self.monitor.heard(content)
            self._user_turn()
        if not self.done and self.steps >= self.max_steps:
            self._finish("max_steps")
        reward = self.result().reward if self.done else None
        return StepResult(self.agent_view(), self.done, reward, {"termination": self.termination, "steps": self.steps})

    def fail_agent(self, reason: str) -> None:
        """The agent could not produce a message: end the episode (a premature end: reward 0)."""
        self.turns.append(Turn("assistant", None, usage={"error": reason}))
        self._finish("agent_error")

    def _user_turn(self) -> None:
        """Ask the user until they answer the agent in text (running their own tool calls)."""
        for _ in range(self.max_steps):
            try:
                message = self.user.respond(self.user_view(), self.user_tools)
            except UserError as e:
                self.turns.append(Turn("user", None, usage={"error": str(e)}))
                self._finish("user_error")
                return
            content = message.get("content")
            calls = normalise_tool_calls(message.get("tool_calls"), f"u{len(self.turns)}_")
            self.turns.append(Turn("user", content if isinstance(content, str) else None, calls, usage=message.get("usage")))
            self.steps += 1
            if calls:
                self._run_calls(calls, "user")
                if self.steps >= self.max_steps:
                    self._finish("max_steps")
                    return
                continue
            text = content if isinstance(content, str) else ""
            if self.monitor is not None:
                flags = self.monitor.check(text)
                self.fidelity += [{"turn": len(self.turns) - 1, **f} for f in flags]
            if STOP in text:
                self._finish("user_stop")
            elif TRANSFER in text:
                self._finish("transfer")
            elif OUT_OF_SCOPE in text:
                self._finish("out_of_scope")
            return
        self._finish("max_steps")

    def _run_calls(self, calls: list[dict], side: str) -> int:
        """Run one side's tool calls; their results join that side's conversation. Failures."""
        failed = 0
        for call in calls:
            result = self.env.call(call["name"], call["arguments"], side)
            failed += not result.ok
            self.turns.append(Turn("tool", result.text, tool_call_id=call["id"], side=side, error=not result.ok,
                                   guards=[g.to_json() for g in result.guards]))
            if self.monitor is not None and side == ir.Side.AGENT:
                self.monitor.heard(result.text)
        return failed

    def _finish(self, reason: str) -> None:
        self.done = True
        self.termination = reason

    # ------------------------------------------------------------ outcome
    def conversation(self) -> list[dict]:
        """The spoken part of the conversation, as a judge reads it."""
        return [{"role": t.role, "content": t.content} for t in self.turns if t.role in ("assistant", "user") and t.content]

    def replied(self) -> bool:
        """Whether the agent said something to the user after its last tool call (the greeting,
        which the episode says for the agent, does not count)."""
        spoke = False
        for t in self.turns[1:]:
            if t.role == "assistant":
                if t.tool_calls:
                    spoke = False
                elif t.content and t.content.strip():
                    spoke = True
        return spoke

    def agent_texts(self) -> list[str]:
        return [t.content for t in self.turns if t.role == "assistant" and t.content]

    def result(self) -> EpisodeResult:
        """The reward and its components so far; once the episode is over, scored once and kept."""
        if self._final is not None:
            return self._final
        breakdown = self.checker.score(self.env, self.agent_texts(), self.termination, self.conversation(), self.replied())
        tokens: dict[str, dict[str, int]] = {"agent": {"prompt": 0, "completion": 0}, "user": {"prompt": 0, "completion": 0}}
        for t in self.turns:
            if t.usage and t.role in ("assistant", "user"):
                side = tokens["agent" if t.role == "assistant" else "user"]
                side["prompt"] += int(t.usage.get("prompt_tokens", 0) or 0)
                side["completion"] += int(t.usage.get("completion_tokens", 0) or 0)
        turns = [t.to_json() for t in self.turns]
        result = EpisodeResult(
            self.task.id, breakdown.reward, breakdown, self.termination or "running", self.steps, self.tool_errors,
            turns, self.fidelity, tokens, time.perf_counter() - self.started, check_protocol(self.protocol, turns, self.writes),
        )
        if self.done:
            self._final = result
        return result


def run_episode(domain: CompiledDomain, task: ir.TaskDef, agent, user: User, seed: int = 0,
                checker: TaskChecker | None = None, **limits) -> EpisodeResult:
    """Play one episode to its end with an agent object (see agents.py)."""
    return play(Episode(domain, task, user, checker=checker, **limits), agent, seed).result()


def play(episode: Episode, agent, seed: int = 0) -> Episode:
    """Reset an episode and let the agent play it to its end; the episode, for its views."""
    from .agents import AgentError

    messages = episode.reset()
    agent.reset(episode.task, episode.domain, seed)
    while not episode.done:
        try:
            reply = agent.respond(messages, episode.tools)
        except AgentError as e:
            episode.fail_agent(str(e))
            break
        messages = episode.step(reply).observation
    return episode

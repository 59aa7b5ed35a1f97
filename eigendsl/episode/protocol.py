"""The conversation protocol a domain declares, and the monitor that checks an episode against it.

A domain states its rules of conduct in two settings (docs/language.md):

    confirm = "writes"      # every agent write follows a listed action and the user's explicit yes
    calls_per_turn = 1      # at most one tool call in an agent message

The oracle agent follows them (agents.py), and the monitor reads a finished conversation and
counts the writes made without a confirmation and the messages with more tool calls than
allowed. No benchmark reward checks this; `eval` reports it per episode and in its summary.

What counts as a confirmation: since the agent's previous write (or the start), the agent
asked in text for agreement (words such as "shall I", "go ahead", "confirm", "proceed", "is that
okay"; a question for a detail is not one) and the user's next text message said yes ("yes", "go ahead", "please do", ...)
without saying no. A write tool call that the environment refused still counts as a write made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import ir

ASKS = re.compile(r"\b(confirm|proceed|go ahead|shall i|should i|do you want|would you like|ok to|okay to|"
                  r"is that (ok|okay|correct|right|fine)|yes or no|agree|do i have your)\b", re.I)
YES = re.compile(r"\b(yes|yeah|yep|sure|ok|okay|go ahead|please do|do it|confirm(ed)?|correct|that's right|proceed|sounds good)\b", re.I)
NO = re.compile(r"\b(no|nope|don't|do not|wait|stop|cancel that|not yet)\b", re.I)


@dataclass(frozen=True)
class Protocol:
    confirm_writes: bool = False
    calls_per_turn: int | None = None

    @classmethod
    def of(cls, domain: ir.Domain) -> "Protocol":
        settings = domain.settings or {}
        per_turn = settings.get("calls_per_turn")
        return cls(settings.get("confirm") == "writes", int(per_turn) if per_turn is not None else None)


def agreed(text: str) -> bool:
    """Whether a user message says yes (and not no)."""
    return bool(YES.search(text or "")) and not NO.search(re.sub(r"\bno problem\b", "", text or "", flags=re.I))


def check(protocol: Protocol, turns: list[dict], writes: set[str]) -> dict:
    """A finished conversation (Episode turns as JSON: role, content, tool_calls, side) against
    the protocol: {"writes", "unconfirmed_writes", "crowded_messages"}; `writes` names the
    domain's agent write tools."""
    made = unconfirmed = crowded = 0
    asked = confirmed = False
    for t in turns:
        calls = t.get("tool_calls") or []
        if t["role"] == "assistant":
            if protocol.calls_per_turn is not None and len(calls) > protocol.calls_per_turn:
                crowded += 1
            for c in calls:
                if c.get("name") in writes:
                    made += 1
                    if protocol.confirm_writes and not confirmed:
                        unconfirmed += 1
                    asked = confirmed = False  # each write needs its own yes
            if not calls and t.get("content") and ASKS.search(t["content"]):
                asked, confirmed = True, False  # a new question: the answer to it decides
        elif t["role"] == "user" and not calls and t.get("content") is not None:
            if asked:
                confirmed = agreed(t["content"])
                asked = False
    return {"writes": made, "unconfirmed_writes": unconfirmed if protocol.confirm_writes else 0, "crowded_messages": crowded}


def agent_writes(domain: ir.Domain) -> set[str]:
    return {t.name for t in domain.tools if t.actor == ir.Side.AGENT and t.effect == ir.Effect.WRITES}

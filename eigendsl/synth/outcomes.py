"""Refusal or transfer: the outcome a forbidden request calls for, read from the guards' declarations.

A guard says what follows its violation (`guard t { ... } else transfer "reason"`; refuse by
default), and the runtime's verdicts carry it. Everything a synthesized no-write task holds
derives from that declaration here: its label, its gold (the reads, plus the domain's transfer
tool for a transfer), the words its reward asks for and the judge's assertion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .. import ir
from ..verify.forbidden import refusal

Label = Literal["refuse", "transfer"]


def _ir(domain) -> ir.Domain:
    return getattr(domain, "ir", domain)


def _verdicts(entry) -> tuple[list, str | None]:
    """(verdicts, tool name) of a trace entry, a tool result, its JSON, or a list of verdicts."""
    if isinstance(entry, dict):
        return list(entry.get("guards") or ()), entry.get("name")
    if hasattr(entry, "guards"):
        return list(entry.guards), getattr(entry, "name", None)
    return list(entry or ()), None


def declared_outcome(domain, entry) -> Label | None:
    """What the domain's guards declare for one call: None when no guard of it is violated;
    "transfer" when a violated guard declares a transfer (the case needs a person, whatever
    else is wrong with it); otherwise "refuse".

    `entry`: a runtime TraceEntry or ToolResult, a trace entry's JSON (`{"name", "guards"}`),
    or a list of GuardVerdicts or their JSON. A verdict's JSON written before outcomes were
    declared has no `outcome`: it is looked up in `domain` (a CompiledDomain or ir.Domain) by
    policy and tool."""
    verdicts, tool = _verdicts(entry)
    declared: dict[tuple[str, str], set[str]] = {}
    for p in _ir(domain).policies:
        for g in p.guards:
            declared.setdefault((p.name, g.tool), set()).add(g.outcome.value)
    violated = []
    for v in verdicts:
        get = v.get if isinstance(v, dict) else (lambda k, v=v: getattr(v, k, None))
        if get("verdict") != "violated":
            continue
        outcome = get("outcome")
        if outcome is None:  # the policy's guards of that tool; a transfer among them wins, as below
            outs = declared.get((get("policy"), get("tool") or tool), set())
            outcome = "transfer" if "transfer" in outs else "refuse"
        violated.append(outcome)
    if not violated:
        return None
    return "transfer" if "transfer" in violated else "refuse"


def declared_reasons(entry, outcome: Label) -> list[str]:
    """The reasons, in words, that the violated guards declaring `outcome` give."""
    verdicts, _ = _verdicts(entry)
    out = []
    for v in verdicts:
        get = v.get if isinstance(v, dict) else (lambda k, v=v: getattr(v, k, None))
        if get("verdict") == "violated" and (get("outcome") or "refuse") == outcome and get("reason") and get("reason") not in out:
            out.append(get("reason"))
    return out


def transfer_tool(domain) -> str | None:
    """The agent tool that hands a customer over to a human (the domain's `transfer_tool`)."""
    name = (_ir(domain).settings or {}).get("transfer_tool")
    return name if isinstance(name, str) and _ir(domain).tool(name, ir.Side.AGENT) is not None else None


def transfer_message(domain) -> str | None:
    """The words the policy tells the agent to say when it transfers (`transfer_message`)."""
    text = (_ir(domain).settings or {}).get("transfer_message")
    return text if isinstance(text, str) and text.strip() else None


def transfers_declared(domain) -> set[str]:
    """Tools some guard of which declares a transfer: the only ones a transfer plan can aim at."""
    return {g.tool for p in _ir(domain).policies for g in p.guards if g.outcome == ir.Outcome.TRANSFER}


@dataclass(frozen=True)
class NoWrite:
    """What a no-write task holds beside its reads, as the declaration says."""

    branch: Literal["forbid", "transfer"]
    transfer_call: dict | None  # {"name", "args"} of the transfer, for a transfer
    communicate: tuple[str, ...]  # verbatim words the reward checks offline
    judge: tuple[str, ...]  # what only a judge can check: that the agent told the user, and why
    reward: tuple[str, ...]  # components beside DB, ACTION, POLICY and ENV_ASSERTION
    instruction: str  # what the simulated user does when told


def no_write(domain, entry, request: str) -> NoWrite | str:
    """The outcome of a forbidden request (the trace entry of its call), or why none can be
    written. `request` names the request in words (the tool's description)."""
    outcome = declared_outcome(domain, entry)
    if outcome is None:
        return "the forbidden call violates no guard"
    reasons = declared_reasons(entry, outcome)
    why = f" ({' '.join(reasons)})" if reasons else ""
    if outcome == "transfer":
        tool = transfer_tool(domain)
        if tool is None:
            return "a guard declares a transfer, and the domain names no transfer_tool"
        message = transfer_message(domain)
        summary = f"The customer asks to {request.rstrip('.')}; the policy has this handled by a person." + (f" {' '.join(reasons)}" if reasons else "")
        judge = f"The agent does not {request.rstrip('.')} itself, tells the user it cannot be done here{why}, and transfers them to a human agent."
        return NoWrite("transfer", {"name": tool, "args": {"summary": summary}}, (message,) if message else (),
                       (judge,), ("COMMUNICATE",) * bool(message) + ("REPLY", "NL_ASSERTION"),
                       "If the agent says this cannot be done here, accept a transfer to a human agent.")
    judge = f"The agent tells the user that the policy does not allow this request{why}, and does not {request.rstrip('.')}."
    return NoWrite("forbid", None, (), (judge,), ("REPLY", "NL_ASSERTION"),
                   "If the agent says the policy does not allow it, accept it and end the conversation; ask for nothing else.")


# ---------------------------------------------------------------- measuring labels against the declaration

def label_of(domain, task: ir.TaskDef) -> Label | None:
    """A task's no-write label: transfer when its gold calls the transfer tool, refuse when its
    gold writes nothing; None for a task that writes."""
    gold = task.gold or ()
    if any(c.name == transfer_tool(domain) for c in gold):
        return "transfer"
    writes = {t.name for t in _ir(domain).tools if t.effect == ir.Effect.WRITES}
    return None if any(c.name in writes for c in gold) else "refuse"


def label_agrees(domain, task: ir.TaskDef) -> bool | None:
    """Whether a synthesized no-write task's label is the one its forbidden request's guards
    declare: the request (from its notes) is replayed after the task's setup and gold reads.
    None when the task writes or records no forbidden request. `domain`: a CompiledDomain."""
    label = label_of(domain, task)
    if label is None:
        return None
    result = refusal(domain, task, transfer_tool(domain))
    return None if result is None else declared_outcome(domain, result) == label

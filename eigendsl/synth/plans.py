"""Plans: what a round's writers are asked for, as pydantic models; offline enumeration.

A plan names a workflow through the tool graph (the reads that feed the write, then the
write), the policy branch to exercise (allow, forbid -> refusal, transfer), the intents
(single or multi), the operator and seed task the offline writer starts from, the user's
style, the difficulty aimed at, and its evaluation plan (what the checker must pin). Plans are
non-overlapping: no two share (seed, operator, branch, intents).
"""

from __future__ import annotations

import random
from typing import Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field

from ..ir import Effect, Outcome, Side
from . import graph as tool_graph
from .operators import OPERATORS, Writer
from .outcomes import transfers_declared

Branch = Literal["allow", "forbid", "transfer"]


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="A short unique name.")
    write: str = Field(description="The write tool the task is about.")
    workflow: list[str] = Field(description="Tools in order: the reads that feed the write, then the write.")
    branch: Branch = Field(description="allow: the policy allows the request; forbid: the agent must refuse; transfer: the agent must transfer.")
    intents: Literal["single", "multi"] = "single"
    operator: Literal["retarget", "vary", "flip_fact", "compose", "distractor", "fresh"] = "retarget"
    seed: str = Field(description="The id of the domain task the writer starts from.")
    partner: str | None = Field(default=None, description="For multi-intent plans: the second seed.")
    style: str = "any"
    difficulty: Literal["easy", "medium", "hard"] = "easy"
    evaluation: list[str] = Field(default_factory=list, description="What the task's checker must pin.")

    def key(self) -> tuple:
        return (self.seed, self.partner, self.operator, self.branch, self.intents)

    def group(self) -> str:
        """The share of a round's drafts it is drawn in: multi-intent, refusal (or transfer), single."""
        return "multi" if self.intents == "multi" else ("refusal" if self.branch != "allow" else "single")


class PlanSet(BaseModel):
    """What a model planner answers: a list of plans."""

    plans: list[Plan]


def evaluation(branch: str) -> list[str]:
    if branch == "allow":
        return ["DB: the final state equals the gold final state", "GOAL: every field the gold changes is pinned",
                "ACTION: every gold call, arguments compared", "POLICY: no guard violated"]
    out = ["DB: nothing changes", "ACTION: the reads that establish the refusal", "POLICY: the forbidden write is not made",
           "REPLY: the agent answers the user after its last call", "NL_ASSERTION: the judge reads that the agent said why"]
    return out + (["ACTION: a transfer to a human agent", "COMMUNICATE: the policy's transfer message"] if branch == "transfer" else [])


def difficulty(branch: str, intents: str, operator: str) -> str:
    if intents == "multi":
        return "hard"
    return "medium" if branch != "allow" or operator in ("distractor", "flip_fact") else "easy"


def enumerate_plans(writer: Writer, g: nx.DiGraph, limit: int, seed: int) -> list[Plan]:
    """Every (seed, operator, branch) the domain supports, then multi-intent pairs; `limit`
    of them chosen round-robin over write tools so that every write tool is planned."""
    # a refusal plan only for a tool a guard of which declares a refusal, a transfer plan only
    # where one declares a transfer: the declaration decides the label, so other plans cannot land
    refused = {g_.tool for p in writer.domain.ir.policies for g_ in p.guards if g_.outcome == Outcome.REFUSE}
    transferred = transfers_declared(writer.domain) if writer.transfer else set()

    def no_write_branches(write: str) -> list[str]:
        return (["forbid"] if write in refused else []) + (["transfer"] if write in transferred else [])

    # a domain's customer words say which requests customers bring (`needs`): a write they give
    # no need for is planned by no operator (a seed of it is still varied as written)
    asked = writer.domain.words.asks_for

    by_tool: dict[str, list[Plan]] = {}
    for s in writer.seeds:
        write = s.gold[s.main].name
        feeds = set(tool_graph.feeders(g, write))
        workflow = [c.name for c in s.gold[:s.main] if c.name in feeds] + [write]
        branches = ["allow"] + no_write_branches(write)
        for op in OPERATORS:
            if op in ("compose", "fresh"):
                continue
            if op == "flip_fact" and not writer.guard_facts.get(write):
                continue
            for b in branches:
                by_tool.setdefault(write, []).append(Plan(
                    id=f"{s.task.id}/{op}/{b}", write=write, workflow=workflow, branch=b, operator=op, seed=s.task.id,
                    difficulty=difficulty(b, "single", op), evaluation=evaluation(b)))
        for t in writer.seeds:
            if t is not s and t.anchor and s.anchor and (t.anchor[0] == s.anchor[0] or t.owner == s.owner):
                by_tool.setdefault(write, []).append(Plan(
                    id=f"{s.task.id}+{t.task.id}/compose", write=write, workflow=workflow + [t.gold[t.main].name], branch="allow",
                    intents="multi", operator="compose", seed=s.task.id, partner=t.task.id, difficulty="hard",
                    evaluation=evaluation("allow") + ["both requests"]))
        for u in sorted(t.name for t in writer.domain.ir.tools
                        if t.actor == Side.USER and t.effect == Effect.WRITES and t.name != write and asked(t.name)):
            by_tool.setdefault(write, []).append(Plan(  # the seed's request plus a change on the user's phone
                id=f"{s.task.id}+{u}/compose", write=write, workflow=workflow + [u], branch="allow", intents="multi",
                operator="compose", seed=s.task.id, partner=f"fresh:{u}", difficulty="hard",
                evaluation=evaluation("allow") + ["both requests"]))
    for write in filter(asked, tool_graph.write_tools(g)):
        branches = ["allow"] + no_write_branches(write)
        feeds = tool_graph.feeders(g, write)
        for b in branches:
            by_tool.setdefault(write, []).append(Plan(
                id=f"{write}/fresh/{b}", write=write, workflow=feeds + [write], branch=b, operator="fresh", seed="-",
                difficulty=difficulty(b, "single", "fresh"), evaluation=evaluation(b)))
    rng = random.Random(f"plans:{seed}")
    for tool, plans in by_tool.items():
        rng.shuffle(plans)
        # one plan of each (branch, intents, operator is fresh) first, so that a tool's few
        # places under `limit` cover its refusal branch and its seedless writes too
        firsts, seen = [], set()
        for p in plans:
            if (p.branch, p.intents, p.operator == "fresh") not in seen:
                seen.add((p.branch, p.intents, p.operator == "fresh"))
                firsts.append(p)
        by_tool[tool] = firsts + [p for p in plans if p not in firsts]
    out: list[Plan] = []
    queues = [by_tool[k] for k in sorted(by_tool)]
    while len(out) < limit and any(queues):
        for q in queues:
            if q and len(out) < limit:
                out.append(q.pop(0))
    return out

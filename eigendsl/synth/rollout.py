"""Rollouts of kept tasks (Episode, as in `eval`) and the attribution of failed episodes.

Every kept task is first played by the oracle agent with the scripted user: if that fails,
the task itself is wrong (its checker or its scenario) and it is dropped. Then the agent role
plays it K times with the user role. A failed episode is attributed to the user when the user
misbehaved (fidelity flags, an error, a stop while the agent was asking), else to the agent, with
the reward components that failed. User-attributed episodes are left out of the SFT data.
An episode whose agent or user endpoint failed (unreachable, erroring, overloaded) says nothing
about the task or the models: it is not played, and the role and reason are handed back.

Without model roles the SFT dialogues are the oracle's: `dialogues` variants per task, each
with its own phrasings and disclosure order (the oracle agent and the scripted user seeded by
the variant), every one scored and kept only with reward 1 and the domain's protocol kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .. import ir
from ..episode.agents import OracleAgent
from ..episode.chat import EndpointError
from ..episode.episode import Episode, EpisodeResult
from ..episode.episode import play as play_episode
from ..episode.users import ScriptedUser, scenario_system
from ..runtime.environment import CompiledDomain
from ..verify.reward import TaskChecker


@dataclass
class Played:
    result: EpisodeResult
    agent_messages: list[dict]
    user_messages: list[dict]
    attributed: str | None = None  # task | user | agent
    why: str = ""


@dataclass
class Rollouts:
    oracle: Played
    episodes: list[Played] = field(default_factory=list)
    unplayed: list[tuple[str, str]] = field(default_factory=list)  # (agent | user, why) of episodes whose endpoint failed
    variants: list[Played] = field(default_factory=list)  # the oracle's dialogues (variant 0 is `oracle`), without model roles

    def teaching(self) -> list[tuple[int, Played]]:
        """(variant, episode) of the dialogues SFT learns from: the model roles' rewarded
        episodes, else the oracle's variants with reward 1 that keep the domain's protocol."""
        if self.episodes:
            return [(i, p) for i, p in enumerate(self.episodes) if p.result.reward == 1.0]
        return [(i, p) for i, p in enumerate(self.variants or [self.oracle])
                if p.result.reward == 1.0 and not p.result.protocol.get("unconfirmed_writes")]

    @property
    def pass_rate(self) -> float:
        eps = self.episodes or [self.oracle]
        return sum(p.result.reward == 1.0 for p in eps) / len(eps)


def play(domain: CompiledDomain, task: ir.TaskDef, agent, user, checker: TaskChecker, seed: int = 0, max_steps: int = 60) -> Played:
    episode = play_episode(Episode(domain, task, user, checker=checker, max_steps=max_steps), agent, seed)
    return Played(episode.result(), episode.agent_view(), episode.user_view())


def attribute(p: Played, oracle_solves: bool) -> tuple[str | None, str]:
    r = p.result
    if r.reward == 1.0:
        return None, ""
    failed = [k for k, v in r.breakdown.components.items() if v == 0.0]
    if not oracle_solves:
        return "task", f"the oracle with the scripted user fails too ({', '.join(failed)})"
    if r.termination == "user_error":
        return "user", "the user simulator failed"
    if r.fidelity:
        return "user", f"fidelity flags: {r.fidelity[0].get('kind', r.fidelity[0])}"
    said = [m.get("content") or "" for m in p.agent_messages if m["role"] == "assistant" and not m.get("tool_calls")]
    if r.termination == "user_stop" and said and said[-1].rstrip().endswith("?"):
        return "user", "the user stopped while the agent was asking a question (a premature stop)"
    return "agent", f"failed {', '.join(failed)} ({r.termination})"


def rollout(domain: CompiledDomain, task: ir.TaskDef, checker: TaskChecker, agent_factory=None, user_factory=None, k: int = 1,
            dialogues: int = 1) -> Rollouts:
    oracle = play(domain, task, OracleAgent(), ScriptedUser(), checker)
    oracle.attributed, oracle.why = attribute(oracle, oracle.result.reward == 1.0)
    out = Rollouts(oracle)
    if agent_factory is None and user_factory is None:
        out.variants = [oracle] + [play(domain, task, OracleAgent(), ScriptedUser(variant=v), checker, seed=v)
                                   for v in range(1, dialogues if oracle.result.reward == 1.0 else 1)]
        return out
    for i in range(k):
        agent = agent_factory() if agent_factory else OracleAgent()
        user = user_factory() if user_factory else ScriptedUser()
        try:
            p = play(domain, task, agent, user, checker, seed=i)
        except EndpointError as e:
            out.unplayed.append(("user" if "the user endpoint" in str(e) else "agent", str(e)))
            continue
        p.attributed, p.why = attribute(p, oracle.result.reward == 1.0)
        out.episodes.append(p)
    return out


def with_object_arguments(messages: list[dict]) -> list[dict]:
    """Messages whose tool-call arguments are JSON objects (the wire form sends strings)."""
    out = []
    for m in messages:
        m = dict(m)
        if m.get("tool_calls"):
            calls = []
            for c in m["tool_calls"]:
                args = c["function"]["arguments"]
                try:
                    args = json.loads(args) if isinstance(args, str) else args
                except ValueError:
                    pass
                calls.append({"id": c["id"], "type": "function", "function": {"name": c["function"]["name"], "arguments": args}})
            m["tool_calls"] = calls
        out.append(m)
    return out


def sft_record(p: Played, tools: list[dict], meta: dict | None = None) -> dict:
    """A dialogue as TRL's SFTTrainer reads it: `messages` (tool-call arguments as objects) and
    `tools`, then what names it (`meta`: task, plan, round, variant)."""
    return {"messages": with_object_arguments(p.agent_messages), "tools": tools, **(meta or {})}


def user_sft_record(p: Played, task: ir.TaskDef, tools: list[dict], meta: dict | None = None) -> dict:
    """The user's side of the same dialogue: their turns (as `assistant`) after the system
    message every user model plays from (the guide and the scenario, as `eval --user hf:` and
    the LLM user give it); tool-call arguments as objects, as in the agent's records."""
    out = {"messages": [scenario_system(task)] + with_object_arguments(p.user_messages)}
    if tools:
        out["tools"] = tools
    return {**out, **(meta or {})}

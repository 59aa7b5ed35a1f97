"""Rollouts of kept tasks (Episode, as in `eval`) and the attribution of failed episodes.

Every kept task is first played by the oracle agent with the scripted user: if that fails,
the task itself is wrong (its checker or its scenario) and it is dropped. Then the agent role
plays it K times with the user role. A failed episode is attributed to the user when the user
misbehaved (fidelity flags, an error, a stop while the agent was asking), else to the agent, with
the reward components that failed. User-attributed episodes are left out of the SFT data.
An episode whose agent or user endpoint failed (unreachable, erroring, overloaded) says nothing
about the task or the models: it is not played, and the role and reason are handed back.
"""

from __future__ import annotations

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


def rollout(domain: CompiledDomain, task: ir.TaskDef, checker: TaskChecker, agent_factory=None, user_factory=None, k: int = 1) -> Rollouts:
    oracle = play(domain, task, OracleAgent(), ScriptedUser(), checker)
    oracle.attributed, oracle.why = attribute(oracle, oracle.result.reward == 1.0)
    out = Rollouts(oracle)
    if agent_factory is None and user_factory is None:
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


def sft_record(p: Played, tools: list[dict]) -> dict:
    """A dialogue as TRL's SFTTrainer reads it: `messages` (tool-call arguments as objects) and `tools`."""
    import json

    messages = []
    for m in p.agent_messages:
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
        messages.append(m)
    return {"messages": messages, "tools": tools}


def user_sft_record(p: Played, task: ir.TaskDef, tools: list[dict]) -> dict:
    """The user's side: their turns (as `assistant`) after the system message every user model plays
    from (the guide and the scenario, as `eval --user hf:` and the LLM user give it)."""
    out = {"messages": [scenario_system(task)] + p.user_messages}
    if tools:
        out["tools"] = tools
    return out

"""A verifiers (0.3.x) multi-turn environment on a compiled domain: its tasks as the dataset, the simulated user and the tools as the turns, the compiled checker as the rubric.

    import verifiers as vf
    from openai import AsyncOpenAI

    env = vf.load_environment("eigendsl.adapters.verifiers", target="compiled/airline")
    # or: from eigendsl.adapters.verifiers import load_environment; env = load_environment("compiled/airline")
    results = env.generate(env.get_dataset(), client=AsyncOpenAI(base_url=..., api_key=...), model="m")
    results["outputs"][0]["reward"], results["outputs"][0]["metrics"]

One dataset row per task: `prompt` is what the episode opens with (the policy as system prompt,
the greeting, the user's opening message), `info` holds the task id. Each rollout starts an
episode of the row's task through eigendsl.api; `env_response` plays the model's message on it
(its tool calls run on the episode's tools and their results come back; text is answered by the
simulated user) and hands back the messages the agent sees next. The rollout ends when the
episode does: the user stops (###STOP###) or is transferred, or a step or error limit is hit.

The rubric: the benchmark's reward is the product of the components the task evaluates, which no
weighted sum of per-component functions can express. So the reward function `reward` (weight 1)
is the task's reward as the checker gives it, and each component the loaded tasks evaluate (DB,
ACTION, COMMUNICATE, ...) is a zero-weight function named after it, logged in `metrics`. There a
component scores its value; 0 when the episode ended prematurely (a step or error limit: the
benchmark scores the run 0 without evaluating anything); 1, the product's neutral element, when
the task does not count it or the checker left it out (NL_ASSERTION without a judge). A rollout
verifiers cuts short (a model error, a timeout, an overlong prompt) ends the episode as the
benchmark's premature endings do (agent_error, max_steps): reward 0.

Why verifiers 0.3.x, not 0.4.0: 0.4.0 has only its `verifiers.v1` stack, in which every agent
turn runs inside a harness program that `uv sync --script` installs per rollout (network, uv,
a Python of uv's own); 0.3.x still ships the in-process MultiTurnEnv / Rubric / rollout loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import verifiers as vf
from datasets import Dataset
from verifiers.utils.message_utils import normalize_messages

from ..api import Domain, load

CUT = {"has_error": "agent_error"}  # verifiers' stop conditions -> the benchmark's premature ending; others: max_steps


def plain(message: Any) -> dict:
    """A verifiers message (a pydantic model or a dict) as an OpenAI-style chat message."""
    m = message.model_dump(exclude_none=True) if hasattr(message, "model_dump") else dict(message)
    calls = m.get("tool_calls")
    if calls:  # verifiers' ToolCall is flat {id, name, arguments}; the episode takes OpenAI's nesting too
        m["tool_calls"] = [c if "function" in c else {"id": c.get("id"), "type": "function",
                                                      "function": {"name": c.get("name"), "arguments": c.get("arguments", "{}")}}
                           for c in calls]
    return m


def components_of(domain: Domain) -> list[str]:
    """The reward components the loaded tasks count, in the order the tasks name them."""
    seen: dict[str, None] = {}
    for task in domain.tasks:
        for name in task.reward:
            seen.setdefault(getattr(name, "value", name), None)
    return list(seen)


def component_func(name: str):
    def component(state, **_) -> float:
        scored = state.get("eig") or {}
        value = scored.get("components", {}).get(name)
        if value is None:  # not evaluated: the whole run scored 0 (premature), or not counted / left out
            return 0.0 if scored.get("premature", True) else 1.0
        return float(value)

    component.__name__ = component.__qualname__ = name
    return component


def reward(state, **_) -> float:
    """The task's reward: the product of its evaluated components, as the benchmark scores it."""
    return float((state.get("eig") or {}).get("reward", 0.0))


def rubric(domain: Domain) -> vf.Rubric:
    """`reward` with weight 1, and each component the tasks evaluate with weight 0 (logged)."""
    names = components_of(domain)
    return vf.Rubric(funcs=[reward, *(component_func(n) for n in names)], weights=[1.0] + [0.0] * len(names))


class EigEnv(vf.MultiTurnEnv):
    """Episodes of a loaded domain's tasks as verifiers rollouts (see the module's docstring)."""

    def __init__(self, domain: Domain, user: Any = "scripted", max_steps: int = 100, max_errors: int = 10,
                 user_options: dict | None = None, **kwargs):
        self.domain = domain
        self.user, self.user_options = user, dict(user_options or {})
        self.limits = {"max_steps": max_steps, "max_errors": max_errors}
        # The rows' prompts come from the episode itself; an LLM or custom user is not asked at load
        # time: the scripted user's opening stands in, and each rollout opens with the live one.
        opener = user if user in ("scripted", "none") else "scripted"
        rows = [{"prompt": self.start(t, opener).reset(), "info": {"task_id": t}, "answer": ""} for t in domain.task_ids]
        super().__init__(dataset=Dataset.from_list(rows), rubric=rubric(domain), max_turns=-1,
                         tool_defs=[t["function"] for t in domain.tools], **kwargs)

    def start(self, task_id: str, user: Any = None):
        user = self.user if user is None else user
        if isinstance(user, type) or (callable(user) and not hasattr(user, "respond")):
            user = user()  # a User class or factory: one user per rollout, as rollouts run concurrently
        return self.domain.episode(task_id, user, **self.user_options, **self.limits)

    async def setup_state(self, state):
        episode = self.start(state["info"]["task_id"])
        opening = episode.reset()  # the row's prompt, unless an LLM user opens differently this time
        state["prompt"] = normalize_messages(opening, field_name="prompt")
        state["eig_episode"] = episode
        return state

    async def env_response(self, messages, state, **kwargs):
        episode = state["eig_episode"]
        seen = len(messages)
        result = episode.step(plain(messages[-1]))
        new = normalize_messages(result.observation[seen:], field_name="env_response")
        if result.done:
            state["final_env_response"] = new
        return new

    @vf.cleanup
    async def score_episode(self, state):
        """End the episode (where verifiers stopped it first) and keep its reward as plain data for the rubric."""
        episode = state.pop("eig_episode", None)
        if episode is None:
            return
        if not episode.done:
            episode.end(CUT.get(state.get("stop_condition"), "max_steps"))
        scored = episode.reward()
        state["eig"] = {**scored.to_json(), "premature": scored.premature, "task_id": episode.task_id}


def load_environment(target: str | Path | Domain, tasks: str | Path | None = None, user: Any = "scripted",
                     task_ids: list[str] | None = None, max_steps: int = 100, max_errors: int = 10,
                     user_options: dict | None = None, **kwargs) -> EigEnv:
    """TARGET's tasks (or those of `tasks`; only `task_ids` where given) as a verifiers MultiTurnEnv.
    user: "scripted" | "openai:MODEL" (user_options: base_url, api_key, seed) | "none" (the scenario
    as the opening, the agent's first text ends the episode) | a User class or factory, called per
    rollout (a User object is shared by all rollouts: run them one at a time).
    Other keyword arguments go to verifiers' Environment (system_prompt, sampling_args, ...)."""
    domain = target if isinstance(target, Domain) else load(target, tasks)
    if task_ids is not None:
        domain = Domain(domain.compiled, [domain.task(t) for t in task_ids], domain.warnings, domain.sources)
    if not domain.tasks:
        raise ValueError(f"{domain.name} has no tasks; pass tasks=FILE")
    return EigEnv(domain, user, max_steps, max_errors, user_options, **kwargs)

"""A Gymnasium text environment on a compiled domain: observations are OpenAI-style messages, actions assistant messages.

    import gymnasium as gym
    import eigendsl.adapters.gym as eig_gym

    env_id = eig_gym.register("compiled/airline")          # "eigendsl/airline-v0"
    env = gym.make(env_id, user="scripted")
    messages, info = env.reset(seed=0, options={"task_id": "cancel-within-a-day"})
    while True:
        messages, reward, terminated, truncated, info = env.step(my_agent(messages, info["tools"]))
        if terminated or truncated:
            break

reset gives the agent's view so far (system prompt, greeting, the user's opening); step plays
one assistant message (tool calls, or text the simulated user answers) and gives the view after
it. The reward is 0 until the episode ends, then the task's compiled checker's (its components
in info["components"]). An episode cut by the step or error limit is truncated (reward 0, as in
the benchmark); one the user ends is terminated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium
from gymnasium import spaces

from ..api import Domain, load

CUT = {"max_steps", "too_many_errors"}  # the limits: truncation, not an ending the task reached


class Messages(spaces.Space):
    """A list of OpenAI-style chat messages (dicts with a role)."""

    def __init__(self):
        super().__init__(shape=None, dtype=None)

    def contains(self, x: Any) -> bool:
        return isinstance(x, list) and all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in x)

    def sample(self, mask=None, probability=None):
        return [{"role": "assistant", "content": "How can I help?"}]


class AssistantMessage(spaces.Space):
    """One assistant message: {"role": "assistant", "content": str | None, "tool_calls": [...]}."""

    def __init__(self):
        super().__init__(shape=None, dtype=None)

    def contains(self, x: Any) -> bool:
        return isinstance(x, dict) and x.get("role", "assistant") == "assistant" and (
            isinstance(x.get("content"), str) or isinstance(x.get("tool_calls"), list))

    def sample(self, mask=None, probability=None):
        return {"role": "assistant", "content": "Is there anything else I can help you with?"}


class EigEnv(gymnasium.Env):
    """One domain's tasks as a Gymnasium environment (a text environment: see the module's docstring)."""

    metadata = {"render_modes": []}

    def __init__(self, target: str | Path | Domain, tasks: str | Path | None = None, user: Any = "scripted",
                 task_id: str | None = None, max_steps: int = 100, max_errors: int = 10, **user_options):
        self.domain = target if isinstance(target, Domain) else load(target, tasks)
        if not self.domain.tasks:
            raise ValueError(f"{self.domain.name} has no tasks; pass tasks=FILE")
        self.user, self.user_options = user, user_options
        self.task_id = task_id
        self.limits = {"max_steps": max_steps, "max_errors": max_errors}
        self.observation_space = Messages()
        self.action_space = AssistantMessage()
        self.episode = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        task_id = (options or {}).get("task_id") or self.task_id
        if task_id is None:  # a task drawn by the seeded generator
            task_id = self.domain.task_ids[int(self.np_random.integers(len(self.domain.tasks)))]
        self.episode = self.domain.episode(task_id, self.user, **self.user_options, **self.limits)
        messages = self.episode.reset()
        return messages, {"task_id": task_id, "tools": self.domain.tools}

    def step(self, action: dict):
        if self.episode is None:
            raise RuntimeError("call reset() before step()")
        result = self.episode.step(action)
        info = {"task_id": self.episode.task_id, "termination": result.info["termination"], "steps": result.info["steps"]}
        if not result.done:
            return result.observation, 0.0, False, False, info
        reward = self.episode.reward()
        info.update(components=reward.components, details=reward.details, verdicts=reward.verdicts)
        cut = reward.termination in CUT
        return result.observation, reward.reward, not cut, cut, info


def register(target: str | Path, tasks: str | Path | None = None, env_id: str | None = None, **kwargs) -> str:
    """Register TARGET's tasks with Gymnasium as `eigendsl/NAME-v0` (or env_id); the id, for gym.make.
    The domain is loaded on make, not here."""
    if env_id is None:
        name = Path(target).stem if Path(target).suffix == ".eig" else Path(target).name
        env_id = f"eigendsl/{name}-v0"
    if env_id not in gymnasium.registry:
        gymnasium.register(env_id, entry_point=EigEnv, disable_env_checker=False,
                           kwargs={"target": str(target), "tasks": None if tasks is None else str(tasks), **kwargs})
    return env_id


def register_project_domains(root: str | Path) -> list[str]:
    """Register every compiled folder under ROOT/compiled (a source checkout's airline, retail, telecom)."""
    folders = sorted(p for p in (Path(root) / "compiled").glob("*") if (p / "manifest.json").is_file())
    return [register(p) for p in folders]


# In a source checkout the project's compiled domains are ready for gym.make("eigendsl/airline-v0").
register_project_domains(Path(__file__).resolve().parents[2])

"""The public Python API: load a domain with a task set, play episodes with OpenAI-style messages, read rewards, score trajectories.

    import eigendsl.api as eig

    domain = eig.load("compiled/airline")                 # or a .eig file; tasks= an .eig, tau2 JSON or synth folder
    episode = domain.episode(domain.task_ids[0], user="scripted")
    messages = episode.reset()                             # system prompt, greeting, the user's opening
    while not episode.done:
        messages = episode.step(my_agent(messages, domain.tools)).observation
    episode.reward().reward, episode.reward().components, episode.reward().verdicts

Every name in `__all__` is stable (tests/test_api.py). Failures are exceptions (LoadError,
TaskError), never SystemExit: a domain or task file that does not compile raises LoadError
carrying the compiler's diagnostics. The commands (`eval`, `train`) load through `load`, so
there is one loader. Nothing here imports an adapter's package (mcp, gymnasium, verifiers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import ir
from .compiler import load_domain
from .episode.episode import STOP, Episode, StepResult, User
from .episode.users import ScriptedUser, scenario_prompt
from .files import not_a_file
from .interop.score import RecordError, Scorer
from .interop.task_source import TaskSourceError, task_file_compilation
from .runtime.environment import CompiledDomain, DomainLoadError, Environment
from .syntax.diagnostics import CompileError, Diagnostic
from .verify.reward import TaskChecker, TaskSetupError
from .verify.rules import ended_prematurely

__all__ = ["load", "task_files", "Domain", "EpisodeRun", "Session", "Reward", "LoadError", "TaskError", "NoUser", "StepResult"]


class LoadError(Exception):
    """A domain or task set that cannot be loaded. `diagnostics`: the compiler's, where it compiled
    something (each with its file, line and code); `sources`: the texts they point into."""

    def __init__(self, message: str, diagnostics: Iterable[Diagnostic] = (), sources: dict[str, str] | None = None):
        super().__init__(message)
        self.diagnostics = list(diagnostics)
        self.sources = sources or {}


class TaskError(Exception):
    """A task that does not exist, or whose setup fails (the message names the failing step)."""


@dataclass
class Reward:
    """An episode's reward: the product of its evaluated components (None: not evaluated), why
    each scored as it did, how the episode ended, and every tool call's policy verdicts."""

    reward: float
    components: dict[str, float | None]
    details: dict[str, Any]
    termination: str
    verdicts: list[dict] = field(default_factory=list)  # [{"tool", "arguments", "ok", "guards": [...]}]

    def __post_init__(self):  # component names as plain strings (the IR's are enum members)
        self.components = {getattr(k, "value", k): v for k, v in self.components.items()}
        self.details = {getattr(k, "value", k): v for k, v in self.details.items()}

    @property
    def premature(self) -> bool:
        """Whether the episode ended as the benchmark scores 0 whatever its state (a step or error
        limit, an agent or user failure): its components were then not evaluated."""
        return ended_prematurely(self.termination)

    def to_json(self) -> dict:
        return {"reward": self.reward, "components": self.components, "details": self.details,
                "termination": self.termination, "verdicts": self.verdicts}


class NoUser:
    """No simulated user: the opening message is the task's whole scenario, and the agent's first
    text ends the episode. What a single-turn trainer (TRL's environment_factory) plays."""

    def reset(self, task: ir.TaskDef, domain: CompiledDomain) -> None:
        self.task = task

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        if not any(m["role"] == "assistant" for m in messages):
            return {"role": "assistant", "content": scenario_prompt(self.task) or "Hi, I need some help."}
        return {"role": "assistant", "content": STOP}


def make_user(user: str | User | None, base_url: str | None = None, api_key: str | None = None, seed: int | None = None) -> User:
    """A simulated user: "scripted" (deterministic), "none" (NoUser), "openai:MODEL" at base_url, or a User object."""
    if user is None or user == "none":
        return NoUser()
    if not isinstance(user, str):
        return user
    if user == "scripted":
        return ScriptedUser()
    kind, _, model = user.partition(":")
    if kind == "openai" and model:
        from .episode.chat import ChatConfig
        from .episode.users import LLMUser

        return LLMUser(ChatConfig(model=model, base_url=base_url, api_key=api_key), seed=seed)
    raise ValueError(f"unknown user {user!r}: scripted | none | openai:MODEL | a User object")


def task_files(path: str | Path | None) -> list[str | None]:
    """The task files a task set names: an .eig or tau2 JSON file as is (None: the domain's own
    tasks); a synth output folder by its kept tasks: `merged.eig` where synth-merge wrote one,
    else every `round_N.eig` in round order."""
    if path is None or not Path(path).is_dir():
        return [None if path is None else str(path)]
    folder = Path(path) / "tasks" if (Path(path) / "tasks").is_dir() else Path(path)
    merged = folder / "merged.eig"
    numbered = [(int(m.group(1)), p) for p in folder.glob("round_*.eig") if (m := re.fullmatch(r"round_(\d+)", p.stem))]
    rounds = [merged] if merged.is_file() else [p for _, p in sorted(numbered)]
    if not rounds:
        raise LoadError(f"{path}: not a synth output folder (no tasks/round_N.eig or merged.eig in it)")
    return [str(p) for p in rounds]


def load(target: str | Path, tasks: str | Path | None = None, *, db: str | None = None, user_db: str | None = None,
         root: str | None = None) -> "Domain":
    """A domain to run: TARGET a compiled folder or a .eig file; its own tasks, or those of `tasks`
    (an .eig task file, a tau2 tasks JSON, or a synth output folder: every round's tasks)."""
    domain, found, warnings, sources = None, [], [], {}
    for path in task_files(tasks):
        loaded, more, c = _load_one(str(target), path, db, user_db, root)
        domain = domain or loaded
        found += more
        if c is not None:
            warnings += [d for d in c.diagnostics if not d.is_error]
            sources.update(c.sources)
    ids = [t.id for t in found]
    if len(set(ids)) != len(ids):
        raise LoadError(f"{tasks}: task ids repeat across its files ({sorted({i for i in ids if ids.count(i) > 1})[:3]})")
    return Domain(domain, found, warnings, sources)


def _load_one(target: str, tasks_file: str | None, db, user_db, root):
    try:
        if tasks_file is None:
            domain = load_domain(target, db, user_db, root=root)
            return domain, list(domain.ir.tasks), None
        if not Path(tasks_file).is_file():
            raise LoadError(not_a_file(Path(tasks_file), "task file"))
        c = task_file_compilation(target, tasks_file, db, user_db, root)
    except CompileError as e:
        raise LoadError(f"{target} does not compile", e.diagnostics) from None
    except (TaskSourceError, DomainLoadError) as e:
        raise LoadError(str(e)) from None
    if not c.ok:
        raise LoadError(f"{tasks_file} does not compile", c.diagnostics, c.sources)
    return CompiledDomain.from_compilation(c), list(c.domain.tasks), c


class Domain:
    """A loaded domain and its tasks; shared, read-only, by every episode started from it."""

    def __init__(self, compiled: CompiledDomain, tasks: list[ir.TaskDef], warnings: list[Diagnostic] = (),
                 sources: dict[str, str] | None = None):
        self.compiled = compiled
        self.tasks = tasks
        self.warnings = list(warnings)  # the task files' warnings (the commands print them)
        self.sources = sources or {}
        self._by_id = {t.id: t for t in tasks}
        self._checkers: dict[str, TaskChecker] = {}
        self._scorer: Scorer | None = None

    @property
    def name(self) -> str:
        return self.compiled.name

    @property
    def task_ids(self) -> list[str]:
        return [t.id for t in self.tasks]

    @property
    def tools(self) -> list[dict]:
        """The agent's tools as OpenAI function schemas (name, description, JSON-schema parameters)."""
        return self.compiled.tool_schemas("agent")

    @property
    def policy(self) -> str:
        """The policy document the agent reads (its system prompt)."""
        return self.compiled.policy_text

    def task(self, task_id: str) -> ir.TaskDef:
        try:
            return self._by_id[task_id]
        except KeyError:
            raise TaskError(f"unknown task id {task_id!r} ({len(self.tasks)} task(s) loaded)") from None

    def checker(self, task_id: str) -> TaskChecker:
        """The task's compiled checker (built once, shared by its episodes)."""
        if task_id not in self._checkers:
            self._checkers[task_id] = TaskChecker(self.compiled, self.task(task_id))
        return self._checkers[task_id]

    def setup_failures(self) -> list[TaskSetupError]:
        """Each loaded task whose setup fails, with the failing step (an episode of it cannot start)."""
        broken = []
        for t in self.tasks:
            try:
                self.checker(t.id).start()
            except TaskSetupError as e:
                broken.append(e)
        return broken

    def session(self, task_id: str | None = None) -> "Session":
        """A fresh environment for direct tool calls: the task's initial state (setup applied), or
        the domain's data when no task is named. What an MCP session or a bare loop drives."""
        return Session(self, task_id)

    def episode(self, task_id: str, user: str | User | None = "scripted", *, base_url: str | None = None,
                api_key: str | None = None, seed: int | None = None, max_steps: int = 100, max_errors: int = 10) -> "EpisodeRun":
        """An episode of one task with a simulated user; reset() it, then step() it with assistant messages."""
        checker = self.checker(task_id)
        return EpisodeRun(Episode(self.compiled, checker.task, make_user(user, base_url, api_key, seed), checker=checker,
                                  max_steps=max_steps, max_errors=max_errors))

    def score(self, trajectory: dict) -> Reward:
        """The reward of an outside trajectory: {"task_id", "messages": OpenAI or tau2 messages,
        "termination_reason"?}; its tool calls are replayed on the task's initial state."""
        if self._scorer is None:
            self._scorer = Scorer(self.compiled, self.tasks)
            self._scorer.checkers = self._checkers
        try:
            line = self._scorer.score(trajectory)
        except (RecordError, TaskSetupError) as e:
            raise TaskError(str(e)) from None
        return Reward(line["reward"], line["components"], line["details"], line["termination_reason"])


def _verdicts(turns: list[dict]) -> list[dict]:
    """Every agent tool call with its result's policy verdicts, from an episode's turns."""
    calls = {c["id"]: c for t in turns if t["role"] == "assistant" for c in t.get("tool_calls", ())}
    out = []
    for t in turns:
        if t["role"] == "tool" and t.get("side") == "agent":
            call = calls.get(t["tool_call_id"], {})
            out.append({"tool": call.get("name"), "arguments": call.get("arguments"), "ok": not t.get("error"),
                        "guards": t.get("guards", [])})
    return out


class EpisodeRun:
    """An episode through the API: reset() -> the agent's opening messages; step(assistant message)
    -> StepResult(observation, done, reward, info); reward() -> Reward (so far, or final)."""

    def __init__(self, episode: Episode):
        self.episode = episode
        self.tools = episode.tools

    @property
    def done(self) -> bool:
        return self.episode.done

    @property
    def task_id(self) -> str:
        return self.episode.task.id

    def reset(self) -> list[dict]:
        try:
            return self.episode.reset()
        except TaskSetupError as e:
            raise TaskError(str(e)) from None

    def step(self, message: dict) -> StepResult:
        if not isinstance(message, dict):
            raise TypeError("step() takes an assistant message: {'role': 'assistant', 'content': ..., 'tool_calls': [...]}")
        return self.episode.step(message)

    def end(self, reason: str = "user_stop") -> None:
        """End the episode now (the agent's loop stopped it); `reason` as the benchmark names it."""
        if not self.episode.done:
            self.episode._finish(reason)

    def reward(self) -> Reward:
        r = self.episode.result()
        return Reward(r.reward, r.breakdown.components, r.breakdown.details, r.termination, _verdicts(r.messages))

    def result(self) -> dict:
        """The whole episode as `eval` records it (messages, reward, components, protocol, tokens)."""
        return self.episode.result().to_json()


class Session:
    """One environment driven by direct tool calls (no conversation): call(), then reward(messages)."""

    def __init__(self, domain: Domain, task_id: str | None = None):
        self.domain = domain
        self.task_id = task_id
        if task_id is None:
            self.checker = None
            self.env: Environment = domain.compiled.environment()
        else:
            self.checker = domain.checker(task_id)
            try:
                self.env = self.checker.start()
            except TaskSetupError as e:
                raise TaskError(str(e)) from None
        self.calls: list[dict] = []

    def call(self, name: str, arguments: Any = None) -> dict:
        """Run one agent tool: {"ok", "content" | "error", "text", "guards"}; a bad call is the tool's
        own error (unknown tool, bad arguments, a refused write), never an exception."""
        result = self.env.call(name, arguments if arguments is not None else {}, "agent")
        out = {"ok": result.ok, "text": result.text, "guards": [g.to_json() for g in result.guards]}
        out.update({"content": result.content} if result.ok else {"error": result.error})
        self.calls.append({"tool": name, "arguments": arguments, "ok": result.ok, "guards": out["guards"]})
        return out

    def reward(self, messages: Iterable[str] = (), termination: str = "user_stop") -> Reward:
        """The task's reward for the state reached and the agent's texts `messages` (what it told the user)."""
        if self.checker is None:
            raise TaskError("this session is bound to no task, so it has no reward; start it with a task id")
        texts = [m for m in messages if isinstance(m, str)]
        b = self.checker.score(self.env, texts, termination, [{"role": "assistant", "content": m} for m in texts])
        return Reward(b.reward, b.components, b.details, termination, list(self.calls))

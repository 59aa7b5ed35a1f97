"""Evaluation settings: agent and user specifications from the command line or a config file.

    --agent oracle | random | openai:MODEL | hf:PATH      --user scripted | openai:MODEL | hf:PATH

`hf:PATH` is a local transformers model folder: for the agent, e.g. `DIR/final` of
`eigendsl train`; for the user, that of `eigendsl train --stage user-sft`.

A config file (JSON or TOML) has the same settings in sections, e.g.

    [agent]
    kind = "openai"
    model = "qwen3-8b"
    base_url = "http://localhost:8000/v1"
    temperature = 0.0
    [user]
    kind = "openai"
    model = "gpt-4.1"
    trials = 4

Command-line options override the file. API keys may come from the file, an option, or
OPENAI_API_KEY; they are never written into result files.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..episode.chat import ChatConfig


class ConfigProblem(Exception):
    pass


class ModelSettings(ChatConfig):
    """ChatConfig with the model optional: oracle agents and scripted users need none."""

    model: str | None = None

    def chat(self, who: str) -> ChatConfig:
        if not self.model:
            raise ConfigProblem(f"the {who} needs a model name (e.g. --{who} openai:MODEL)")
        return ChatConfig(**self.model_dump(include=set(ChatConfig.model_fields)))

    def public(self) -> dict:
        return self.model_dump(include={"kind", "model", "base_url", "temperature", "top_p", "max_tokens", "seed"}, exclude_none=True)


class AgentSettings(ModelSettings):
    kind: Literal["oracle", "random", "openai", "hf"] = "oracle"
    path: str | None = None  # hf: a local model folder
    max_new_tokens: int = 512

    def public(self) -> dict:
        if self.kind in ("oracle", "random"):
            return {"kind": self.kind}
        if self.kind == "hf":
            return self.model_dump(include={"kind", "path", "max_new_tokens", "temperature"}, exclude_none=True)
        return super().public()


class UserSettings(ModelSettings):
    kind: Literal["scripted", "openai", "hf"] = "scripted"
    path: str | None = None  # hf: a local model folder
    max_new_tokens: int = 256

    def public(self) -> dict:
        if self.kind == "scripted":
            return {"kind": "scripted"}
        if self.kind == "hf":
            return self.model_dump(include={"kind", "path", "max_new_tokens", "temperature"}, exclude_none=True)
        return super().public()


class JudgeEndpoint(BaseModel):
    """How long the judge's endpoint is waited for (its model and URL come from --judge)."""

    model_config = ConfigDict(extra="forbid")
    timeout: float = 60.0
    max_retries: int = 3
    overload_wait: float = 600.0
    down_after: float = 120.0
    down_tries: int = Field(default=5, ge=1)


class EvalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: AgentSettings = AgentSettings()
    user: UserSettings = UserSettings()
    judge: JudgeEndpoint = JudgeEndpoint()
    trials: int = Field(1, ge=1)
    concurrency: int = Field(1, ge=1)
    max_steps: int = Field(100, ge=1)
    max_errors: int = Field(10, ge=1)
    task_ids: list[str] | None = None


def read_config(path: str | Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigProblem(f"cannot read config {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigProblem(f"config {path} is not UTF-8 text") from None
    try:
        return tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        raise ConfigProblem(f"{path} is not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {e}") from None


def apply_spec(section: dict, spec: str | None, who: str) -> None:
    """`--agent openai:MODEL` style shorthands into a settings section."""
    if not spec:
        return
    kind, _, rest = spec.partition(":")
    kind = {"llm": "openai"}.get(kind, kind)
    section["kind"] = kind
    if rest:
        section["path" if kind == "hf" else "model"] = rest


def settings(config_file: str | None, agent: str | None, user: str | None, overrides: dict[str, Any]) -> EvalSettings:
    raw: dict[str, Any] = read_config(config_file) if config_file else {}
    raw.setdefault("agent", {})
    raw.setdefault("user", {})
    apply_spec(raw["agent"], agent, "agent")
    apply_spec(raw["user"], user, "user")
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, name = key.partition(".")
        if name:
            raw[section][name] = value
        else:
            raw[key] = value
    try:
        return EvalSettings.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise ConfigProblem(f"{where} is not a setting (see `eigendsl eval --help` and docs/episodes.md)") from None
        raise ConfigProblem(f"setting {where}: {err['msg'][:1].lower()}{err['msg'][1:]}") from None


def agent_factory(s: AgentSettings):
    from ..episode.agents import OpenAIAgent, OracleAgent, RandomAgent

    if s.kind == "oracle":
        return OracleAgent
    if s.kind == "random":
        return RandomAgent
    if s.kind == "openai":
        chat = s.chat("agent")
        return lambda: OpenAIAgent(chat)
    from ..episode.local import TransformersAgent

    model, tokenizer = local_model(s.path, "agent")
    return lambda: TransformersAgent(model, tokenizer, max_new_tokens=s.max_new_tokens, temperature=s.temperature)


def local_model(path: str | None, who: str):
    """The model and tokenizer of an `hf:PATH` agent or user; a clear error for a bad PATH."""
    if not path:
        raise ConfigProblem(f"the hf {who} needs a model folder: --{who} hf:PATH")
    folder = Path(path).expanduser()
    if path.startswith((".", "/", "~")) or folder.exists():  # a local folder, not a Hub name
        if not folder.is_dir():
            raise ConfigProblem(f"no model folder at {path}")
        if not (folder / "config.json").is_file():
            raise ConfigProblem(f"{path} is not a transformers model folder (it has no config.json)")
    from ..episode.agents import AgentError
    from ..episode.local import TransformersAgent

    try:
        return TransformersAgent.load(path)
    except AgentError as e:
        raise ConfigProblem(str(e)) from None


def user_factory(s: UserSettings):
    from ..episode.users import LLMUser, ScriptedUser

    if s.kind == "scripted":
        return lambda seed: ScriptedUser()
    if s.kind == "hf":
        from ..episode.local import TransformersUser

        model, tokenizer = local_model(s.path, "user")
        return lambda seed: TransformersUser(model, tokenizer, s.max_new_tokens, s.temperature, seed)
    chat = s.chat("user")
    return lambda seed: LLMUser(chat, seed=seed if s.seed is None else s.seed)


def public_config(s: EvalSettings, domain: str, task_ids: list[str]) -> dict:
    """What identifies a run's results (no keys, no concurrency)."""
    agent = s.agent.public()
    user = s.user.public()
    return {"domain": domain, "agent": agent, "user": user, "trials": s.trials, "max_steps": s.max_steps,
            "max_errors": s.max_errors, "tasks": task_ids}

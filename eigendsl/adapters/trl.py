"""TRL's `environment_factory` for GRPOTrainer on a compiled domain: the tools as methods, the checker's reward from get_reward.

    from trl import GRPOConfig, GRPOTrainer
    from eigendsl.adapters.trl import environment_factory, task_dataset

    factory = environment_factory("tests/data/tinyshop.eig", tasks="tests/data/tinyshop_rl.eig")
    trainer = GRPOTrainer(model=..., args=GRPOConfig(...), train_dataset=task_dataset(factory.domain),
                          environment_factory=factory)

TRL (1.16) makes one instance per rollout, reads each public method as a tool (its JSON schema
from the type hints and the Google-style docstring, so the domain's tools are built as methods
with both), calls `reset(**row)` before generating and `get_reward()` once the rollout is over.
Here `reset` binds a fresh environment in the row's task's initial state (setup applied) and
`get_reward` is the task's compiled checker on the state reached.

What this lacks compared with `eigendsl train --stage grpo`: no simulated user (the prompt holds
the whole scenario and the model acts in one turn of tool calls, as with api.NoUser); the
checker never sees the model's final text, so COMMUNICATE and REPLY score as if it said
nothing; no dynamic filtering or refilling of groups whose rewards are all equal; and the
arguments of nested tools are typed only as list / dict (TRL's schemas come from Python types).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any, Optional

from ..api import Domain, NoUser, Session, load

PY_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list, "object": dict}
RESERVED = {"reset", "get_reward"}  # TRL's own methods on an environment


def one_line(text: str | None, fallback: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip() or fallback


def tool_method(schema: dict):
    """A method that runs one of the domain's tools, with the signature and docstring TRL reads its schema from."""
    fn = schema["function"]
    name, parameters = fn["name"], fn.get("parameters") or {}
    props, required = parameters.get("properties") or {}, set(parameters.get("required") or ())

    def method(self, **arguments):
        return self._call(name, {k: v for k, v in arguments.items() if v is not None or k in required})

    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    for key, prop in sorted(props.items(), key=lambda kv: kv[0] not in required):  # required ones first
        kind = PY_TYPES.get(prop.get("type"), str)
        annotations[key] = kind if key in required else Optional[kind]
        params.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, annotation=annotations[key],
                                        default=inspect.Parameter.empty if key in required else None))
    method.__name__ = method.__qualname__ = name
    method.__signature__ = inspect.Signature(params)
    method.__annotations__ = annotations
    args = "".join(f"\n    {k}: {one_line(p.get('description'), k.replace('_', ' '))}" for k, p in props.items())
    method.__doc__ = one_line(fn.get("description"), name.replace("_", " ")) + (f"\n\nArgs:{args}" if args else "")
    return method


class EigEnvironment:
    """One rollout's environment (a subclass per domain carries its tools as methods)."""

    domain: Domain
    session: Session | None = None

    def reset(self, task_id: str | None = None, **row) -> None:
        """Start the row's task afresh: its initial state, its setup applied (the prompt already holds the scenario)."""
        self.session: Session = self.domain.session(task_id)
        return None

    def get_reward(self) -> float:
        """The task's reward for the state the rollout reached (0 when reset named no task)."""
        if self.session is None or self.session.task_id is None:
            return 0.0
        return float(self.session.reward().reward)

    def _call(self, name: str, arguments: dict) -> str:
        if self.session is None:  # a tool called before any reset: the domain's own data
            self.reset()
        return self.session.call(name, arguments)["text"]


def environment_factory(target: str | Path | Domain, tasks: str | Path | None = None) -> type[EigEnvironment]:
    """A class (TRL calls it with no arguments for each rollout) whose methods are TARGET's agent tools."""
    domain = target if isinstance(target, Domain) else load(target, tasks)
    clash = sorted(RESERVED & {t["function"]["name"] for t in domain.tools})
    if clash:
        raise ValueError(f"the domain has tools named {', '.join(clash)}, which TRL reserves for the environment itself")
    methods = {t["function"]["name"]: tool_method(t) for t in domain.tools}
    name = re.sub(r"\W", "", domain.name.title()) or "Domain"
    return type(f"{name}Environment", (EigEnvironment,), {"domain": domain, "__module__": __name__, **methods})


def task_rows(domain: Domain) -> list[dict]:
    """One row per task: the conversational prompt (the policy, then the whole scenario as the user's message) and its id."""
    rows = []
    for task in domain.tasks:
        user = NoUser()
        user.reset(task, domain.compiled)
        opening = user.respond([], [])["content"]
        rows.append({"prompt": [{"role": "system", "content": domain.policy}, {"role": "user", "content": opening}],
                     "task_id": task.id})
    return rows


def task_dataset(domain: Domain):
    """The tasks as a `datasets.Dataset` for GRPOTrainer's train_dataset."""
    from datasets import Dataset

    return Dataset.from_list(task_rows(domain))

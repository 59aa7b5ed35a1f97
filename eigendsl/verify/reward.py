"""A task's compiled checker: the binary reward of an episode and each of its components.

    checker = TaskChecker(domain, task)
    env = checker.start()                  # the task's initial state: facts and setup applied
    ... an episode calls tools on env ...
    breakdown = checker.score(env, agent_messages)

Components (a task's `reward { ... }` selects which count; the reward is their product):
  DB             the final state equals the state reached by replaying the gold actions on the
                 same initial state (both sides; compared through the copy-on-write diffs)
  GOAL           every goal predicate holds on the final state
  ENV_ASSERTION  every env assertion returns its expected value on the final state
  COMMUNICATE    every required string appears in some agent message (case-insensitive, with
                 commas removed from the message)
  ACTION         every gold action was called with the same name and compared arguments
  POLICY         no policy guard was violated by any call of the episode
  NL_ASSERTION   every natural-language assertion judged met by the checker's judge (see
                 judge.py); without a judge it is reported as not evaluated (excluded)
  REPLY          the agent answered the user in words after its last tool call (a refusal or
                 a transfer must be told; what it said is the judge's to assess)

`score(..., termination=...)` applies the benchmark's rule on how a run ended (rules.py): a run
cut short scores 0 whatever its state. Matching and state equality follow rules.py too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .. import ir
from ..errors import ToolFailure
from ..runtime.environment import INTERNAL_ERRORS, CompiledDomain, Environment, ToolResult
from . import rules
from .explain import eig_value, explain_goal

class TaskSetupError(Exception):
    """A task whose setup step fails: the task itself is broken. Carries the failing step's span."""

    def __init__(self, task_id: str, index: int, step: str, error: str, span):
        self.task_id, self.index, self.step, self.error, self.span = task_id, index, step, error, span
        super().__init__(f"task {task_id}: {self.reason}")

    @property
    def reason(self) -> str:
        """What failed, without the task's name: `setup step 2 (assignment) failed: ...`."""
        return f"setup step {self.index + 1} ({self.step}) failed: {self.error}"


@dataclass
class RewardBreakdown:
    reward: float
    components: dict[str, float | None]  # None: not evaluated
    basis: tuple[str, ...]
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"reward": self.reward, "components": self.components, "basis": list(self.basis), "details": self.details}


normalise_arguments = rules.call_arguments


def communicated(info: str, messages: list[str]) -> bool:
    needle = info.lower()
    return any(needle in m.lower().replace(",", "") for m in messages if m)


def action_matches(gold: ir.CallSpec, entry) -> bool:
    return entry.kind == "tool" and rules.action_matches(gold.name, gold.args, gold.compare, entry.name, entry.arguments)


class TaskChecker:
    """Everything needed to start and score episodes of one task; create once, reuse."""

    SCORERS: dict[ir.RewardComponent, str]  # each component's scorer method, checked below the class

    def __init__(self, domain: CompiledDomain, task: ir.TaskDef, judge=None):
        self.domain = domain
        self.task = task
        self.judge = judge  # judges NL assertions: .judge(conversation, assertions) -> [(met, reason)]
        program = domain.program
        self.setup_steps = [step if isinstance(step, ir.CallSpec) else program.function(step) for step in task.setup]
        self.goals = [program.function(g) for g in task.goals]
        self._initial = None  # (rows the setup wrote, its first failure, derived values), after the first start()

    # ------------------------------------------------------------ episodes
    def start(self, strict: bool = True) -> Environment:
        """A fresh environment in the task's initial state (facts set, setup applied).

        The setup runs once per checker; later starts copy the rows it wrote (O(rows written)),
        which is what makes scoring thousands of trajectories cheap."""
        initial = self._initial
        if initial is None:
            env = self.domain.environment(self.task.user.facts)
            failure = None
            for index, (step, source) in enumerate(zip(self.setup_steps, self.task.setup)):
                if isinstance(step, ir.CallSpec):
                    result = env.run_setup(step.name, step.args, step.actor)
                else:
                    result = env.apply(step)
                if not result.ok and failure is None:
                    name = step.name if isinstance(step, ir.CallSpec) else "assignment"
                    failure = TaskSetupError(self.task.id, index, name, result.error, source.span)
            overlay = env.state.overlay.copy()
            initial = self._initial = (overlay, failure, self.domain.derived_values(overlay))
        overlay, failure, derived = initial
        if failure is not None and strict:
            raise failure
        env = self.domain.environment(self.task.user.facts)
        env.state.overlay = overlay.copy()
        env.state.derived = dict(derived)  # the same state: its derived fields, computed once per task
        return env

    def replay(self, calls: list[ir.CallSpec] | None = None) -> Environment:
        """The environment after playing calls (default: the gold actions) from the initial state."""
        env = self.start()
        for call in self.task.gold or () if calls is None else calls:
            env.call(call.name, call.args, call.actor)
        return env

    @cached_property
    def gold_env(self) -> Environment:
        return self.replay()

    def oracle_messages(self) -> list[str]:
        """What an agent that knows the answer says, after its last call: the strings the task
        requires (and, where the task rewards a reply, a reply even when it requires none)."""
        if self.task.communicate:
            return [" ".join(self.task.communicate)]
        return ["I have looked into it; that is as far as I can help."] if ir.RewardComponent.REPLY in self.task.reward else []

    # ------------------------------------------------------------ scoring
    def score(self, env: Environment, messages: list[str] | None = None, termination: str | None = None,
              conversation: list[dict] | None = None, replied: bool | None = None) -> RewardBreakdown:
        """The reward of a final state. `messages`: the agent's texts; `termination`: how the run
        ended (a premature ending scores 0); `conversation`: [{"role", "content"}] for the judge;
        `replied`: whether the agent spoke after its last tool call (None: the caller's messages
        all came after its calls, as an oracle's do, so any non-empty one is a reply)."""
        if rules.ended_prematurely(termination):
            components = {name: None for name in self.task.reward}
            return RewardBreakdown(0.0, components, self.task.reward, {"termination": rules.premature_note(termination)})
        messages = messages or []
        components: dict[str, float | None] = {}
        details: dict[str, Any] = {}
        for name in self.task.reward:
            if name == ir.RewardComponent.REPLY:
                value, detail = self.c_reply(env, messages, conversation, replied)
            else:
                value, detail = getattr(self, self.SCORERS[name])(env, messages, conversation)
            components[name] = value
            if detail:
                details[name] = detail
        evaluated = [v for v in components.values() if v is not None]
        reward = 1.0
        for v in evaluated:
            reward *= v
        return RewardBreakdown(reward, components, self.task.reward, details)

    def c_db(self, env: Environment, messages, conversation=None):
        if self.task.gold is None:
            return None, "no gold actions"
        gold = self.gold_env
        differing = []
        for side in ("agent", "user"):
            mine, theirs = env.diff(side=side), gold.diff(side=side)
            for table in sorted(set(mine) | set(theirs)):
                a, b = mine.get(table, {}), theirs.get(table, {})
                if not rules.same_json(a, b):
                    if isinstance(a, dict) and isinstance(b, dict):
                        keys = sorted(k for k in set(a) | set(b) if not rules.same_json(a.get(k, "\0"), b.get(k, "\0")))
                        differing += [f"{table}[{k}]" for k in keys]
                    else:
                        differing.append(table)
        return (0.0, {"differs": differing[:20]}) if differing else (1.0, None)

    def c_goal(self, env: Environment, messages, conversation=None):

        failed = []
        for goal, fn in zip(self.task.goals, self.goals):
            try:
                ok = bool(env.evaluate(fn))
            except (ToolFailure, *INTERNAL_ERRORS) as e:
                failed.append(explain_goal(self.domain.program, env, goal, str(getattr(e, "message", e))))
                continue
            if not ok:  # where it is, what it says, what it saw
                failed.append(explain_goal(self.domain.program, env, goal))
        return (0.0, {"failed": failed}) if failed else (1.0, None)

    def c_env_assertion(self, env: Environment, messages, conversation=None):
        failed = []
        for a in self.task.assertions:
            result: ToolResult = env.run_assertion(a.name, a.args, a.actor, record=False)
            if not result.ok or result.content != a.expected:
                failed.append({"assertion": a.name, "got": result.content if result.ok else f"Error: {result.error}",
                               "expected": a.expected, **({"message": a.message} if a.message else {})})
        return (0.0, {"failed": failed}) if failed else (1.0, None)

    def c_communicate(self, env: Environment, messages, conversation=None):
        missing = [info for info in self.task.communicate if not communicated(info, messages)]
        return (0.0, {"missing": missing}) if missing else (1.0, None)

    def c_action(self, env: Environment, messages, conversation=None):
        missing = [g.name for g in self.task.gold or () if not any(action_matches(g, e) for e in env.trace)]
        return (0.0, {"missing": missing}) if missing else (1.0, None)

    def c_policy(self, env: Environment, messages, conversation=None):

        violated = [{"policy": g.policy, "call": f"{e.name}({eig_value(e.arguments)[1:-1]})", "mode": "enforce" if g.enforce else "monitor"}
                    for e in env.trace for g in e.guards if g.verdict == "violated"]
        return (0.0, {"violated": violated}) if violated else (1.0, None)

    def c_reply(self, env: Environment, messages, conversation=None, replied: bool | None = None):
        if replied is None:
            replied = any(m and m.strip() for m in messages)
        return (1.0, None) if replied else (0.0, {"missing": "no agent message after its last tool call"})

    def c_nl_assertion(self, env: Environment, messages, conversation: list[dict] | None = None):
        if not self.task.judge:
            return 1.0, None
        if self.judge is None:
            return None, {"not_evaluated": list(self.task.judge), "note": "no judge given (--judge openai:MODEL)"}
        if conversation is None:
            conversation = [{"role": "assistant", "content": m} for m in messages]
        verdicts = self.judge.judge(conversation, list(self.task.judge))
        failed = [{"assertion": a, "reason": why} for a, (met, why) in zip(self.task.judge, verdicts) if not met]
        return (0.0, {"failed": failed}) if failed else (1.0, None)


# Each reward component's scorer, `c_` + its name: (value or None, detail) from the final
# environment, the agent's messages and the conversation (which only the judge reads).
TaskChecker.SCORERS = {c: "c_" + c.lower() for c in ir.RewardComponent}
if not all(hasattr(TaskChecker, name) for name in TaskChecker.SCORERS.values()):
    raise TypeError(f"TaskChecker has no scorer for {[c for c, n in TaskChecker.SCORERS.items() if not hasattr(TaskChecker, n)]}")

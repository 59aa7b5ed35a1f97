"""Checker mutation testing: how many perturbed gold trajectories does a task's checker reject?

Perturbations of the gold actions: drop one action; change one argument to another valid
value; add a write (repeat one of the task's writes, or, where it has none, a write from
another task); swap two adjacent writes. Each perturbed trajectory is replayed from the
task's initial state by an agent that still says what the task requires, and scored by the
task's checker. A perturbation that still makes every gold call and ends in the gold final
state (repeating an idempotent write, swapping two writes that commute) is equivalent: no
checker should reject it, so it is left out. The kill rate is the share of the others scored
below 1. A checker that lets many perturbations through cannot tell a right episode from a
wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .. import ir
from ..runtime.environment import CompiledDomain
from ..types import EnumType, OptionalType
from .reward import TaskChecker, TaskSetupError

WEAK = 0.5  # below this kill rate a checker is flagged


@dataclass
class MutationScore:
    total: int = 0  # non-equivalent perturbations
    killed: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [killed, total]

    @property
    def kill_rate(self) -> float | None:
        return self.killed / self.total if self.total else None

    def to_json(self) -> dict:
        return {"total": self.total, "killed": self.killed, "kill_rate": self.kill_rate,
                "equivalent": self.equivalent, "survivors": self.survivors[:10], "by_kind": self.by_kind,
                "weak": self.kill_rate is not None and self.kill_rate < WEAK}


class ValuePool:
    """Other valid values for an argument: values other tasks use, and keys of state tables."""

    def __init__(self, domain: CompiledDomain):
        self.domain = domain
        self.by_name: dict[str, list] = {}
        for task in domain.ir.tasks:
            for call in task.gold or ():
                for name, value in call.args.items():
                    self._add(name, value)

    def _add(self, name, value):
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            values = self.by_name.setdefault(name, [])
            if value not in values:
                values.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                self._add(k, v)
        elif isinstance(value, list):
            for v in value:
                self._add(name, v)

    def another(self, name: str, value, t=None):
        if isinstance(value, bool):
            return not value
        if isinstance(t, EnumType):
            members = self.domain.schema.enum_def(t.name).values
            others = [m for m in members if m != value]
            return others[0] if others else None
        if isinstance(value, str):
            for candidate in sorted(self.by_name.get(name, []), key=str):
                if candidate != value and isinstance(candidate, str):
                    return candidate
            for root, kind in self.domain.base.kinds.items():
                table = self.domain.base.roots[root]
                if kind == "map" and value in table:
                    keys = list(table)
                    return keys[(keys.index(value) + 1) % len(keys)] if len(keys) > 1 else None
            return None
        if isinstance(value, int):
            return value + 1
        if isinstance(value, float):
            return value + 1.0
        if isinstance(value, list) and value:
            return value[:-1]
        if isinstance(value, dict):
            for k, v in value.items():
                other = self.another(k, v)
                if other is not None:
                    return {**value, k: other}
        return None


def perturbations(domain: CompiledDomain, checker: TaskChecker, pool: ValuePool, donors: list[ir.CallSpec]):
    gold = list(checker.task.gold or ())
    writes = [i for i, c in enumerate(gold) if is_write(domain, c)]
    for i, call in enumerate(gold):
        yield f"drop {i}:{call.name}", gold[:i] + gold[i + 1:]
    for i, call in enumerate(gold):
        tool = domain.ir.tool(call.name, call.actor)
        types = {p.name: p.type for p in tool.params} if tool else {}
        for name, value in call.args.items():
            other = pool.another(name, value, strip(types.get(name)))
            if other is not None and other != value:
                changed = replace(call, args={**call.args, name: other})
                yield f"change {i}:{call.name}.{name}", gold[:i] + [changed] + gold[i + 1:]
    if writes:
        for i in writes:
            yield f"repeat {i}:{gold[i].name}", gold + [gold[i]]
    elif donors:
        donor = donors[sum(map(ord, checker.task.id)) % len(donors)]
        yield f"add {donor.name}", gold + [donor]
    for a, b in zip(writes, writes[1:]):
        if gold[a] != gold[b]:
            swapped = list(gold)
            swapped[a], swapped[b] = swapped[b], swapped[a]
            yield f"swap {a}:{gold[a].name}<->{b}:{gold[b].name}", swapped


def strip(t):
    return t.inner if isinstance(t, OptionalType) else t


def is_write(domain: CompiledDomain, call: ir.CallSpec) -> bool:
    tool = domain.ir.tool(call.name, call.actor)
    return tool is not None and tool.effect == ir.Effect.WRITES


def kind_of(label: str, domain: CompiledDomain, checker: TaskChecker) -> str:
    """'drop read', 'change write', 'repeat write', 'add write', 'swap write'..."""
    verb, rest = label.split(" ", 1)
    if verb in ("repeat", "add", "swap"):
        return f"{verb} write"
    index = int(rest.split(":", 1)[0])
    call = checker.task.gold[index]
    return f"{verb} {'write' if is_write(domain, call) else 'read'}"


def contains_all(calls: list, wanted: list) -> bool:
    remaining = list(calls)
    for call in wanted:
        if call not in remaining:
            return False
        remaining.remove(call)
    return True


def mutation_score(domain: CompiledDomain, checker: TaskChecker, pool: ValuePool | None = None) -> MutationScore:
    """The checker's kill rate over perturbed gold trajectories; no perturbations (kill rate None)
    for a task without gold or whose setup fails (the analyses report that at the failing step)."""
    score = MutationScore()
    if checker.task.gold is None:
        return score
    try:
        gold_env = checker.gold_env
    except TaskSetupError:
        return score
    pool = pool or ValuePool(domain)
    donors = [c for t in domain.ir.tasks if t.id != checker.task.id for c in t.gold or () if is_write(domain, c)]
    gold_state = (gold_env.diff(side="agent"), gold_env.diff(side="user"))
    messages = checker.oracle_messages()
    gold_calls = list(checker.task.gold)
    for label, calls in perturbations(domain, checker, pool, donors):
        env = checker.replay(calls)
        if (env.diff(side="agent"), env.diff(side="user")) == gold_state and contains_all(calls, gold_calls):
            score.equivalent += 1
            continue
        reward = checker.score(env, messages).reward
        score.total += 1
        counts = score.by_kind.setdefault(kind_of(label, domain, checker), [0, 0])
        counts[1] += 1
        if reward < 1.0:
            score.killed += 1
            counts[0] += 1
        else:
            score.survivors.append(label)
    return score


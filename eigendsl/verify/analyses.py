"""Analyses of policies and tasks, with Z3 where a solver is needed; each finding has a span.

- guard consistency: for each tool, can its guards hold together? (else the unsat core,
  mapped to the policies involved)
- goals: satisfiable under the data model's constraints; false on the task's initial state
  (not vacuous); true on the gold final state
- underspecification: a final state that satisfies the goals but differs from the gold final
  state in a field the gold actions changed
- gold compliance: no gold action violates a guard, given the task's facts; gold calls and
  setup steps that fail
A solver timeout, or a construct outside the encoding, is reported as unknown, never as a pass.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any

import z3

from .. import ir
from ..errors import ToolFailure
from ..runtime.environment import INTERNAL_ERRORS, CompiledDomain
from ..runtime.store import MISSING
from ..semantics.types import BOOL, EnumType, ListType, MapType, OptionalType, RecordType, Type, UnionType
from ..syntax.diagnostics import Diagnostic
from ..syntax.spans import Span
from .explain import eig_value, explain_goal
from .reward import TaskChecker, TaskSetupError
from .symbolic import (
    LIST_BOUND, ConcreteWorld, Encoder, OverriddenTable, SymbolicWorld, Unsupported, equal, formula_of, reset_names,
    to_bool,
)

TIMEOUT_MS = 5000
WIDE_LIST_BOUND = 10  # lists of unknown contents, when an unsat answer may depend on LIST_BOUND


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str  # error | warning | info
    message: str
    span: Span
    task_id: str | None = None

    def to_json(self) -> dict:
        return {"kind": self.kind, "severity": self.severity, "message": self.message, "file": self.span.file,
                "line": self.span.line, "col": self.span.col}

    def diagnostic(self) -> Diagnostic:
        prefix = f"task {self.task_id}: " if self.task_id is not None else ""
        return Diagnostic(self.severity if self.severity != "info" else "note", prefix + self.message, self.span)


def solver() -> z3.Solver:
    s = z3.Solver()
    s.set("timeout", TIMEOUT_MS)
    return s


# ---------------------------------------------------------------- guard consistency

_SOLVED: dict[str, tuple] = {}


def without_spans(value):
    if isinstance(value, dict):
        return {k: without_spans(v) for k, v in value.items() if k not in ("span", "doc")}
    if isinstance(value, list):
        return [without_spans(v) for v in value]
    return value


def ir_key(*parts) -> str:
    text = json.dumps(without_spans(ir.to_json(parts)), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def guard_consistency(domain: ir.Domain) -> list[Finding]:
    """For each tool, whether its guards can hold together; unsat cores name the policies.

    Answers are memoised on the guards' IR (without spans) and everything they can reach:
    checking one domain again, or many task files against it, asks the same questions.
    """
    findings = []
    by_tool: dict[tuple[str, str], list[tuple[ir.PolicyDef, ir.GuardDef]]] = {}
    for policy in domain.policies:
        for g in policy.guards:
            by_tool.setdefault((g.function.actor, g.tool), []).append((policy, g))
    context = ir_key(domain.enums, domain.records, domain.unions, domain.state, domain.facts, domain.functions, domain.consts)
    for (actor, tool_name), guards in by_tool.items():
        tool = next((t for t in domain.tools if t.name == tool_name and t.actor == actor), None)
        if tool is None:
            continue
        key = f"{TIMEOUT_MS}:{context}:{ir_key(tool.params, [g.function for _, g in guards])}"
        if key not in _SOLVED:
            answer = decide_guards(domain, tool, guards)
            if answer[0] != "unknown":
                if len(_SOLVED) > 512:
                    _SOLVED.clear()
                _SOLVED[key] = answer
        else:
            answer = _SOLVED[key]
        result, detail, skipped = answer
        for index, what in skipped:
            policy, g = guards[index]
            findings.append(Finding("guard_not_analysed", "info",
                                    f"the guard of policy '{policy.name}' on {tool_name} is outside the Z3 encoding ({what}); not analysed", g.span))
        if result == "unsat":
            core = [guards[i] for i in detail]
            names = sorted({p.name for p, _ in core})
            if len(names) == 1:
                message = f"policy '{names[0]}' can never allow a call of {tool_name}: its guard is unsatisfiable"
            else:
                message = f"policies {', '.join(repr(n) for n in names)} contradict each other: no call of {tool_name} satisfies all their guards"
            for policy, g in core:
                findings.append(Finding("guard_conflict", "error", message, g.span))
        elif result == "unknown":
            findings.append(Finding("guard_unknown", "warning", f"could not decide whether the guards of {tool_name} can hold together ({detail})", guards[0][1].span))
    return findings


def decide_guards(domain: ir.Domain, tool: ir.Function, guards, list_bound: int = LIST_BOUND) -> tuple[str, Any, list]:
    """("sat" | "unsat" | "unknown", core guard indices or the reason, [(index, unsupported)]).

    Lists of unknown contents are bounded; an unsat answer that may depend on the bound is
    checked again with a larger one before it is reported."""
    reset_names()
    enc = Encoder(domain, list_bound=list_bound)
    enc.approximate = True  # only unsatisfiability is reported here
    args = [enc.fresh(p.type, f"arg.{p.name}") for p in tool.params]
    s = solver()
    labels, skipped = {}, []
    for index, (policy, g) in enumerate(guards):
        try:
            formula = formula_of(enc, g.function, args)
        except Unsupported as e:
            skipped.append((index, e.what))
            continue
        label = z3.Bool(f"guard:{index}")
        labels[str(label)] = index
        s.assert_and_track(formula, label)
    if not labels:
        return "sat", None, skipped
    s.add(*enc.axioms)
    result = s.check()
    if result == z3.unsat and enc.used_lists and list_bound < WIDE_LIST_BOUND:
        return decide_guards(domain, tool, guards, WIDE_LIST_BOUND)
    if result == z3.unsat:
        return "unsat", sorted(labels[str(c)] for c in s.unsat_core()), skipped
    if result == z3.unknown:
        return "unknown", s.reason_unknown(), skipped
    return "sat", None, skipped


# ---------------------------------------------------------------- tasks


def leaf_type(domain: ir.Domain, t: Type, step) -> Type | None:
    records = {r.name: r for r in domain.records}
    unions = {u.name: u for u in domain.unions}
    if isinstance(t, OptionalType):
        t = t.inner
    if isinstance(t, MapType):
        return t.value
    if isinstance(t, ListType):
        return t.elem
    if isinstance(t, RecordType):
        f = records[t.name].field(step)
        return f.type if f else None
    if isinstance(t, UnionType):
        for v in unions[t.name].variants:
            f = v.field(step)
            if f is not None:
                return f.type
    return None


def changed_leaves(old, new, path: tuple = ()):
    """Paths (within a row) where new differs from old: scalars, optionals, whole lists, and
    entries that are new (old is ABSENT)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in new:
            if key not in old:
                yield path + (key,), ABSENT, new[key]
            elif old[key] != new[key]:
                yield from changed_leaves(old[key], new[key], path + (key,))
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new)):
            if a != b:
                yield from changed_leaves(a, b, path + (i,))
        return
    yield path, old, new


def set_in(value, path, leaf):
    """A copy of value with the spot at path replaced by leaf (ABSENT removes a map entry)."""
    if not path:
        return leaf
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        out = dict(value)
        if leaf is ABSENT and not rest:
            out.pop(head, None)
            return out
        out[head] = set_in(value[head], rest, leaf)
        return out
    out = list(value)
    out[head] = set_in(value[head], rest, leaf)
    return out


ABSENT = OverriddenTable.ABSENT


def is_scalar_type(t: Type | None) -> bool:
    if isinstance(t, OptionalType):
        t = t.inner
    return t is not None and not isinstance(t, (ListType, MapType, RecordType, UnionType))


def facts_read_by_policies(domain: ir.Domain) -> dict[str, set[str]]:
    """For each policy, the facts its guards read."""
    return {p.name: {x.name for g in p.guards for x in ir.walk_exprs(g.function) if isinstance(x, ir.Fact)}
            for p in domain.policies}


def task_findings(domain: CompiledDomain, task: ir.TaskDef, checker: TaskChecker | None = None,
                  guard_facts: dict[str, set[str]] | None = None) -> list[Finding]:
    checker = checker or TaskChecker(domain, task)
    findings: list[Finding] = []
    tid = task.id
    try:
        start = checker.start()
    except TaskSetupError as e:
        return [Finding("setup_fails", "error", str(e).split(": ", 1)[-1], task.span, tid)]
    gold = checker.gold_env if task.gold is not None else None
    # ---- gold compliance and failing gold calls
    if gold is not None:
        guard_facts = facts_read_by_policies(domain.ir) if guard_facts is None else guard_facts
        given = set(task.user.get("facts", {}))
        for call, entry in zip(task.gold, gold.trace):
            if not entry.ok:
                findings.append(Finding("gold_call_fails", "info", f"gold action {call.name} fails: {entry.error}", call.span, tid))
            for verdict in entry.guards:
                if verdict.verdict == "violated":
                    missing = sorted(guard_facts.get(verdict.policy, set()) - given)
                    rescue = facts_that_allow(domain, checker, task.gold.index(call), verdict.policy, missing) if missing else None
                    hint = f" unless the task states {rescue}" if rescue else ""
                    findings.append(Finding("gold_violates_guard", "warning",
                                            f"gold action {call.name} violates policy '{verdict.policy}'{hint}", call.span, tid))
                elif verdict.verdict == "error":
                    findings.append(Finding("guard_error", "info",
                                            f"the guard of policy '{verdict.policy}' could not be evaluated on gold action {call.name}: {verdict.detail}", call.span, tid))
    if not task.goals:
        return findings
    # ---- goals: satisfiable, not vacuous, true after gold
    for goal, fn in zip(task.goals, checker.goals):
        try:
            result, reason = goal_satisfiable(domain, task, goal)
            if result == z3.unsat:
                findings.append(Finding("goal_unsatisfiable", "error", "this goal can never hold, in any state the data model allows", goal.span, tid))
            elif result == z3.unknown:
                findings.append(Finding("goal_unknown", "warning", f"could not decide whether this goal can hold ({reason})", goal.span, tid))
        except Unsupported as e:
            findings.append(Finding("goal_not_analysed", "info", f"this goal is outside the Z3 encoding ({e.what}); satisfiability not checked", goal.span, tid))
        if holds(start, fn):
            findings.append(Finding("goal_vacuous", "error", "this goal already holds in the task's initial state, so it checks nothing", goal.span, tid))
        if gold is not None and not holds(gold, fn):
            seen = explain_goal(domain.program, gold, goal)
            saw = f": it saw {seen['saw']}, expected {seen['expected']}" if "expected" in seen else ""
            findings.append(Finding("goal_fails_on_gold", "error", f"this goal does not hold after the gold actions{saw}", goal.span, tid))
    # ---- underspecification
    if gold is not None:
        findings += underspecification(domain, task, checker, start, gold)
    return findings


def facts_that_allow(domain: CompiledDomain, checker: TaskChecker, index: int, policy: str, missing: list[str]) -> str | None:
    """The first assignment of the unstated facts (enums and bools only) under which the gold
    call at `index` satisfies the policy, as text; None when no assignment does."""
    choices = []
    for name in missing:
        t = next(f.type for f in domain.ir.facts if f.name == name)
        t = t.inner if isinstance(t, OptionalType) else t
        if isinstance(t, EnumType):
            choices.append([(name, v) for v in domain.schema.enum_def(t.name).values])
        elif t == BOOL:
            choices.append([(name, True), (name, False)])
        else:
            return None
    gold = checker.task.gold
    for assignment in itertools.islice(itertools.product(*choices), 256):
        env = checker.start()
        env.facts.update(dict(assignment))
        for call in gold[:index]:
            env.call(call.name, call.args, call.actor)
        result = env.call(gold[index].name, gold[index].args, gold[index].actor)
        if all(g.verdict != "violated" for g in result.guards if g.policy == policy):
            return ", ".join(f"fact {name} = {eig_value(value)}" for name, value in assignment)
    return None


def goal_satisfiable(domain: CompiledDomain, task: ir.TaskDef, goal: ir.Function, list_bound: int = LIST_BOUND):
    reset_names()
    enc = Encoder(domain.ir, lambda e: SymbolicWorld(e, task.user.get("facts") or {}), list_bound=list_bound)
    enc.approximate = True  # only unsatisfiability is reported here
    formula = formula_of(enc, goal, [])
    s = solver()
    s.add(*enc.axioms, formula)
    result = s.check()
    if result == z3.unsat and enc.used_lists and list_bound < WIDE_LIST_BOUND:
        return goal_satisfiable(domain, task, goal, WIDE_LIST_BOUND)
    return result, s.reason_unknown() if result == z3.unknown else None


def holds(env, fn) -> bool:
    try:
        return bool(env.evaluate(fn))
    except (ToolFailure, *INTERNAL_ERRORS):
        return False


def underspecification(domain: CompiledDomain, task: ir.TaskDef, checker: TaskChecker, start, gold) -> list[Finding]:
    tid = task.id
    state_types = {sf.name: sf.type for sf in domain.ir.state}
    leaves = []  # (root, key, path, gold value, type)
    for side in ("agent", "user"):
        before, after = start.diff(side=side), gold.diff(side=side)
        for root in sorted(set(before) | set(after)):
            kind = domain.base.kinds[root]
            if kind == "row":
                old_row, new_row = start.state.record(root), gold.state.record(root)
                rows = [(None, old_row, new_row)]
                row_type = state_types[root]
            else:
                keys = sorted(set(before.get(root, {})) | set(after.get(root, {})))
                rows = []
                for k in keys:
                    key = int(k) if kind == "list" else k
                    old, new = start.state.row(root, key), gold.state.row(root, key)
                    if old != new:
                        rows.append((key, old, new))
                row_type = leaf_type(domain.ir, state_types[root], None)
            for key, old, new in rows:
                if new is MISSING:  # a row the gold actions removed: the goals must say it is gone
                    leaves.append((root, key, (), old, None, ABSENT))
                    continue
                if old is MISSING:  # a row the gold actions added
                    leaves.append((root, key, (), ABSENT, None, new))
                    continue
                for path, before_value, value in changed_leaves(old, new):
                    t = row_type
                    for step in path:
                        t = leaf_type(domain.ir, t, step) if t is not None else None
                    leaves.append((root, key, path, before_value, t if is_scalar_type(t) and before_value is not ABSENT else None, new))
    if not leaves:
        return []
    span = task.goals[0].span
    pinned, loose = [], []
    for root, key, path, before, t, row in leaves:
        value = get_in(row, path) if row is not ABSENT else ABSENT
        where = f"{root}" + (f"[{key!r}]" if key is not None else "") + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        try:
            if t is not None:
                result, reason = other_value_allowed(domain, task, gold, root, key, path, t, row, value)
            else:
                # A list that grew, an entry or a row that appeared or went: would the goals
                # also hold if it had stayed as it was?
                result, reason = stays_allowed(domain, task, gold, root, key, path, row, before)
        except Unsupported as e:
            return [Finding("underspecification_unknown", "info", f"could not analyse which fields the goals pin ({e.what})", span, tid)]
        if result == z3.sat:
            loose.append((where, value, t is None))
        elif result == z3.unsat:
            pinned.append(where)
        else:
            return [Finding("underspecification_unknown", "warning", f"could not decide whether the goals pin {where} ({reason})", span, tid)]
    if not pinned:
        names = ", ".join(w for w, _, _ in loose[:3]) + (" ..." if len(loose) > 3 else "")
        return [Finding("goal_pins_nothing", "error", f"the goals pin none of the {len(loose)} change(s) the gold actions make ({names})", span, tid)]
    return [Finding("goal_underspecified", "warning",
                    f"the goals do not pin {where}: " + (
                        "they also hold if it stays as it was before the gold actions" if structural else
                        f"the gold actions set it to {eig_value(value)}, and another value also satisfies the goals"), span, tid)
            for where, value, structural in loose]


def get_in(value, path):
    for step in path:
        value = value[step]
    return value


def other_value_allowed(domain, task, gold, root, key, path, t, row, value):
    """Z3: can the field take a value other than the gold one with the goals still holding?"""
    reset_names()
    holder: dict = {}

    def world(enc):
        holder["leaf"] = enc.fresh(t, "leaf")
        return ConcreteWorld(gold, {(root, key): set_in(row, path, holder["leaf"])})

    enc = Encoder(domain.ir, world)
    formulas = [formula_of(enc, g, []) for g in task.goals]
    s = solver()
    s.add(*enc.axioms, *formulas, z3.Not(to_bool(equal(holder["leaf"], value))))
    result = s.check()
    return result, s.reason_unknown() if result == z3.unknown else None


def stays_allowed(domain, task, gold, root, key, path, row, before):
    """Do the goals hold on the gold final state with this one change undone?"""
    reset_names()
    undone = before if not path else set_in(row, path, before)
    enc = Encoder(domain.ir, lambda e: ConcreteWorld(gold, {(root, key): undone}))
    formulas = [formula_of(enc, g, []) for g in task.goals]
    s = solver()
    s.add(*enc.axioms, *formulas)
    result = s.check()
    return result, s.reason_unknown() if result == z3.unknown else None


def gold_reward(checker: TaskChecker) -> float | None:
    """The checker's reward for an independent replay of the gold actions by an oracle agent."""
    try:
        env = checker.replay()
    except TaskSetupError:
        return None
    return checker.score(env, checker.oracle_messages()).reward


@dataclass
class TaskReport:
    task_id: str
    gold_reward: float | None
    findings: list[Finding]
    kill_rate: float | None = None
    mutants: dict | None = None

    def to_json(self) -> dict:
        out = {"task_id": self.task_id, "gold_reward": self.gold_reward,
               "findings": [f.to_json() for f in self.findings], "kill_rate": self.kill_rate}
        if self.mutants is not None:
            out["mutants"] = self.mutants
        return out


@dataclass
class Report:
    domain_findings: list[Finding]
    tasks: list[TaskReport]
    seconds: float

    def diagnostics(self) -> list[Diagnostic]:
        found = self.domain_findings + [f for t in self.tasks for f in t.findings]
        return [f.diagnostic() for f in found]

    def kill_rate(self) -> float | None:
        killed = sum(t.mutants["killed"] for t in self.tasks if t.mutants)
        total = sum(t.mutants["total"] for t in self.tasks if t.mutants)
        return killed / total if total else None

    def to_json(self, diagnostics: list[Diagnostic] | None = None) -> dict:
        return {
            "diagnostics": [d.to_json() for d in (diagnostics or [])] + [f.diagnostic().to_json() for f in self.domain_findings],
            "tasks": [t.to_json() for t in self.tasks],
        }


def analyse(domain: CompiledDomain, mutate: bool = False) -> Report:
    started = time.perf_counter()
    domain_findings = guard_consistency(domain.ir)
    guard_facts = facts_read_by_policies(domain.ir)
    tasks = []
    for task in domain.ir.tasks:
        checker = TaskChecker(domain, task)
        report = TaskReport(task.id, gold_reward(checker), task_findings(domain, task, checker, guard_facts))
        if mutate:
            from .mutate import mutation_score

            score = mutation_score(domain, checker)
            report.kill_rate = score.kill_rate
            report.mutants = score.to_json()
        tasks.append(report)
    return Report(domain_findings, tasks, time.perf_counter() - started)

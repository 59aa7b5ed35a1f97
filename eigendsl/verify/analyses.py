"""Analyses of policies and tasks, with Z3 where a solver is needed; each finding has a span.

- guard consistency: for each tool, can its guards hold together? (else the unsat core,
  mapped to the policies involved)
- goals: satisfiable under the data model's constraints; false on the task's initial state
  (not vacuous); true on the gold final state
- underspecification: a final state that satisfies the goals but differs from the gold final
  state in a field the gold actions changed
- gold compliance: no gold action violates a guard, given the task's facts; gold calls and
  setup steps that fail
Solver work is bounded per query and per file (verify/budget.py, deterministic z3 rlimits). A
question the solver cannot settle, or a construct outside the encoding, is reported as "not
analysed" at the span of what was being analysed: never as a pass, and never as a finding
against something else.
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
from .budget import SolverBudget
from .reward import TaskChecker, TaskSetupError
from .symbolic import (
    LIST_BOUND, ConcreteWorld, Encoder, OverriddenTable, SymbolicWorld, SymList, Unsupported, equal, formula_of,
    reset_names, to_bool,
)

WIDE_LIST_BOUND = 10  # lists of unknown contents, when an unsat answer may depend on LIST_BOUND
LIST_CHANGE_BOUND = 16  # at most this many unknown elements stand in for what gold put in a list
# A construct the encoding does not cover, or a fault of the encoding itself: either way the
# question is not analysed (at its span), and the run goes on.
ENCODING_ERRORS = (Unsupported, z3.Z3Exception, *INTERNAL_ERRORS)


def outside(e: Exception) -> str:
    return e.what if isinstance(e, Unsupported) else f"the encoding failed: {type(e).__name__}: {e}"


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


def guard_consistency(domain: ir.Domain, budget: SolverBudget | None = None) -> list[Finding]:
    """For each tool, whether its guards can hold together; unsat cores name the policies.

    The guards of a tool are added one at a time, in declaration order (a task file's own
    policies come after the domain's), so a question the solver cannot settle is reported as
    not analysed at the guard whose addition made it so, and the others are still analysed.
    Answers are memoised on the guards' IR (without spans) and everything they can reach:
    checking one domain again, or many task files against it, asks the same questions.
    """
    budget = budget or SolverBudget()
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
        key = f"{budget.per_query}:{context}:{ir_key(tool.params, [g.function for _, g in guards])}"
        if key not in _SOLVED:
            answer = decide_guards(domain, tool, guards, budget)
            if not answer[3]:  # answers with unknowns depend on what the budget had left
                if len(_SOLVED) > 512:
                    _SOLVED.clear()
                _SOLVED[key] = answer
        else:
            answer = _SOLVED[key]
        result, core, skipped, unknown = answer
        for index, what in skipped:
            policy, g = guards[index]
            findings.append(Finding("guard_not_analysed", "info",
                                    f"the guard of policy '{policy.name}' on {tool_name} is outside the Z3 encoding ({what}); not analysed", g.span))
        for index, reason in unknown:
            policy, g = guards[index]
            earlier = "its guard" if index == 0 else "its guard together with the ones declared before it"
            findings.append(Finding("guard_not_analysed", "info",
                                    f"could not decide whether policy '{policy.name}' can allow a call of {tool_name} ({reason}): {earlier} is not analysed", g.span))
        if result == "unsat":
            chosen = [guards[i] for i in core]
            names = sorted({p.name for p, _ in chosen})
            if len(names) == 1:
                message = f"policy '{names[0]}' can never allow a call of {tool_name}: its guard is unsatisfiable"
            else:
                message = f"policies {', '.join(repr(n) for n in names)} contradict each other: no call of {tool_name} satisfies all their guards"
            for policy, g in chosen:
                findings.append(Finding("guard_conflict", "error", message, g.span))
    return findings


def decide_guards(domain: ir.Domain, tool: ir.Function, guards, budget: SolverBudget, list_bound: int = LIST_BOUND):
    """("sat" | "unsat", core guard indices, [(index, unsupported)], [(index, why unknown)]).

    Guards join one at a time; one the solver cannot settle is set aside (unknown) and the next
    joins the ones before it. Lists of unknown contents are bounded; an unsat answer that may
    depend on the bound is checked again with a larger one before it is reported."""
    reset_names()
    enc = Encoder(domain, list_bound=list_bound)
    enc.approximate = True  # only unsatisfiability is reported here
    args = [enc.fresh(p.type, f"arg.{p.name}") for p in tool.params]
    formulas, skipped = [], []
    for index, (policy, g) in enumerate(guards):
        try:
            formulas.append((index, formula_of(enc, g.function, args)))
        except ENCODING_ERRORS as e:
            skipped.append((index, outside(e)))
    s = budget.solver()
    s.add(*enc.axioms)
    labels, unknown = {}, []
    for index, formula in formulas:
        label = z3.Bool(f"guard:{index}")
        s.push()
        s.assert_and_track(formula, label)
        result, reason = budget.check(s)
        if result == z3.unknown:
            s.pop()
            unknown.append((index, reason))
            continue
        labels[str(label)] = index
        if result == z3.unsat:
            if enc.used_lists and list_bound < WIDE_LIST_BOUND:
                return decide_guards(domain, tool, guards, budget, WIDE_LIST_BOUND)
            return "unsat", sorted(labels[str(c)] for c in s.unsat_core()), skipped, unknown
    return "sat", None, skipped, unknown


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
                  guard_facts: dict[str, set[str]] | None = None, budget: SolverBudget | None = None) -> list[Finding]:
    checker = checker or TaskChecker(domain, task)
    budget = budget or SolverBudget()
    findings: list[Finding] = []
    tid = task.id
    try:
        start = checker.start()
    except TaskSetupError as e:
        return [Finding("setup_fails", "error", e.reason, e.span, tid)]
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
        findings += assertions_on_gold(task, gold)
    if not task.goals:
        return findings
    # ---- goals: satisfiable, not vacuous, true after gold
    for goal, fn in zip(task.goals, checker.goals):
        try:
            result, reason = goal_satisfiable(domain, task, goal, budget)
            if result == z3.unsat:
                findings.append(Finding("goal_unsatisfiable", "error", "this goal can never hold, in any state the data model allows", goal.span, tid))
            elif result == z3.unknown:
                findings.append(Finding("goal_not_analysed", "info", f"could not decide whether this goal can hold ({reason}); satisfiability not checked", goal.span, tid))
        except ENCODING_ERRORS as e:
            findings.append(Finding("goal_not_analysed", "info", f"this goal is outside the Z3 encoding ({outside(e)}); satisfiability not checked", goal.span, tid))
        if holds(start, fn):
            findings.append(Finding("goal_vacuous", "error", "this goal already holds in the task's initial state, so it checks nothing", goal.span, tid))
        if gold is not None and not holds(gold, fn):
            findings.append(Finding("goal_fails_on_gold", "error", "this goal does not hold after the gold actions", goal.span, tid))
    # ---- underspecification
    if gold is not None:
        findings += underspecification(domain, task, checker, start, gold, budget)
    return findings


def assertions_on_gold(task: ir.TaskDef, gold) -> list[Finding]:
    """Env assertions that do not return their expected value after the gold actions, at each assertion."""
    found = []
    severity = "error" if "ENV_ASSERTION" in task.reward else "warning"
    for a in task.assertions:
        result = gold.run_assertion(a.name, a.args, a.actor, record=False)
        if not result.ok:
            found.append(Finding("assertion_fails_on_gold", severity, f"env assertion {a.name} fails after the gold actions: {result.error}", a.span, task.id))
        elif result.content != a.expected:
            found.append(Finding("assertion_fails_on_gold", severity,
                                 f"env assertion {a.name} returns {as_text(result.content)} after the gold actions, not {as_text(a.expected)}", a.span, task.id))
    return found


def as_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


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
            return ", ".join(f"fact {name} = {value!r}" for name, value in assignment)
    return None


def goal_satisfiable(domain: CompiledDomain, task: ir.TaskDef, goal: ir.Function, budget: SolverBudget,
                     list_bound: int = LIST_BOUND):
    reset_names()
    enc = Encoder(domain.ir, lambda e: SymbolicWorld(e, task.user.get("facts") or {}), list_bound=list_bound)
    enc.approximate = True  # only unsatisfiability is reported here
    formula = formula_of(enc, goal, [])
    s = budget.solver()
    s.add(*enc.axioms, formula)
    result, reason = budget.check(s)
    if result == z3.unsat and enc.used_lists and list_bound < WIDE_LIST_BOUND:
        return goal_satisfiable(domain, task, goal, budget, WIDE_LIST_BOUND)
    return result, reason


def holds(env, fn) -> bool:
    try:
        return bool(env.evaluate(fn))
    except (ToolFailure, *INTERNAL_ERRORS):
        return False


def underspecification(domain: CompiledDomain, task: ir.TaskDef, checker: TaskChecker, start, gold,
                       budget: SolverBudget) -> list[Finding]:
    """Changes of the gold actions the goals do not pin: per change, can the goals hold with it
    undone, or done otherwise? A change the solver cannot settle is reported as not analysed;
    'pins nothing' is said only when every change was settled."""
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
                    keep = (is_scalar_type(t) or list_elem(t) is not None and isinstance(value, list)) and before_value is not ABSENT
                    leaves.append((root, key, path, before_value, t if keep else None, new))
    if not leaves:
        return []
    span = task.goals[0].span
    pinned, loose, unsettled = [], [], []
    for root, key, path, before, t, row in leaves:
        value = get_in(row, path) if row is not ABSENT else ABSENT
        where = f"{root}" + (f"[{key!r}]" if key is not None else "") + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
        example = None
        try:
            if t is not None and list_elem(t) is None:
                result, reason = other_value_allowed(domain, task, gold, root, key, path, t, row, value, budget)
                structural = False
            else:
                # A list that changed, an entry or a row that appeared or went: would the goals
                # also hold if it had stayed as it was?
                result, reason = stays_allowed(domain, task, gold, root, key, path, row, before, budget)
                structural = True
                if result == z3.unsat and t is not None:
                    # ... or with less, or something else, in place of what the gold actions put there?
                    result, reason, example = other_list_allowed(domain, task, gold, root, key, path, list_elem(t), row, before, value, budget)
                    structural = False
        except ENCODING_ERRORS as e:
            result, reason = z3.unknown, f"outside the Z3 encoding: {outside(e)}"
        if result == z3.sat:
            loose.append((where, value, structural, example))
        elif result == z3.unsat:
            pinned.append(where)
        else:
            unsettled.append((where, reason))
    by_reason: dict[str, list[str]] = {}
    for where, reason in unsettled:
        by_reason.setdefault(reason, []).append(where)
    not_analysed = [Finding("underspecification_not_analysed", "info",
                            f"could not decide whether the goals pin {', '.join(spots[:3])}{' ...' if len(spots) > 3 else ''} ({reason}); not analysed", span, tid)
                    for reason, spots in by_reason.items()]
    if not pinned and unsettled:
        return not_analysed  # whether the goals pin nothing at all stays open
    if not pinned:
        names = ", ".join(w for w, *_ in loose[:3]) + (" ..." if len(loose) > 3 else "")
        return [Finding("goal_pins_nothing", "error", f"the goals pin none of the {len(loose)} change(s) the gold actions make ({names})", span, tid)]
    return [Finding("goal_underspecified", "warning", f"the goals do not pin {where}: " + loose_reason(value, structural, example), span, tid)
            for where, value, structural, example in loose] + not_analysed


def loose_reason(value, structural: bool, example) -> str:
    if structural:
        return "they also hold if it stays as it was before the gold actions"
    if isinstance(value, list):
        other = f" ({example!r})" if example is not None else ""
        return f"the gold actions set it to {value!r}, and a list with less or other content{other} also satisfies the goals"
    return f"the gold actions set it to {value!r}, and another value also satisfies the goals"


def list_elem(t: Type | None) -> Type | None:
    """The element type of a list (or optional list) type, else None."""
    if isinstance(t, OptionalType):
        t = t.inner
    return t.elem if isinstance(t, ListType) else None


def list_change(before, after: list) -> tuple[list, list, list]:
    """(kept prefix, what the gold actions put in between, kept suffix) of a list that changed."""
    before = before if isinstance(before, list) else []
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    return after[:start], after[start:len(after) - end], after[len(after) - end:]


def other_list_allowed(domain, task, gold, root, key, path, elem: Type, row, before, value: list, budget: SolverBudget):
    """Z3: do the goals also hold when the part of the list the gold actions changed holds fewer
    elements, or other ones, than gold put there? Elements gold kept stay as they are; a list
    that gains more than gold added is not asked about (goals need not forbid extra work)."""
    reset_names()
    prefix, middle, suffix = list_change(before, value)
    holder: dict = {}

    def world(enc):
        holder["part"] = part = enc.fresh(ListType(elem), "part") if middle else SymList([])
        part.grow = None  # no more than gold put there
        items = [(True, x) for x in prefix] + part.items + [(True, x) for x in suffix]
        return ConcreteWorld(gold, {(root, key): set_in(row, path, SymList(items))})

    enc = Encoder(domain.ir, world, list_bound=min(len(middle), LIST_CHANGE_BOUND))
    formulas = [formula_of(enc, g, []) for g in task.goals]
    s = budget.solver()
    s.add(*enc.axioms, *formulas, z3.Not(same_elements(holder["part"], middle)))
    # Fewer elements first: the likeliest slip (a partial return, one item missing) is the clearest example.
    result, reason = budget.check(s, holder["part"].length() < len(middle)) if middle else (z3.unsat, None)
    if result == z3.unsat:
        result, reason = budget.check(s)
    example = concrete_list(s.model(), prefix, holder["part"], suffix) if result == z3.sat else None
    return result, reason, example


def same_elements(part: SymList, wanted: list):
    """The unknown list holds the elements of `wanted`, in any order (order alone is not a finding)."""
    distinct = []
    for x in wanted:
        if x not in distinct:
            distinct.append(x)
    counts = [z3.Sum([z3.If(z3.And(to_bool(p), to_bool(equal(x, v))), 1, 0) for p, x in part.items]) == wanted.count(v)
              for v in distinct] if part.items else []
    return z3.And(part.length() == len(wanted), *counts)


def concrete_list(model, prefix: list, part, suffix: list) -> list | None:
    """The list a model picks, where its elements are scalars; None where they are not."""
    out = list(prefix)
    for present, x in part.items:
        if not z3.is_true(model.eval(to_bool(present), model_completion=True)):
            break
        if not isinstance(x, z3.ExprRef):
            return None
        v = model.eval(x, model_completion=True)
        if z3.is_string_value(v):
            out.append(v.as_string())
        elif z3.is_int_value(v):
            out.append(v.as_long())
        elif z3.is_rational_value(v):
            out.append(float(v.as_fraction()))
        elif z3.is_true(v) or z3.is_false(v):
            out.append(z3.is_true(v))
        else:
            return None
    return out + list(suffix)


def get_in(value, path):
    for step in path:
        value = value[step]
    return value


def other_value_allowed(domain, task, gold, root, key, path, t, row, value, budget: SolverBudget):
    """Z3: can the field take a value other than the gold one with the goals still holding?"""
    reset_names()
    holder: dict = {}

    def world(enc):
        holder["leaf"] = enc.fresh(t, "leaf")
        return ConcreteWorld(gold, {(root, key): set_in(row, path, holder["leaf"])})

    enc = Encoder(domain.ir, world)
    formulas = [formula_of(enc, g, []) for g in task.goals]
    s = budget.solver()
    s.add(*enc.axioms, *formulas, z3.Not(to_bool(equal(holder["leaf"], value))))
    return budget.check(s)


def stays_allowed(domain, task, gold, root, key, path, row, before, budget: SolverBudget):
    """Do the goals hold on the gold final state with this one change undone?"""
    reset_names()
    undone = before if not path else set_in(row, path, before)
    enc = Encoder(domain.ir, lambda e: ConcreteWorld(gold, {(root, key): undone}))
    formulas = [formula_of(enc, g, []) for g in task.goals]
    s = budget.solver()
    s.add(*enc.axioms, *formulas)
    return budget.check(s)


def setup_failures(domain: CompiledDomain, tasks) -> list[Finding]:
    """An error at the failing setup step of each task whose setup fails (what `eval` refuses)."""
    found = []
    for task in tasks:
        try:
            TaskChecker(domain, task).start()
        except TaskSetupError as e:
            found.append(Finding("setup_fails", "error", e.reason, e.span, task.id))
    return found


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


def analyse(domain: CompiledDomain, mutate: bool = False, budget: SolverBudget | None = None) -> Report:
    started = time.perf_counter()
    budget = budget or SolverBudget()
    domain_findings = guard_consistency(domain.ir, budget)
    guard_facts = facts_read_by_policies(domain.ir)
    tasks = []
    for task in domain.ir.tasks:
        checker = TaskChecker(domain, task)
        report = TaskReport(task.id, gold_reward(checker), task_findings(domain, task, checker, guard_facts, budget))
        if mutate:
            from .mutate import mutation_score

            score = mutation_score(domain, checker)
            report.kill_rate = score.kill_rate
            report.mutants = score.to_json()
        tasks.append(report)
    return Report(domain_findings, tasks, time.perf_counter() - started)

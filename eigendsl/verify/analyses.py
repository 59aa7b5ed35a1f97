"""Analyses of policies and tasks, with Z3 where a solver is needed; each finding has a span.

- guard consistency: for each tool, can its guards hold together? (else the unsat core,
  mapped to the policies involved)
- goals: satisfiable under the data model's constraints; false on the task's initial state
  (not vacuous); true on the gold final state
- underspecification (underspecification.py): a final state that satisfies the goals but differs from the gold final
  state in a field the gold actions changed
- gold compliance: no gold action violates a guard, given the task's facts; gold calls and
  setup steps that fail
Solver work is bounded per query and per file (verify/budget.py, deterministic z3 rlimits). A
question the solver cannot settle, or a construct outside the encoding, is reported as "not
analysed" at the span of what was being analysed: never as a pass, and never as a finding
against something else.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass

import z3

from .. import ir
from ..digest import json_sha256
from ..errors import ToolFailure
from ..runtime.environment import INTERNAL_ERRORS, CompiledDomain
from ..types import BOOL, EnumType, OptionalType
from ..syntax.diagnostics import Diagnostic
from .budget import SolverBudget
from .explain import eig_value, explain_goal
from .choices import task_choices
from .findings import ENCODING_ERRORS, Finding, outside
from .mutate import mutation_score
from .reward import TaskChecker, TaskSetupError
from .symbolic import Encoder, formula_of
from .symvalues import LIST_BOUND, reset_names
from .underspecification import underspecification
from .worlds import SymbolicWorld

WIDE_LIST_BOUND = 10  # lists of unknown contents, when an unsat answer may depend on LIST_BOUND


# ---------------------------------------------------------------- guard consistency

_SOLVED: dict[str, tuple] = {}


def without_spans(value):
    if isinstance(value, dict):
        return {k: without_spans(v) for k, v in value.items() if k not in ("span", "doc")}
    if isinstance(value, list):
        return [without_spans(v) for v in value]
    return value


def ir_key(*parts) -> str:
    return json_sha256(without_spans(ir.to_json(parts)))


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
        given = set(task.user.facts)
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
        findings += undetermined_choices(domain, task, checker, gold)
    if not task.goals:
        return findings
    # ---- goals: satisfiable, not vacuous, true after gold
    for goal, fn in zip(task.goals, checker.goals):
        after_gold = gold is not None and holds(gold, fn)
        try:
            # A goal that holds after the gold actions can hold: the gold's end state is the
            # witness, and Z3 is asked only about goals with none.
            result, reason = (z3.sat, "") if after_gold else goal_satisfiable(domain, task, goal, budget)
            if result == z3.unsat:
                findings.append(Finding("goal_unsatisfiable", "error", "this goal can never hold, in any state the data model allows", goal.span, tid))
            elif result == z3.unknown:
                findings.append(Finding("goal_not_analysed", "info", f"could not decide whether this goal can hold ({reason}); satisfiability not checked", goal.span, tid))
        except ENCODING_ERRORS as e:
            findings.append(Finding("goal_not_analysed", "info", f"this goal is outside the Z3 encoding ({outside(e)}); satisfiability not checked", goal.span, tid))
        if holds(start, fn):
            findings.append(Finding("goal_vacuous", "error", "this goal already holds in the task's initial state, so it checks nothing", goal.span, tid))
        if gold is not None and not after_gold:
            seen = explain_goal(domain.program, gold, goal)
            saw = f": it saw {seen['saw']}, expected {seen['expected']}" if "expected" in seen else ""
            findings.append(Finding("goal_fails_on_gold", "error", f"this goal does not hold after the gold actions{saw}", goal.span, tid))
    # ---- underspecification
    if gold is not None:
        findings += underspecification(domain, task, checker, start, gold, budget)
    return findings


def undetermined_choices(domain: CompiledDomain, task: ir.TaskDef, checker: TaskChecker, gold) -> list[Finding]:
    """Gold write arguments the scenario does not single out among what the agent reads (at the
    gold call, with the alternatives), by the domain's words (verify/choices.py)."""
    writes = {t.name for t in domain.ir.tools if t.effect == ir.Effect.WRITES}
    return [Finding("undetermined_choice", "warning", message, task.gold[choice.call].span, task.id)
            for choice, message in task_choices(domain, task, checker, writes, gold.trace)]


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
            return ", ".join(f"fact {name} = {eig_value(value)}" for name, value in assignment)
    return None


def goal_satisfiable(domain: CompiledDomain, task: ir.TaskDef, goal: ir.Function, budget: SolverBudget,
                     list_bound: int = LIST_BOUND):
    reset_names()
    enc = Encoder(domain.ir, lambda e: SymbolicWorld(e, task.user.facts), list_bound=list_bound)
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

            score = mutation_score(domain, checker)
            report.kill_rate = score.kill_rate
            report.mutants = score.to_json()
        tasks.append(report)
    return Report(domain_findings, tasks, time.perf_counter() - started)

"""Differential check of the two evaluators of the IR: the runtime and the Z3 encoding.

The runtime (runtime/interpreter.py) gives the outcome of a function on a state: a value or a
failure. The encoding (verify/symbolic.py) must give the same outcome, or say "not analysed":

- concrete: the arguments as given, in a ConcreteWorld over the same state;
- pinned: every argument an unknown of its parameter's type, constrained to equal the given
  value; the solver must prove that the outcome is the runtime's (exact encoder);
- approximate: as pinned, with the over-approximating encoder that analyses use for
  unsatisfiability questions; the runtime's outcome must be among the possible ones. Run where
  the exact encoder says "not analysed".
- unknown state: the arguments as given, in a SymbolicWorld (every table unknown, as guard
  consistency and goal satisfiability see the state) whose entries read are then pinned to the
  state's; approximate, so the runtime's outcome must be among the possible ones.

`task_evaluations` lists what a task gives to compare: every read-only function of the domain
with the arguments it was called with, the guards of the gold calls, derives, consts, env
assertions and goals, on the task's initial and gold final states.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

import z3

from .. import ir
from ..errors import ToolFailure
from ..runtime.environment import INTERNAL_ERRORS, CompiledDomain, Environment, TableView
from ..values import InvalidValue
from .reward import TaskChecker, TaskSetupError
from .symbolic import Encoder
from .symvalues import (
    RECORDS, Merged, OverriddenTable, SymList, SymMap, SymOpt, SymRecord, SymUnion, Unsupported, equal, get_field,
    has_sym, is_sym, list_items, reset_names, to_bool, to_z3,
)
from .worlds import ConcreteWorld, SymbolicWorld

TIMEOUT_MS = 10_000
MODES = ("concrete", "pinned", "approximate", "unknown state")


@dataclass(frozen=True)
class Outcome:
    """What an evaluation gave: a value, or a failure (a `fail`, or an error the language detects)."""

    failed: bool
    value: Any = None
    error: str | None = None

    def __str__(self) -> str:
        return f"fails ({self.error})" if self.failed else f"returns {json.dumps(plain(self.value), default=str)}"


@dataclass(frozen=True)
class Verdict:
    mode: str
    kind: str  # agree | not_analysed | disagree
    detail: str = ""


@dataclass
class Tally:
    """Verdicts by mode and kind, with the disagreements spelled out."""

    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)  # why not analysed, by mode
    disagreements: list[str] = field(default_factory=list)

    def add(self, label: str, verdict: Verdict) -> None:
        self.counts[(verdict.mode, verdict.kind)] += 1
        if verdict.kind == "not_analysed":
            self.reasons[(verdict.mode, verdict.detail)] += 1
        if verdict.kind == "disagree":
            self.disagreements.append(f"{label} [{verdict.mode}]: {verdict.detail}")

    def total(self, kind: str) -> int:
        return sum(n for (_, k), n in self.counts.items() if k == kind)

    def top_reasons(self, n: int = 5) -> str:
        """The commonest reasons for "not analysed", over all modes."""
        merged = Counter()
        for (_, why), count in self.reasons.items():
            merged[why] += count
        return "; ".join(f"{count}x {why}" for why, count in merged.most_common(n))

    def summary(self) -> str:
        parts = []
        for mode in MODES:
            row = {k: self.counts[(mode, k)] for k in ("agree", "not_analysed", "disagree")}
            if any(row.values()):
                parts.append(f"{mode}: {row['agree']} agree, {row['not_analysed']} not analysed, {row['disagree']} disagree")
        return "; ".join(parts)


def plain(v: Any) -> Any:
    """A runtime value as JSON (tables materialised)."""
    if isinstance(v, (TableView, OverriddenTable)):
        return list(v.values()) if v.kind == "list" else dict(v.items())
    return v


# ---------------------------------------------------------------- the two sides


def runtime_outcome(env: Environment, run, args: list) -> Outcome:
    try:
        return Outcome(False, plain(env.evaluate(run, args)))
    except ToolFailure as e:
        return Outcome(True, error=e.message)


def same(sym: Any, value: Any):
    """Whether a value of the encoding is the runtime's value, with its type: a Python bool or
    a z3 formula. An int is not a float and a bool is not an int, as JSON tells them apart."""
    if isinstance(sym, (TableView, OverriddenTable)):
        sym = plain(sym)
    if not has_sym(sym):
        return json.dumps(sym, sort_keys=True) == json.dumps(value, sort_keys=True)
    if isinstance(sym, Merged):
        return z3.If(to_bool(sym.cond), to_bool(same(sym.a, value)), to_bool(same(sym.b, value)))
    if isinstance(sym, SymOpt):
        if value is None:
            return z3.Not(to_bool(sym.present))
        return z3.And(to_bool(sym.present), to_bool(same(sym.value, value)))
    if value is None:
        return False
    if isinstance(sym, z3.ExprRef):
        if isinstance(value, bool):
            return sym == value if z3.is_bool(sym) else False
        if isinstance(value, int):
            return sym == value if z3.is_int(sym) else False
        if isinstance(value, float):
            return sym == to_z3(value) if z3.is_real(sym) else False
        if isinstance(value, str):
            return sym == z3.StringVal(value) if z3.is_string(sym) else False
        return False
    if isinstance(value, list):
        if isinstance(sym, SymList):
            sym.ensure(len(value) + 1)
        items = list_items(sym)
        if len(items) < len(value):
            return False
        parts = [to_bool(p) for p, _ in items[:len(value)]] + [z3.Not(to_bool(p)) for p, _ in items[len(value):len(value) + 1]]
        parts += [to_bool(same(x, v)) for (_, x), v in zip(items, value)]
        return z3.And(parts)
    if isinstance(value, dict):
        if isinstance(sym, dict):
            if set(sym) != set(value):
                return False
            return z3.And([to_bool(same(sym[k], v)) for k, v in value.items()])
        if isinstance(sym, RECORDS):
            return z3.And([to_bool(same(get_field(sym, k), v)) for k, v in value.items()])
        raise Unsupported("comparing an unknown map with a value")
    return False


def pin(sym: Any, value: Any):
    """Constraints that make the parts of an unknown state value read so far equal `value`."""
    if isinstance(sym, SymOpt):
        return z3.Not(to_bool(sym.present)) if value is None else z3.And(to_bool(sym.present), to_bool(pin(sym.value, value)))
    if isinstance(sym, SymMap):
        parts = []
        for ident, entry in sym.entries.items():
            key = sym.keys[ident]
            if not is_sym(key):
                parts.append(pin(entry, value.get(key)))
                continue
            for k, v in value.items():
                parts.append(z3.Implies(to_bool(equal(key, k)), to_bool(pin(entry, v))))
            parts.append(z3.Implies(z3.And([z3.Not(to_bool(equal(key, k))) for k in value]), z3.Not(to_bool(entry.present))))
        return z3.And(parts)
    if isinstance(sym, SymUnion):
        record = sym.records.get(value.get(sym.union.tag_field))
        if record is None:
            return False
        return z3.And(sym.tag == z3.StringVal(value[sym.union.tag_field]), to_bool(pin(record, value)))
    if isinstance(sym, SymRecord):
        return z3.And([to_bool(pin(v, value[name])) for name, v in sym.values.items()])
    if isinstance(sym, SymList):
        if sym.seen_whole and len(value) > len(sym.items):
            raise Unsupported(f"a list of {len(value)} elements, beyond the bound of unknown lists ({len(sym.items)})")
        sym.ensure(len(value) + 1)
        items = sym.items
        if len(items) < len(value):
            return False
        parts = [to_bool(p) == (i < len(value)) for i, (p, _) in enumerate(items[:len(value) + 1])]
        return z3.And(parts + [to_bool(pin(x, v)) for (_, x), v in zip(items, value)])
    return equal(sym, value)


def compare(domain: CompiledDomain, env: Environment, fn: ir.Function, args: list, expected: Outcome, mode: str) -> Verdict:
    """The encoding's outcome for fn(args) on env's state, against the runtime's."""
    reset_names()
    world = (lambda e: SymbolicWorld(e, env.facts)) if mode == "unknown state" else (lambda e: ConcreteWorld(env))
    enc = Encoder(domain.ir, world)
    enc.approximate = mode in ("approximate", "unknown state")
    pins = []
    try:
        if mode in ("pinned", "approximate"):
            unknowns = [enc.fresh(p.type, f"arg.{p.name}") for p in fn.params[:len(args)]]
            pins = [to_bool(equal(u, a)) for u, a in zip(unknowns, args)]
            args = unknowns
        value = enc.call(fn, list(args))
        failed = z3.Or(enc.failures) if enc.failures else z3.BoolVal(False)
        agree = failed if expected.failed else z3.And(z3.Not(failed), to_bool(same(value, expected.value)))
        if mode == "unknown state":
            pins += [to_bool(pin(root, env.state.materialize(name))) for name, root in enc.world.roots.items()]
    except Unsupported as e:
        return Verdict(mode, "not_analysed", e.what)
    except z3.Z3Exception as e:
        return Verdict(mode, "disagree", f"the encoding raised a Z3 error: {e}")
    except Exception as e:  # a crash of the encoding is a disagreement, never a pass
        return Verdict(mode, "disagree", f"the encoding crashed: {type(e).__name__}: {e}")
    s = z3.Solver()
    s.set("timeout", TIMEOUT_MS)
    s.add(*enc.axioms, *pins)
    possible = enc.approximate  # an over-approximation must allow the runtime's outcome
    s.add(to_bool(agree) if possible else z3.Not(to_bool(agree)))
    result = s.check()
    if result == z3.unknown:
        return Verdict(mode, "not_analysed", f"solver: {s.reason_unknown()}")
    if (result == z3.sat) == possible:
        return Verdict(mode, "agree")
    if possible:
        return Verdict(mode, "disagree", f"runtime {expected}; the encoding excludes that outcome")
    model = s.model()
    if z3.is_true(model.eval(failed, model_completion=True)):
        shown = "fails"
    else:
        shown = f"may give {model.eval(value, model_completion=True) if isinstance(value, z3.ExprRef) else value!r}"
    return Verdict(mode, "disagree", f"runtime {expected}; the encoding {shown}")


def evaluate(domain: CompiledDomain, env: Environment, fn: ir.Function, args: list, tally: Tally, label: str,
             unknown_state: bool = True) -> None:
    """Run fn(args) on env through the runtime, then compare each mode of the encoding (the
    unknown-state mode costs the most on large states, so it can be left out)."""
    run = domain.program.function(fn)
    try:
        expected = runtime_outcome(env, run, args)
    except Exception as e:  # an error the language does not define is a runtime bug
        tally.add(label, Verdict("concrete", "disagree", f"the runtime crashed: {type(e).__name__}: {e}"))
        return
    tally.add(label, compare(domain, env, fn, args, expected, "concrete"))
    if unknown_state:
        tally.add(label, compare(domain, env, fn, args, expected, "unknown state"))
    if not args:
        return
    pinned = compare(domain, env, fn, args, expected, "pinned")
    tally.add(label, pinned)
    if pinned.kind == "not_analysed":
        tally.add(label, compare(domain, env, fn, args, expected, "approximate"))


# ---------------------------------------------------------------- what a task gives to compare


class Recorder:
    """Wraps a domain's compiled functions to collect the arguments they are called with."""

    def __init__(self, domain: CompiledDomain, per_function: int = 4):
        self.calls: dict[str, dict[str, list]] = {}
        self.per_function = per_function
        program = domain.program
        for name, run in list(program.functions.items()):  # calls from tools, guards, goals
            program.functions[name] = self.wrap(name, run)
        params = {f.name: len(f.params) for f in domain.ir.functions}
        for name, (body, nslots) in list(program.bodies.items()):  # calls from one fn to another
            program.bodies[name] = (self.wrap_body(name, body, params[name]), nslots)

    def note(self, name: str, args: list) -> None:
        seen = self.calls.setdefault(name, {})
        if len(seen) < self.per_function:
            seen.setdefault(json.dumps(args, sort_keys=True, default=str), list(args))

    def wrap(self, name, run):
        def recording(ctx, args):
            self.note(name, args)
            return run(ctx, args)

        return recording

    def wrap_body(self, name, body, nparams: int):
        def recording(slots, ctx):
            self.note(name, slots[:nparams])
            return body(slots, ctx)

        return recording


def recording_domain(domain: CompiledDomain) -> tuple[CompiledDomain, Recorder]:
    """A copy of the domain (same IR and base data) whose function calls are recorded."""
    data = {n: r for n, r in domain.base.roots.items() if domain.base.sides[n] == "agent"}
    user = {n: r for n, r in domain.base.roots.items() if domain.base.sides[n] == "user"}
    copy = CompiledDomain(domain.ir, data, user, domain.folder)
    return copy, Recorder(copy)


def call_arguments(env: Environment, kind: str, call: ir.CallSpec) -> list | None:
    target = env.domain.callables.get((kind, call.actor, call.name))
    if target is None:
        return None
    try:
        return env._arguments(target, call.args)
    except InvalidValue:
        return None


def task_evaluations(domain: CompiledDomain, task: ir.TaskDef) -> Iterator[tuple[str, Environment, ir.Function, list]]:
    """(label, environment, function, arguments) for everything a task gives to compare."""
    copy, recorder = recording_domain(domain)
    checker = TaskChecker(copy, task)
    try:
        states = [("initial", checker.start())]
    except TaskSetupError:
        return
    if task.gold is not None:
        states.append(("gold final", checker.gold_env))
    for _, env in states:  # the functions the goals call are recorded too
        for goal in checker.goals:
            try:
                env.evaluate(goal)
            except (ToolFailure, *INTERNAL_ERRORS):  # compared later; here only the calls matter
                pass
    gold_guards = []
    for call in task.gold or ():
        target = copy.callables.get(("tool", call.actor, call.name))
        args = call_arguments(states[0][1], "tool", call)
        if target is not None and args is not None:
            gold_guards += [(f"guard of {g.policy} on {call.name}", g.function, args) for g, _ in target.guards]
    assertions = []
    for spec in task.assertions:
        fn = next((a for a in copy.ir.assertions if a.name == spec.name and a.actor == spec.actor), None)
        args = call_arguments(states[0][1], "assertion", spec)
        if fn is not None and args is not None:
            assertions.append((f"assertion {spec.name}", fn, args))
    functions = []
    for fn in copy.ir.functions:
        if fn.effect == ir.Effect.WRITES:
            continue
        uses = list(recorder.calls.get(fn.name, {}).values()) if fn.params else [[]]
        functions += [(f"fn {fn.name}", fn, args) for args in uses]
    others = ([(f"derive {d.root}.{'.'.join(d.path)}", d.function, []) for d in copy.ir.derives]
              + [(f"const {c.name}", c.function, []) for c in copy.ir.consts]
              + [(f"goal {i + 1}", g, []) for i, g in enumerate(task.goals)])
    for state, env in states:
        for label, fn, args in functions + gold_guards + others + assertions:
            yield f"task {task.id}, {state} state: {label}", env, fn, args


def compare_task(domain: CompiledDomain, task: ir.TaskDef, tally: Tally, unknown_state: bool = True) -> None:
    for label, env, fn, args in task_evaluations(domain, task):
        evaluate(env.domain, env, fn, args, tally, label, unknown_state)

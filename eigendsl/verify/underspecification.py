"""Underspecification: which changes of the gold actions the goals pin, over scalars, rows and lists."""

from __future__ import annotations

import z3

from .. import ir
from ..runtime.environment import MISSING, CompiledDomain
from ..types import ListType, MapType, OptionalType, RecordType, Type, UnionType
from .budget import SolverBudget
from .explain import eig_value
from .findings import ENCODING_ERRORS, Finding, outside
from .reward import TaskChecker
from .symbolic import Encoder, formula_of
from .symvalues import OverriddenTable, SymList, equal, reset_names, to_bool
from .worlds import ConcreteWorld


LIST_CHANGE_BOUND = 16  # at most this many unknown elements stand in for what gold put in a list


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
        other = f" ({eig_value(example)})" if example is not None else ""
        return f"the gold actions set it to {eig_value(value)}, and a list with less or other content{other} also satisfies the goals"
    return f"the gold actions set it to {eig_value(value)}, and another value also satisfies the goals"


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

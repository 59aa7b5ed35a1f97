"""Z3 encoding of eig expressions and read-only functions: guards and goals as formulas.

The evaluator walks the typed IR. A value is either concrete (plain JSON, as the runtime has
it) or symbolic: a z3 term for a scalar, or one of the lazy structures below for optionals,
records, unions, lists and maps, whose parts are created on first use. Worlds decide what the
state looks like: fully symbolic (every table an unknown map, for questions about all states),
or a concrete environment in which some fields have been replaced by unknowns.

Functions are executed symbolically: `if` on a symbolic condition explores both branches and
merges the results; `fail` (and a missing key) adds to the condition under which evaluation
fails. Lists of unknown contents have at most LIST_BOUND elements. A construct the encoding
does not cover raises Unsupported, and callers report the analysis as unknown.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import z3

from .. import ir
from ..builtins import BUILTINS, format_value
from ..errors import ToolFailure
from ..types import (
    BOOL, DATE, DATETIME, FLOAT, INT, STR, EnumType, ListType, MapType, OptionalType, Prim, RecordType, Type, UnionType,
)
from ..runtime.environment import TableView

LIST_BOUND = 3
SMALL_TABLE = 64  # a lookup with an unknown key is a case split over at most this many entries
# A float operation rounds its exact result to the nearest double: relative error at most 2^-53,
# plus an absolute 2^-1074 for results in the subnormal range.
ROUNDING = z3.RealVal(f"1/{2**53}")
SUBNORMAL = z3.RealVal(f"1/{2**1074}")
_counter = itertools.count()


def reset_names() -> None:
    """Restart the numbering of unknowns, so that the same question gives the same answer."""
    global _counter
    _counter = itertools.count()


class Unsupported(Exception):
    """A construct the Z3 encoding does not cover; the analysis result is 'unknown'."""

    def __init__(self, what: str, span=None):
        super().__init__(what)
        self.what = what
        self.span = span


def is_sym(v: Any) -> bool:
    return isinstance(v, (z3.ExprRef, SymOpt, SymRecord, SymUnion, SymList, SymMap, Merged, Patched))


def fresh_name(hint: str) -> str:
    return f"{hint}!{next(_counter)}"


# ---------------------------------------------------------------- lazy symbolic structures


@dataclass
class SymOpt:
    present: z3.BoolRef
    value: Any


class SymRecord:
    def __init__(self, enc: "Encoder", fields: dict[str, Type], hint: str):
        self.enc, self.types, self.hint, self.values = enc, fields, hint, {}

    def get(self, name: str):
        if name not in self.values:
            self.values[name] = self.enc.fresh(self.types[name], f"{self.hint}.{name}")
        return self.values[name]


class SymUnion:
    def __init__(self, enc: "Encoder", union: ir.UnionDef, allowed: tuple[str, ...] | None, hint: str):
        self.enc, self.union, self.hint = enc, union, hint
        self.tag = z3.String(fresh_name(f"{hint}.{union.tag_field}"))
        variants = [v for v in union.variants if allowed is None or v.name in allowed]
        enc.axioms.append(z3.Or([self.tag == z3.StringVal(v.tag) for v in variants]))
        self.records = {v.tag: SymRecord(enc, {f.name: f.type for f in v.fields}, f"{hint}<{v.name}>") for v in variants}

    def get(self, name: str):
        if name == self.union.tag_field:
            return self.tag
        having = [(tag, rec) for tag, rec in self.records.items() if name in rec.types]
        if not having:
            raise Unsupported(f"field {name} of {self.union.name}")
        value = having[-1][1].get(name)
        for tag, rec in reversed(having[:-1]):
            value = merge(self.tag == z3.StringVal(tag), rec.get(name), value)
        return value


class SymList:
    """A list of unknown length: LIST_BOUND elements at first, each present or not (presence is
    a prefix), grown on demand where a comparison or an index needs more."""

    def __init__(self, items: list[tuple[Any, Any]], grow: Callable[[int], tuple[Any, Any]] | None = None):
        self.items = items  # (present: bool | BoolRef, value)
        self.grow = grow
        self.seen_whole = False  # read as a whole: it has no elements beyond those in items

    def ensure(self, n: int) -> None:
        while self.grow is not None and len(self.items) < n:
            self.items.append(self.grow(len(self.items)))

    def length(self):
        return z3.Sum([z3.If(to_bool(p), 1, 0) for p, _ in self.items]) if self.items else z3.IntVal(0)


class SymMap:
    """A map whose entries are unknown: each key looked up gets its own unknown optional value."""

    def __init__(self, enc: "Encoder", key_type: Type, value_type: Type, hint: str):
        self.enc, self.key_type, self.value_type, self.hint = enc, key_type, value_type, hint
        self.entries: dict[str, SymOpt] = {}
        self.keys: dict[str, Any] = {}  # the key each entry was looked up with

    def lookup(self, key) -> SymOpt:
        ident = repr(key) if not is_sym(key) else f"sym:{z3.simplify(key).sexpr()}"
        if ident not in self.entries:
            self.keys[ident] = key
            self.entries[ident] = SymOpt(z3.Bool(fresh_name(f"{self.hint}[{ident}]?")), self.enc.fresh(self.value_type, f"{self.hint}[{ident}]"))
        return self.entries[ident]


class Merged:
    """`if cond then a else b` for structured values, built field by field when read."""

    def __init__(self, cond, a, b):
        self.cond, self.a, self.b = cond, a, b

    def get(self, name: str):
        # A variant's field exists on one side only; well-typed code reads it only where it exists.
        if isinstance(self.a, dict) and name not in self.a:
            return get_field(self.b, name)
        if isinstance(self.b, dict) and name not in self.b:
            return get_field(self.a, name)
        return merge(self.cond, get_field(self.a, name), get_field(self.b, name))


class Patched:
    """An unknown record with the field at `path` replaced, as a derived field is on read."""

    def __init__(self, base, path: tuple[str, ...], value):
        self.base, self.path, self.value = base, path, value

    def get(self, name: str):
        if name != self.path[0]:
            return get_field(self.base, name)
        return self.value if len(self.path) == 1 else with_field(get_field(self.base, name), self.path[1:], self.value)


def with_field(record, path: tuple[str, ...], value):
    """The record with the field at `path` set to value (the record itself is not changed)."""
    if isinstance(record, dict):
        out = dict(record)
        out[path[0]] = value if len(path) == 1 else with_field(record[path[0]], path[1:], value)
        return out
    return Patched(record, path, value)


RECORDS = (dict, SymRecord, SymUnion, Merged, Patched)  # what has fields to read

# ---------------------------------------------------------------- value helpers


def to_z3(v: Any):
    if isinstance(v, SymOpt):  # narrowed by the checker: here the value is present
        v = v.value
    if isinstance(v, z3.ExprRef):
        return v
    if isinstance(v, bool):
        return z3.BoolVal(v)
    if isinstance(v, int):
        return z3.IntVal(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise Unsupported("an infinite or NaN float")
        exact = Fraction(v)  # the double itself: 0.1 is not 1/10
        return z3.RealVal(f"{exact.numerator}/{exact.denominator}")
    if isinstance(v, str):
        return z3.StringVal(v)
    raise Unsupported(f"a {type(v).__name__} value where a scalar is needed")


def to_bool(v: Any):
    if isinstance(v, bool):
        return z3.BoolVal(v)
    if isinstance(v, z3.BoolRef):
        return v
    raise Unsupported("a non-boolean condition")


def numeric_pair(a, b):
    a, b = to_z3(a), to_z3(b)
    if a.sort() != b.sort():
        if z3.is_int(a):
            a = z3.ToReal(a)
        if z3.is_int(b):
            b = z3.ToReal(b)
    return a, b


def merge(cond, a, b):
    """The value `a` where cond holds, else `b`."""
    if isinstance(cond, bool):
        return a if cond else b
    cond = z3.simplify(cond)
    if z3.is_true(cond):
        return a
    if z3.is_false(cond):
        return b
    if a is b:
        return a
    if not is_sym(a) and not is_sym(b) and a == b:
        return a
    if a is None or b is None or isinstance(a, SymOpt) or isinstance(b, SymOpt):
        pa, va = presence(a)
        pb, vb = presence(b)
        if va is None:
            va = vb
        if vb is None:
            vb = va
        return SymOpt(z3.If(cond, to_bool(pa), to_bool(pb)), merge(cond, va, vb) if va is not None else None)
    if isinstance(a, RECORDS) or isinstance(b, RECORDS):
        return Merged(cond, a, b)
    if isinstance(a, (list, SymList)) or isinstance(b, (list, SymList)):
        ia, ib = list_items(a), list_items(b)
        if len(ia) != len(ib):
            n = max(len(ia), len(ib))
            ia = ia + [(False, ib[i][1]) for i in range(len(ia), n)]
            ib = ib + [(False, ia[i][1]) for i in range(len(ib), n)]
        return SymList([(z3.If(cond, to_bool(pa), to_bool(pb)), merge(cond, va, vb)) for (pa, va), (pb, vb) in zip(ia, ib)])
    x, y = to_z3(a), to_z3(b)
    if x.sort() != y.sort():
        x, y = numeric_pair(x, y)
    return z3.If(cond, x, y)


def presence(v):
    if isinstance(v, SymOpt):
        return v.present, v.value
    if v is None:
        return False, None
    return True, v


def container_kind(v) -> str:
    view = v.view if isinstance(v, OverriddenTable) else v
    return view.kind


def list_items(v) -> list[tuple[Any, Any]]:
    if isinstance(v, SymOpt):
        v = v.value
    if isinstance(v, SymList):
        v.seen_whole = True
        return v.items
    if isinstance(v, (list, tuple)):
        return [(True, x) for x in v]
    if isinstance(v, (dict, TableView, OverriddenTable)):  # a list table's rows, a map's keys (as at run time)
        return [(True, x) for x in v]
    raise Unsupported("iteration over a value that is not a list")


def get_field(obj, name: str):
    if isinstance(obj, SymOpt):
        obj = obj.value
    if isinstance(obj, dict):
        if name not in obj:
            raise Unsupported(f"field {name} of a value that lacks it")
        return obj[name]
    if isinstance(obj, RECORDS):
        return obj.get(name)
    raise Unsupported(f"field {name} of a non-record value")


def has_sym(v: Any) -> bool:
    """Whether a value holds anything symbolic, at any depth."""
    if is_sym(v):
        return True
    if isinstance(v, dict):
        return any(has_sym(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return any(has_sym(x) for x in v)
    return False


def equal(a, b):
    """Equality as the runtime's ==, for concrete, symbolic and mixed values."""
    if not has_sym(a) and not has_sym(b):
        return a == b
    for x, y in ((a, b), (b, a)):
        if isinstance(x, Merged):  # one side or the other: compare each, maps and records alike
            return z3.If(to_bool(x.cond), to_bool(equal(x.a, y)), to_bool(equal(x.b, y)))
    if a is None or b is None or isinstance(a, SymOpt) or isinstance(b, SymOpt):
        pa, va = presence(a)
        pb, vb = presence(b)
        both = z3.And(to_bool(pa), to_bool(pb))
        if va is None or vb is None:
            return z3.And(z3.Not(to_bool(pa)), z3.Not(to_bool(pb)))
        return z3.Or(z3.And(z3.Not(to_bool(pa)), z3.Not(to_bool(pb))), z3.And(both, to_bool(equal(va, vb))))
    if isinstance(a, RECORDS) or isinstance(b, RECORDS):
        names = list(a) if isinstance(a, dict) else list(b) if isinstance(b, dict) else None
        if names is None:
            raise Unsupported("comparing two unknown records")
        if isinstance(a, dict) and isinstance(b, dict) and set(a) != set(b):
            return z3.BoolVal(False)
        return z3.And([to_bool(equal(get_field(a, n), get_field(b, n))) for n in names])
    if isinstance(a, (list, SymList)) or isinstance(b, (list, SymList)):
        for x, other in ((a, b), (b, a)):
            if isinstance(x, SymList) and isinstance(other, list):
                x.ensure(len(other) + 1)  # the next one absent: an element grown later cannot appear
        ia, ib = list_items(a), list_items(b)
        n = max(len(ia), len(ib))
        ia = ia + [(False, None)] * (n - len(ia))
        ib = ib + [(False, None)] * (n - len(ib))
        parts = []
        for (pa, va), (pb, vb) in zip(ia, ib):
            pa, pb = to_bool(pa), to_bool(pb)
            same = z3.BoolVal(True) if va is None or vb is None else to_bool(equal(va, vb))
            parts.append(z3.And(pa == pb, z3.Implies(z3.And(pa, pb), same)))
        return z3.And(parts)
    x, y = to_z3(a), to_z3(b)
    if x.sort() != y.sort():
        if z3.is_arith(x) and z3.is_arith(y):
            x, y = numeric_pair(x, y)
        else:
            return z3.BoolVal(False)
    return x == y


# ---------------------------------------------------------------- worlds


class World:
    """What state roots and facts are: concrete, symbolic, or concrete with unknown parts."""

    def root(self, name: str):
        raise NotImplementedError

    def fact(self, name: str):
        raise NotImplementedError


class SymbolicWorld(World):
    def __init__(self, enc: "Encoder", facts: dict | None = None):
        self.enc = enc
        self.roots: dict[str, Any] = {}
        self.facts_given = facts

    def root(self, name):
        if name not in self.roots:
            sf = self.enc.state_types[name]
            self.roots[name] = self.enc.fresh(sf, f"state.{name}", table=True)
        return self.roots[name]

    def fact(self, name):
        if self.facts_given is not None:
            return self.facts_given.get(name)
        key = f"fact:{name}"
        if key not in self.roots:
            self.roots[key] = self.enc.fresh(OptionalType(self.enc.fact_types[name]), f"fact.{name}")
        return self.roots[key]


class ConcreteWorld(World):
    """An environment's state; `override` replaces whole rows (possibly holding unknowns)."""

    def __init__(self, env, override: dict[tuple[str, Any], Any] | None = None):
        self.env = env
        self.override = override or {}

    def root(self, name):
        state = self.env.state
        kind = state.base.kinds[name]
        if kind == "row":
            return self.override.get((name, None), state.record(name))
        return OverriddenTable(TableView(state, name), name, self.override)

    def fact(self, name):
        return self.env.facts.get(name)


class OverriddenTable:
    """A table whose rows at some keys are replaced (ABSENT: as if the row were not there)."""

    ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()

    def __init__(self, view: TableView, name: str, override: dict):
        self.view, self.name, self.override = view, name, override

    def get(self, key, default=None):
        if (self.name, key) in self.override:
            value = self.override[(self.name, key)]
            return default if value is self.ABSENT else value
        return self.view.get(key, default)

    @property
    def kind(self) -> str:
        return self.view.kind

    @property
    def symbolic(self) -> bool:
        """Whether a replaced row holds unknowns."""
        return any(has_sym(v) for (name, _), v in self.override.items() if name == self.name and v is not self.ABSENT)

    def __contains__(self, key):
        if self.view.kind == "list":
            return key in self.values()
        if (self.name, key) in self.override:
            return self.override[(self.name, key)] is not self.ABSENT
        return key in self.view

    def keys(self) -> list:
        if self.view.kind == "list":  # a removed row can only be the last one (an append undone)
            return [i for i in range(len(self.view)) if self.get(i, _MISSING) is not _MISSING]
        added = [k for (name, k), v in self.override.items() if name == self.name and v is not self.ABSENT and k not in self.view]
        return [k for k in self.view.keys() if self.get(k, _MISSING) is not _MISSING] + added

    def __iter__(self):
        if self.view.kind == "list":
            return iter(self.values())
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def values(self) -> list:
        return [self.get(k) for k in self.keys()]

    def items(self):
        return [(k, self.get(k)) for k in self.keys()]


# ---------------------------------------------------------------- the encoder


class Encoder:
    """Evaluates IR functions to z3 formulas in a world; collects data-model axioms."""

    def __init__(self, domain: ir.Domain, world_factory: Callable[["Encoder"], World] | None = None, list_bound: int = LIST_BOUND):
        self.domain = domain
        self.records = {r.name: r for r in domain.records}
        self.unions = {u.name: u for u in domain.unions}
        self.enums = {e.name: e for e in domain.enums}
        self.functions = {f.name: f for f in domain.functions}
        self.consts = {c.name: c for c in domain.consts}
        self.state_types = {sf.name: sf.type for sf in domain.state}
        self.fact_types = {f.name: f.type for f in domain.facts}
        self.derives: dict[str, list[ir.DeriveDef]] = {}
        for d in domain.derives:
            if d.root in self.state_types and isinstance(self.state_types[d.root], RecordType):
                self.derives.setdefault(d.root, []).append(d)
        self.deriving = False  # inside a derive: reads of the record see its stored fields
        self.axioms: list = []
        self.failures: list = []
        self.pc: list = []
        self.depth = 0
        # Over-approximate: a built-in the encoding cannot express returns an unconstrained
        # value. Sound when only unsatisfiability is reported (fewer constraints cannot create
        # a contradiction); callers that report satisfiable queries turn it off.
        self.approximate = False
        self.list_bound = list_bound
        self.used_lists = False  # whether an unsat answer may depend on the bound
        self.world: World = world_factory(self) if world_factory else SymbolicWorld(self)

    # ------------------------------------------------------------ fresh values of a type
    def fresh(self, t: Type, hint: str, table: bool = False):
        if isinstance(t, Prim):
            if t == INT:
                return z3.Int(fresh_name(hint))
            if t == FLOAT:
                return z3.Real(fresh_name(hint))
            if t == BOOL:
                return z3.Bool(fresh_name(hint))
            if t in (STR, DATE, DATETIME):
                return z3.String(fresh_name(hint))
            return None
        if isinstance(t, EnumType):
            v = z3.String(fresh_name(hint))
            self.axioms.append(z3.Or([v == z3.StringVal(x) for x in self.enums[t.name].values]))
            return v
        if isinstance(t, OptionalType):
            return SymOpt(z3.Bool(fresh_name(hint + "?")), self.fresh(t.inner, hint))
        if isinstance(t, RecordType):
            return SymRecord(self, {f.name: f.type for f in self.records[t.name].fields}, hint)
        if isinstance(t, UnionType):
            return SymUnion(self, self.unions[t.name], t.variants, hint)
        if isinstance(t, ListType):
            self.used_lists = True
            items: list = []

            def grow(i: int):
                p = z3.Bool(fresh_name(f"{hint}[{i}]?"))
                if items:
                    self.axioms.append(z3.Implies(p, to_bool(items[-1][0])))
                return p, self.fresh(t.elem, f"{hint}[{i}]")

            lst = SymList(items, grow)
            lst.ensure(self.list_bound)
            return lst
        if isinstance(t, MapType):
            return SymMap(self, t.key, t.value, hint)
        raise Unsupported(f"unknown values of type {t}")

    # ------------------------------------------------------------ failure tracking
    def fail_if(self, cond) -> None:
        cond = to_bool(cond)
        guard = z3.And(*self.pc, cond) if self.pc else cond
        self.failures.append(guard)

    def failed(self, t: Type | None):
        """The value of an expression that certainly fails here: any value of its type will do,
        since every outcome on this path is the failure."""
        return None if t is None else self.fresh(t, "failed")

    def under(self, cond):
        encoder = self

        class _Scope:
            def __enter__(self):
                encoder.pc.append(to_bool(cond))

            def __exit__(self, *exc):
                encoder.pc.pop()

        return _Scope()

    def no_failure(self):
        return z3.Not(z3.Or(self.failures)) if self.failures else z3.BoolVal(True)

    # ------------------------------------------------------------ functions
    def call(self, fn: ir.Function, args: list) -> Any:
        """Symbolic execution of a read-only function body; the merged return value."""
        if fn.effect == "writes":
            raise Unsupported(f"the writes function {fn.name}", fn.span)
        self.depth += 1
        if self.depth > 40:
            raise Unsupported("functions nested too deeply", fn.span)
        try:
            slots = list(args) + [None] * max(0, fn.nslots - len(args))
            outcomes = self.block(fn.body, slots, z3.BoolVal(True))
        finally:
            self.depth -= 1
        value = None
        first = True
        for cond, kind, result, _ in reversed(outcomes):
            if kind == "fail":
                self.fail_if(cond)
                continue
            if kind == "fall":
                result = None
            if first:
                value, first = result, False
            else:
                value = merge(cond, result, value)
        if first:  # every path fails
            return self.failed(fn.ret)
        return value

    def block(self, stmts, slots, cond) -> list[tuple[Any, str, Any, list]]:
        """Run statements from one path; outcomes (condition, return|fail|fall, value, slots)."""
        paths = [(cond, None, None, slots)]
        for s in stmts:
            new = []
            for pc, kind, value, sl in paths:
                if kind is not None:
                    new.append((pc, kind, value, sl))
                else:
                    new.extend(self.stmt(s, sl, pc))
            paths = self.join(new)
        return [(pc, kind or "fall", value, sl) for pc, kind, value, sl in paths]

    def join(self, paths):
        """Merge the paths that are still running into one (ite per local) to bound the paths."""
        running = [p for p in paths if p[1] is None]
        if len(running) <= 1:
            return paths
        done = [p for p in paths if p[1] is not None]
        pc, _, _, slots = running[0]
        slots = list(slots)
        for other_pc, _, _, other in running[1:]:
            slots = [merge(other_pc, o, s) if o is not s else s for s, o in zip(slots, other)]
            pc = z3.Or(pc, other_pc)
        return done + [(pc, None, None, slots)]

    def stmt(self, s, slots, pc):
        with self.under(pc):
            if isinstance(s, ir.Let):
                slots = list(slots)
                slots[s.slot] = self.expr(s.value, slots)
                return [(pc, None, None, slots)]
            if isinstance(s, ir.Return):
                return [(pc, "return", None if s.value is None else self.expr(s.value, slots), slots)]
            if isinstance(s, ir.Fail):
                return [(pc, "fail", None, slots)]
            if isinstance(s, ir.Eval):
                self.expr(s.expr, slots)
                return [(pc, None, None, slots)]
            if isinstance(s, ir.If):
                c = self.expr(s.cond, slots)
                if not is_sym(c):
                    out = self.block(s.then if c else s.else_, slots, pc)
                    return [(p, None if k == "fall" else k, v, sl) for p, k, v, sl in out]
                c = to_bool(c)
                out = self.block(s.then, list(slots), z3.And(pc, c))
                out += self.block(s.else_, list(slots), z3.And(pc, z3.Not(c)))
                return [(p, None if k == "fall" else k, v, sl) for p, k, v, sl in out]
            if isinstance(s, ir.For):
                container = self.expr(s.iter, slots)
                if s.mode == "items":
                    if not isinstance(container, (dict, TableView, OverriddenTable)):
                        raise Unsupported("a loop over the entries of an unknown map", s.span)
                    items = [(True, pair) for pair in list(container.items())]
                else:
                    items = list_items(container)
                paths = [(pc, None, None, slots)]
                for present, item in items:
                    new = []
                    for p, kind, value, sl in paths:
                        if kind is not None:
                            new.append((p, kind, value, sl))
                            continue
                        inner = list(sl)
                        if s.mode == "items":
                            inner[s.slot], inner[s.slot2] = item
                        else:
                            inner[s.slot] = item
                        here = p if present is True else z3.And(p, to_bool(present))
                        new.extend((q, None if k == "fall" else k, v, x) for q, k, v, x in self.block(s.body, inner, here))
                        if present is not True:  # the list ended before this element
                            new.append((z3.And(p, z3.Not(to_bool(present))), None, None, sl))
                    paths = self.join(new)
                return paths
            if isinstance(s, ir.Assign) and s.target.root == "local" and not s.target.steps:
                slots = list(slots)
                value = self.expr(s.value, slots)
                old = slots[s.target.slot]
                if s.op in ("+=", "-=") and not is_sym(old) and not is_sym(value):
                    value = old + value if s.op == "+=" else old - value
                elif s.op == "+=" and isinstance(to_z3(old), z3.SeqRef):
                    value = z3.Concat(to_z3(old), to_z3(value))
                elif s.op in ("+=", "-="):
                    value = self.arith(s.op[0], old, value, s.span)
                slots[s.target.slot] = value
                return [(pc, None, None, slots)]
            if isinstance(s, ir.Mutate) and s.target.root == "local" and not s.target.steps:
                slots = list(slots)
                slots[s.target.slot] = self.mutated(s, slots[s.target.slot], [self.expr(a, slots) for a in s.args])
                return [(pc, None, None, slots)]
            raise Unsupported(f"the statement {type(s).__name__}", s.span)

    def mutated(self, s: ir.Mutate, old, args):
        """A local list or map after append, extend, insert, remove_at, remove or clear."""
        if s.method == "clear":
            return [] if isinstance(old, list) else {}
        if isinstance(old, list) and s.method in ("append", "extend"):
            if s.method == "append":
                return old + [args[0]]
            items = list_items(args[0])
            if all(p is True for p, _ in items):
                return old + [x for _, x in items]
        elif isinstance(old, list) and not has_sym(args[0]) and s.method in ("insert", "remove_at", "remove"):
            new = list(old)
            if s.method == "insert":
                new.insert(args[0], args[1])
                return new
            if s.method == "remove_at" and -len(new) <= args[0] < len(new):
                new.pop(args[0])
                return new
            if s.method == "remove" and not has_sym(old):
                if args[0] in new:
                    new.remove(args[0])
                else:
                    self.fail_if(True)
                return new
            if s.method == "remove_at":
                self.fail_if(True)
                return new
        elif isinstance(old, dict) and s.method == "remove" and not is_sym(args[0]):
            if args[0] not in old:
                self.fail_if(True)
                return old
            return {k: v for k, v in old.items() if k != args[0]}
        raise Unsupported(f"{s.method} on an unknown collection", s.span)

    # ------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr, slots: list):
        method = getattr(self, "e_" + type(e).__name__, None)
        if method is None:
            raise Unsupported(f"the expression {type(e).__name__}", e.span)
        return method(e, slots)

    def e_Const(self, e, slots):
        return e.value

    def e_Local(self, e, slots):
        return slots[e.slot]

    def e_StateRoot(self, e, slots):
        value = self.world.root(e.name)
        derives = self.derives.get(e.name)
        if not derives or self.deriving:
            return value
        self.deriving = True
        try:  # as at run time: derived fields are computed on every read of the record
            for d in derives:
                value = with_field(value, d.path, self.call(d.function, []))
        finally:
            self.deriving = False
        return value

    def e_Fact(self, e, slots):
        return self.world.fact(e.name)

    def e_GetField(self, e, slots):
        return get_field(self.expr(e.obj, slots), e.name)

    def lookup(self, container, key, missing_fails: bool):
        """(present, value) of container[key] for maps and lists, concrete or symbolic."""
        if isinstance(container, SymOpt):
            container = container.value
        if isinstance(container, SymMap):
            entry = container.lookup(key)
            return entry.present, entry.value
        if isinstance(container, (TableView, OverriddenTable)) and container_kind(container) == "list":
            if is_sym(key):
                if len(container) > SMALL_TABLE:
                    raise Unsupported("indexing a large list table with an unknown position")
                container = list(container.values())
            elif key < 0:
                key += len(container)
        if isinstance(container, (dict, TableView, OverriddenTable)):
            if not is_sym(key):
                value = container.get(key, _MISSING)
                return (False, None) if value is _MISSING else (True, value)
            if len(container) > SMALL_TABLE:
                raise Unsupported("a lookup with an unknown key in a large table")
            present, value = z3.BoolVal(False), None
            for k, v in container.items():
                hit = to_bool(equal(key, k))
                value = v if value is None else merge(hit, v, value)
                present = z3.Or(present, hit)
            return present, value
        if isinstance(container, SymList) and not is_sym(key) and key >= 0:
            container.ensure(key + 1)
        if isinstance(container, (list, SymList)):
            items = list_items(container)
            if not is_sym(key) and all(p is True for p, _ in items):
                return (True, items[key][1]) if -len(items) <= key < len(items) else (False, None)
            if not is_sym(key) and 0 <= key < len(items):
                return items[key]
            if not is_sym(key) and -len(items) <= key < 0:
                # Counting from the end of a list whose length is unknown: pick by length.
                length = SymList(items).length()
                value, present = None, z3.BoolVal(False)
                for n in range(-key, len(items) + 1):
                    at = length == n
                    value = items[n + key][1] if value is None else merge(at, items[n + key][1], value)
                    present = z3.Or(present, at)
                return present, value
            if is_sym(key) and len(items) <= 16:
                value, present = None, z3.BoolVal(False)
                k, length = to_z3(key), SymList(items).length()
                for i, (p, item) in enumerate(items):  # a negative position counts from the end
                    at = z3.And(to_bool(p), z3.Or(k == i, z3.And(k < 0, k + length == i)))
                    value = item if value is None else merge(at, item, value)
                    present = z3.Or(present, at)
                return present, value
            raise Unsupported("indexing a list with an unknown position")
        if isinstance(container, str) and not is_sym(key):
            return (True, container[key]) if -len(container) <= key < len(container) else (False, None)
        raise Unsupported("indexing this value")

    def e_GetIndex(self, e, slots):
        present, value = self.lookup(self.expr(e.obj, slots), self.expr(e.key, slots), True)
        if present is not True:
            self.fail_if(z3.Not(to_bool(present)))
        return self.failed(e.type) if value is None and present is not True else value

    def e_CallFn(self, e, slots):
        fn = self.functions[e.name]
        return self.call(fn, [self.expr(a, slots) for a in e.args])

    def e_CallBuiltin(self, e, slots):
        args = [self.expr(a, slots) for a in e.args]
        entry = BUILTINS[e.name]
        if not any(has_sym(a) or (isinstance(a, OverriddenTable) and a.symbolic) for a in args):
            try:
                return entry.impl(*args)
            except ToolFailure:
                self.fail_if(True)
                return self.failed(e.type)
        try:
            if entry.encode is None:
                raise Unsupported(f"{e.name}() of unknown values ({entry.not_analysed})", e.span)
            return entry.encode(self, *args)
        except Unsupported as u:
            if self.approximate and e.type in (INT, FLOAT, BOOL, STR, DATE, DATETIME):
                self.fail_if(z3.Bool(fresh_name(f"{e.name}()!fails")))
                return self.fresh(e.type, f"{e.name}()")
            raise Unsupported(u.what, u.span or e.span) from None

    # ------------------------------------------------------------ what built-ins' encodings use
    scalar = staticmethod(to_z3)
    condition = staticmethod(to_bool)
    comparable = staticmethod(lambda a, b: numeric_pair(a, b) if not isinstance(to_z3(a), z3.SeqRef) else (to_z3(a), to_z3(b)))
    items = staticmethod(list_items)

    @staticmethod
    def real(x):
        x = to_z3(x)
        return z3.ToReal(x) if z3.is_int(x) else x

    @staticmethod
    def unsupported(what: str):
        raise Unsupported(what)

    @staticmethod
    def length(v):
        if isinstance(v, SymOpt):
            v = v.value
        if isinstance(v, z3.SeqRef):
            return z3.Length(v)
        if isinstance(v, (str, dict)) or (isinstance(v, (TableView, OverriddenTable)) and v.kind == "map"):
            return len(v)
        items = list_items(v)
        return len(items) if all(p is True for p, _ in items) else SymList(items).length()

    @staticmethod
    def entries(m) -> dict:
        """A map's entries, where its keys are known (its values may not be)."""
        if isinstance(m, SymOpt):
            m = m.value
        if isinstance(m, dict):
            return m
        if isinstance(m, (TableView, OverriddenTable)) and m.kind == "map":
            return dict(m.items())
        raise Unsupported("the entries of a map whose keys are unknown")

    def get(self, m, key):
        present, value = self.lookup(m, key, False)
        if present is True:
            return value
        return SymOpt(to_bool(present), value) if value is not None else None

    def exact_where(self, region, value, t: Type, outside: str):
        """`value` where `region` holds. Outside it the encoding does not say: an approximating
        encoder gives an unconstrained value that may also fail; an exact one refuses."""
        if z3.is_true(z3.simplify(region)):
            return value
        if not self.approximate:
            raise Unsupported(outside)
        self.fail_if(z3.And(z3.Not(region), z3.Bool(fresh_name("outside!fails"))))
        return z3.If(region, value, to_z3(self.fresh(t, "outside")))

    def e_Construct(self, e, slots):
        out = {}
        if e.variant is not None:
            union = self.unions[e.record]
            out[union.tag_field] = union.variant(e.variant).tag
        for name, v in e.fields:
            out[name] = self.expr(v, slots)
        return out

    def e_ListExpr(self, e, slots):
        return [self.expr(i, slots) for i in e.items]

    def e_MapExpr(self, e, slots):
        out = {}
        for k, v in e.entries:
            key = self.expr(k, slots)
            if is_sym(key):
                raise Unsupported("a map literal with an unknown key", e.span)
            out[key] = self.expr(v, slots)
        return out

    def e_UnaryOp(self, e, slots):
        x = self.expr(e.operand, slots)
        if e.op == "not":
            return (not x) if not is_sym(x) else z3.Not(to_bool(x))
        return -x if not is_sym(x) else -to_z3(x)

    def e_ToFloat(self, e, slots):
        x = self.expr(e.operand, slots)
        if not is_sym(x):
            return None if x is None else float(x)
        x = to_z3(x)
        return z3.ToReal(x) if z3.is_int(x) else x

    def e_IfExpr(self, e, slots):
        c = self.expr(e.cond, slots)
        if not is_sym(c):
            return self.expr(e.then if c else e.else_, slots)
        with self.under(c):
            a = self.expr(e.then, slots)
        with self.under(z3.Not(to_bool(c))):
            b = self.expr(e.else_, slots)
        return merge(to_bool(c), a, b)

    def e_BinaryOp(self, e, slots):
        op = e.op
        if op in ("and", "or"):
            left = self.expr(e.left, slots)
            if not is_sym(left):
                if (op == "and" and not left) or (op == "or" and left):
                    return left
                return self.expr(e.right, slots)
            left = to_bool(left)
            with self.under(left if op == "and" else z3.Not(left)):
                right = self.expr(e.right, slots)
            right = right if is_sym(right) else bool(right)
            return z3.And(left, to_bool(right)) if op == "and" else z3.Or(left, to_bool(right))
        a, b = self.expr(e.left, slots), self.expr(e.right, slots)
        if op in ("in", "not in"):
            result = self.member(a, b)
            if op == "not in":
                return (not result) if not is_sym(result) else z3.Not(result)
            return result
        if not has_sym(a) and not has_sym(b) and not isinstance(a, (TableView, OverriddenTable)):
            if op in ("/", "//", "%") and b == 0:
                self.fail_if(True)
                return self.failed(e.type)
            return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
                    "//": lambda: a // b, "%": lambda: a % b, "==": lambda: a == b, "!=": lambda: a != b,
                    "<": lambda: a < b, "<=": lambda: a <= b, ">": lambda: a > b, ">=": lambda: a >= b}[op]()
        if op == "==":
            return equal(a, b)
        if op == "!=":
            return z3.Not(to_bool(equal(a, b)))
        if op == "+" and (isinstance(to_z3(a), z3.SeqRef)):
            return z3.Concat(to_z3(a), to_z3(b))
        x, y = numeric_pair(a, b) if op not in ("<", "<=", ">", ">=") or not isinstance(to_z3(a), z3.SeqRef) else (to_z3(a), to_z3(b))
        if op in ("/", "//", "%"):
            self.fail_if(y == 0)
        if op == "/":
            x, y = (z3.ToReal(x) if z3.is_int(x) else x), (z3.ToReal(y) if z3.is_int(y) else y)
            return self.rounded(x / y, e.span)
        if op in ("//", "%"):
            if not z3.is_int(x) or not z3.is_int(y):
                raise Unsupported(f"{op} on unknown floats", e.span)
            # Python floors the quotient; Z3's integer division is Euclidean (the remainder is
            # never negative). They agree for a positive divisor; for a negative one, negate both.
            q = z3.If(y > 0, x / y, (-x) / (-y))
            return q if op == "//" else x - y * q
        if op in ("+", "-", "*"):
            return self.arith(op, x, y, e.span)
        return {"<": lambda: x < y, "<=": lambda: x <= y, ">": lambda: x > y, ">=": lambda: x >= y}[op]()

    def arith(self, op: str, x, y, span=None):
        """x op y for numbers, at least one unknown: exact for ints, rounded for floats."""
        x, y = numeric_pair(x, y)
        exact = x + y if op == "+" else x - y if op == "-" else x * y
        return self.rounded(exact, span) if z3.is_real(exact) else exact

    def rounded(self, exact, span=None):
        """The double nearest to an exact real result, which the encoding does not compute: the
        approximating encoder bounds it by the rounding error; the exact one refuses."""
        if not self.approximate:
            raise Unsupported("arithmetic on unknown floats (the runtime rounds to doubles)", span)
        r = z3.Real(fresh_name("rounded"))
        size = z3.If(exact >= 0, exact, -exact)
        self.axioms.append(z3.And(r - exact <= size * ROUNDING + SUBNORMAL, exact - r <= size * ROUNDING + SUBNORMAL))
        return r

    def member(self, a, b):
        if isinstance(b, (TableView, OverriddenTable)) and b.kind == "list":
            b = list_items(b)  # membership among a list table's rows, as for any list
            return z3.Or([to_bool(equal(a, x)) for _, x in b]) if has_sym(a) or has_sym([x for _, x in b]) else any(a == x for _, x in b)
        if isinstance(b, (TableView, OverriddenTable, SymMap, dict)):
            present, _ = self.lookup(b, a, False)
            return present
        if isinstance(b, (list, SymList)):
            if not has_sym(a) and isinstance(b, list) and not has_sym(b):
                return a in b
            return z3.Or([z3.And(to_bool(p), to_bool(equal(a, x))) for p, x in list_items(b)]) if list_items(b) else False
        if isinstance(b, str) or isinstance(b, z3.SeqRef):
            if not is_sym(a) and not is_sym(b):
                return a in b
            return z3.Contains(to_z3(b), to_z3(a))
        raise Unsupported("membership in this value")

    def e_IsVariant(self, e, slots):
        obj = self.expr(e.obj, slots)
        if isinstance(obj, SymOpt):
            obj = obj.value
        union = self.unions[e.obj.type.name]
        tag = get_field(obj, union.tag_field)
        if not is_sym(tag):
            result = tag in e.tags
            return (not result) if e.negated else result
        result = z3.Or([tag == z3.StringVal(t) for t in e.tags]) if e.tags else z3.BoolVal(False)
        return z3.Not(result) if e.negated else result

    def e_Coalesce(self, e, slots):
        if isinstance(e.left, ir.GetIndex) and isinstance(e.left.obj.type, MapType):
            present, value = self.lookup(self.expr(e.left.obj, slots), self.expr(e.left.key, slots), False)
        else:
            present, value = presence(self.expr(e.left, slots))
        if present is True:
            return value
        right = self.expr(e.right, slots)
        if present is False:
            return right
        return merge(to_bool(present), value, right)

    def e_OrFail(self, e, slots):
        if e.mode == "check":
            c = self.expr(e.expr, slots)
            if not is_sym(c):
                if not c:
                    self.fail_if(True)
                return True
            self.fail_if(z3.Not(to_bool(c)))
            return True
        if e.mode == "lookup" and isinstance(e.expr, ir.GetIndex):
            present, value = self.lookup(self.expr(e.expr.obj, slots), self.expr(e.expr.key, slots), True)
        else:
            present, value = presence(self.expr(e.expr, slots))
        if present is not True:
            self.fail_if(z3.Not(to_bool(present)))
        return self.failed(e.type) if value is None and present is not True else value

    def quantified_items(self, e, slots):
        return list_items(self.expr(e.iter, slots))

    def e_Quantified(self, e, slots):
        items = self.quantified_items(e, slots)
        results = []
        for present, value in items:
            local = list(slots)
            local[e.slot] = value
            with self.under(present):
                results.append((present, self.expr(e.body, local), value))
        if not any(is_sym(p) or is_sym(r) for p, r, _ in results):
            live = [(r, v) for p, r, v in results if p]
            if e.kind == "any":
                return any(r for r, _ in live)
            if e.kind == "all":
                return all(r for r, _ in live)
            if e.kind == "count":
                return sum(1 for r, _ in live if r)
            if e.kind == "sum":  # in order from zero, as the runtime adds
                total = 0.0 if e.type == FLOAT else 0
                for r, _ in live:
                    total = total + r
                return total
            return next((v for r, v in live if r), None)
        if e.kind == "any":
            return z3.Or([z3.And(to_bool(p), to_bool(r)) for p, r, _ in results]) if results else False
        if e.kind == "all":
            return z3.And([z3.Implies(to_bool(p), to_bool(r)) for p, r, _ in results]) if results else True
        if e.kind == "count":
            return z3.Sum([z3.If(z3.And(to_bool(p), to_bool(r)), 1, 0) for p, r, _ in results]) if results else 0
        if e.kind == "sum":
            total = 0.0 if e.type == FLOAT else 0
            for p, r, _ in results:
                total = merge(to_bool(p), total + r if not has_sym(total) and not has_sym(r) else self.arith("+", total, r, e.span), total)
            return total
        value = None
        found = z3.BoolVal(False)
        for p, r, v in reversed(results):
            hit = z3.And(to_bool(p), to_bool(r))
            value = v if value is None else merge(hit, v, value)
            found = z3.Or(found, hit)
        return SymOpt(found, value) if value is not None else None

    def e_Comprehension(self, e, slots):
        out = []
        symbolic = False
        for present, value in self.quantified_items(e, slots):
            local = list(slots)
            local[e.slot] = value
            keep = present
            if e.cond is not None:
                with self.under(present):
                    c = self.expr(e.cond, local)
                keep = c if present is True else (z3.And(to_bool(present), to_bool(c)) if is_sym(c) or is_sym(present) else (present and c))
            with self.under(keep):
                elem = self.expr(e.elem, local)
            symbolic |= is_sym(keep)
            out.append((keep, elem))
        if not symbolic:
            return [elem for keep, elem in out if keep]
        return SymList(out)

    def e_Format(self, e, slots):
        parts = [p if isinstance(p, str) else self.expr(p, slots) for p in e.parts]
        if any(is_sym(p) for p in parts):
            raise Unsupported("string interpolation of unknown values", e.span)

        return "".join(p if isinstance(p, str) else format_value(p) for p in parts)

    def e_GetSlice(self, e, slots):
        obj = self.expr(e.obj, slots)
        lo = self.expr(e.lo, slots) if e.lo else None
        hi = self.expr(e.hi, slots) if e.hi else None
        if not any(is_sym(x) for x in (obj, lo, hi)):
            return obj[lo:hi]
        if not isinstance(obj, (str, z3.SeqRef)):
            raise Unsupported("slicing unknown values", e.span)
        # Python's bounds: negative counts from the end, and both are clipped to the text.
        text = to_z3(obj)
        n = z3.Length(text)

        def bound(x, default):
            if x is None:
                return default
            x = to_z3(x)
            x = z3.If(x < 0, x + n, x)
            return z3.If(x < 0, 0, z3.If(x > n, n, x))

        start, end = bound(lo, z3.IntVal(0)), bound(hi, n)
        return z3.SubString(text, start, z3.If(end > start, end - start, 0))


_MISSING = object()


def formula_of(enc: Encoder, fn: ir.Function, args: list) -> z3.BoolRef:
    """The condition under which a bool function returns true without failing."""
    before = len(enc.failures)
    value = enc.call(fn, args)
    failures = enc.failures[before:]
    del enc.failures[before:]
    ok = z3.Not(z3.Or(failures)) if failures else z3.BoolVal(True)
    if value is None:
        return z3.BoolVal(False)
    return z3.And(ok, to_bool(value)) if is_sym(value) or failures else (ok if value else z3.BoolVal(False))

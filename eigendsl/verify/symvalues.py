"""Symbolic values for the Z3 encoding: lazy optionals, records, unions, lists and maps; merging, equality, lookups."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import z3

from .. import ir
from ..runtime.environment import TableView
from ..types import Type


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
    def __init__(self, enc: Any, fields: dict[str, Type], hint: str):
        self.enc, self.types, self.hint, self.values = enc, fields, hint, {}

    def get(self, name: str):
        if name not in self.values:
            self.values[name] = self.enc.fresh(self.types[name], f"{self.hint}.{name}")
        return self.values[name]


class SymUnion:
    def __init__(self, enc: Any, union: ir.UnionDef, allowed: tuple[str, ...] | None, hint: str):
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

    def __init__(self, enc: Any, key_type: Type, value_type: Type, hint: str):
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
        # Fields merged so far. A lookup by an unknown key is a chain of merges, one per row, and
        # a quantifier reads the same field of it once per element: merged afresh each time, the
        # chain was rebuilt as often (a minute for one telecom guard).
        self.fields: dict[str, Any] = {}

    def get(self, name: str):
        if name in self.fields:
            return self.fields[name]
        # A variant's field exists on one side only; well-typed code reads it only where it exists.
        if isinstance(self.a, dict) and name not in self.a:
            return get_field(self.b, name)
        if isinstance(self.b, dict) and name not in self.b:
            return get_field(self.a, name)
        a, b = get_field(self.a, name), get_field(self.b, name)
        value = merge(self.cond, a, b)
        if not growable(a) and not growable(b):  # an unknown list that may still grow is merged afresh
            self.fields[name] = value
        return value


def growable(v) -> bool:
    """Whether v is (or wraps) an unknown list that a later comparison may lengthen."""
    if isinstance(v, SymOpt):
        v = v.value
    return isinstance(v, SymList) and v.grow is not None


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


_MISSING = object()

"""The Z3 encoder of eig's read-only functions (calls, blocks, statements): guards and goals as formulas.

The evaluator walks the typed IR. A value is either concrete (plain JSON, as the runtime has
it) or symbolic: a z3 term for a scalar, or one of the lazy structures of symvalues.py for optionals,
records, unions, lists and maps, whose parts are created on first use. Worlds (worlds.py) decide what the
state looks like: fully symbolic (every table an unknown map, for questions about all states),
or a concrete environment in which some fields have been replaced by unknowns.

Functions are executed symbolically: `if` on a symbolic condition explores both branches and
merges the results; `fail` (and a missing key) adds to the condition under which evaluation
fails. Lists of unknown contents have at most LIST_BOUND elements. A construct the encoding
does not cover raises Unsupported, and callers report the analysis as unknown. The expressions
are encoded in encode_expressions.py, which the Encoder extends.
"""

from __future__ import annotations

from typing import Any, Callable

import z3

from .. import ir
from ..ir import AssignOperator, BinaryOperator as Op, Effect, Iteration, MutateMethod, PlaceRoot
from ..types import EnumType, ListType, MapType, OptionalType, Prim, RecordType, Type, TypeFold, UnionType
from ..runtime.environment import TableView
from .encode_expressions import BINARY, ExpressionEncoding
from .symvalues import (
    LIST_BOUND, OverriddenTable, SymList, SymMap, SymOpt, SymRecord, SymUnion, Unsupported, fresh_name, has_sym,
    is_sym, list_items, merge, to_bool, to_z3,
)
from .worlds import ConcreteWorld, SymbolicWorld, World  # noqa: F401 (ConcreteWorld: re-exported)


class Encoder(ExpressionEncoding):
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
        self.fresh_values = _FreshValue(self)
        self.world: World = world_factory(self) if world_factory else SymbolicWorld(self)

    # ------------------------------------------------------------ fresh values of a type
    def fresh(self, t: Type, hint: str, table: bool = False):
        """An unknown value of type `t`, named after `hint` (None for a type with one value, none)."""
        return self.fresh_values.fold(t, hint)

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
        if fn.effect == Effect.WRITES:
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

    STATEMENTS: dict[type, str]  # IR class -> its encoding's name (filled, and checked complete, below the class)

    def stmt(self, s, slots, pc):
        """The paths after statement `s`: [(path condition, "return" | "fail" | None, value, slots)]."""
        with self.under(pc):
            return getattr(self, self.STATEMENTS[type(s)])(s, slots, pc)

    def s_Let(self, s: ir.Let, slots, pc):
        slots = list(slots)
        slots[s.slot] = self.expr(s.value, slots)
        return [(pc, None, None, slots)]

    def s_Return(self, s: ir.Return, slots, pc):
        return [(pc, "return", None if s.value is None else self.expr(s.value, slots), slots)]

    def s_Fail(self, s: ir.Fail, slots, pc):
        return [(pc, "fail", None, slots)]

    def s_Eval(self, s: ir.Eval, slots, pc):
        self.expr(s.expr, slots)
        return [(pc, None, None, slots)]

    def s_If(self, s: ir.If, slots, pc):
        c = self.expr(s.cond, slots)
        if not is_sym(c):
            out = self.block(s.then if c else s.else_, slots, pc)
            return [(p, None if k == "fall" else k, v, sl) for p, k, v, sl in out]
        c = to_bool(c)
        out = self.block(s.then, list(slots), z3.And(pc, c))
        out += self.block(s.else_, list(slots), z3.And(pc, z3.Not(c)))
        return [(p, None if k == "fall" else k, v, sl) for p, k, v, sl in out]

    def s_For(self, s: ir.For, slots, pc):
        container = self.expr(s.iter, slots)
        pairs = s.mode == Iteration.ITEMS
        if pairs:
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
                if pairs:
                    inner[s.slot], inner[s.slot2] = item
                else:
                    inner[s.slot] = item
                here = p if present is True else z3.And(p, to_bool(present))
                new.extend((q, None if k == "fall" else k, v, x) for q, k, v, x in self.block(s.body, inner, here))
                if present is not True:  # the list ended before this element
                    new.append((z3.And(p, z3.Not(to_bool(present))), None, None, sl))
            paths = self.join(new)
        return paths

    def s_Assign(self, s: ir.Assign, slots, pc):
        if s.target.root != PlaceRoot.LOCAL or s.target.steps:
            raise Unsupported("a write to state or into a value", s.span)
        slots = list(slots)
        value = self.expr(s.value, slots)
        old = slots[s.target.slot]
        if s.op != AssignOperator.SET:
            op = {AssignOperator.ADD: Op.ADD, AssignOperator.SUB: Op.SUB}[s.op]
            if not is_sym(old) and not is_sym(value):
                value = BINARY[op](old, value)
            elif op == Op.ADD and isinstance(to_z3(old), z3.SeqRef):
                value = z3.Concat(to_z3(old), to_z3(value))
            else:
                value = self.arith(op, old, value, s.span)
        slots[s.target.slot] = value
        return [(pc, None, None, slots)]

    def s_Mutate(self, s: ir.Mutate, slots, pc):
        if s.target.root != PlaceRoot.LOCAL or s.target.steps:
            raise Unsupported("an update of state or of a value's part", s.span)
        slots = list(slots)
        slots[s.target.slot] = self.mutated(s, slots[s.target.slot], [self.expr(a, slots) for a in s.args])
        return [(pc, None, None, slots)]

    def mutated(self, s: ir.Mutate, old, args):
        """A local list or map after append, extend, insert, remove_at, remove or clear."""
        if s.method == MutateMethod.CLEAR:
            return [] if isinstance(old, list) else {}
        if isinstance(old, list) and s.method in (MutateMethod.APPEND, MutateMethod.EXTEND):
            if s.method == MutateMethod.APPEND:
                return old + [args[0]]
            items = list_items(args[0])
            if all(p is True for p, _ in items):
                return old + [x for _, x in items]
        elif isinstance(old, list) and not has_sym(args[0]) and s.method in (MutateMethod.INSERT, MutateMethod.REMOVE_AT, MutateMethod.REMOVE):
            new = list(old)
            if s.method == MutateMethod.INSERT:
                new.insert(args[0], args[1])
                return new
            if s.method == MutateMethod.REMOVE_AT and -len(new) <= args[0] < len(new):
                new.pop(args[0])
                return new
            if s.method == MutateMethod.REMOVE and not has_sym(old):
                if args[0] in new:
                    new.remove(args[0])
                else:
                    self.fail_if(True)
                return new
            if s.method == MutateMethod.REMOVE_AT:
                self.fail_if(True)
                return new
        elif isinstance(old, dict) and s.method == MutateMethod.REMOVE and not is_sym(args[0]):
            if args[0] not in old:
                self.fail_if(True)
                return old
            return {k: v for k, v in old.items() if k != args[0]}
        raise Unsupported(f"{s.method} on an unknown collection", s.span)


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


Encoder.EXPRESSIONS = ir.handlers(Encoder, "e_", ir.Expr)
Encoder.STATEMENTS = ir.handlers(Encoder, "s_", ir.Stmt)


class _FreshValue(TypeFold[Any]):
    """Unknown values by cases over the type: z3 constants for scalars, lazy structures otherwise."""

    def __init__(self, enc: Encoder):
        self.enc = enc

    def on_prim(self, t: Prim, hint: str):
        make = _PRIM_CONSTANTS.get(t.name)
        return make(fresh_name(hint)) if make is not None else None

    def on_enum(self, t: EnumType, hint: str):
        v = z3.String(fresh_name(hint))
        self.enc.axioms.append(z3.Or([v == z3.StringVal(x) for x in self.enc.enums[t.name].values]))
        return v

    def on_optional(self, t: OptionalType, hint: str):
        return SymOpt(z3.Bool(fresh_name(hint + "?")), self.fold(t.inner, hint))

    def on_record(self, t: RecordType, hint: str):
        return SymRecord(self.enc, {f.name: f.type for f in self.enc.records[t.name].fields}, hint)

    def on_union(self, t: UnionType, hint: str):
        return SymUnion(self.enc, self.enc.unions[t.name], t.variants, hint)

    def on_list(self, t: ListType, hint: str):
        enc = self.enc
        enc.used_lists = True
        items: list = []

        def grow(i: int):
            p = z3.Bool(fresh_name(f"{hint}[{i}]?"))
            if items:
                enc.axioms.append(z3.Implies(p, to_bool(items[-1][0])))
            return p, self.fold(t.elem, f"{hint}[{i}]")

        lst = SymList(items, grow)
        lst.ensure(enc.list_bound)
        return lst

    def on_map(self, t: MapType, hint: str):
        return SymMap(self.enc, t.key, t.value, hint)

    def on_empty(self, t: Type, hint: str):
        raise Unsupported(f"unknown values of type {t}")

    on_error = on_empty


_PRIM_CONSTANTS = {"int": z3.Int, "float": z3.Real, "bool": z3.Bool, "str": z3.String, "date": z3.String,
                   "datetime": z3.String}  # none has one value: None

"""IR to Python closures, once per process; running them against a State.

Each expression becomes a function `(slots, ctx) -> value` and each statement a function that
returns None to go on or a `_Return` to stop. Values are JSON trees that are never mutated in
place: an update copies the path from the root to the changed spot (structural sharing), so a
failed call can simply drop its pending writes. Nothing here evaluates text.
"""

from __future__ import annotations

from typing import Any, Callable

from .. import ir
from ..ir import AssignOperator, Iteration, Quantifier, UnaryOperator, Unwrap
from ..builtins import BUILTINS, format_value
from ..errors import EigRuntimeError, ToolFailure
from ..types import FLOAT, ListType, MapType, UnionType
from .evaluation import (
    ASSIGNMENTS, BINARY, DIVISIONS, SHORT_CIRCUIT, Context, Fn, _describe_key, _reads, _Return, _set_path, _source_name,
)
from .mutations import MutationCompiler
from .store import MISSING, TableView


class Program(MutationCompiler):
    """All functions of a domain compiled to closures."""

    STATEMENTS: dict[type, str]  # IR class -> its compiler's name (filled, and checked complete, below the class)
    EXPRESSIONS: dict[type, str]

    def __init__(self, domain: ir.Domain):
        self.domain = domain
        self.unions = {u.name: u for u in domain.unions}
        self.records = {r.name: r for r in domain.records}
        self.state_kinds = {}
        for sf in domain.state:
            t = sf.type
            self.state_kinds[sf.name] = "map" if isinstance(t, MapType) else "list" if isinstance(t, ListType) else "row"
        # Known before any body is compiled: reads of these record roots compute derived fields.
        self.derived_roots = {d.root for d in domain.derives}
        self.functions: dict[str, Callable] = {}
        self.bodies: dict[str, tuple[Callable, int]] = {}  # fn name -> (body, slots): calls between fns
        for f in domain.functions:
            self.functions[f.name] = self.function(f, fn=True)
        self.derives: dict[str, list[tuple[tuple[str, ...], Callable]]] = {}
        for d in domain.derives:
            self.derives.setdefault(d.root, []).append((d.path, self.function(d.function)))
        # A root's derived fields are kept with the state until a write to a root they read
        # (the roots their code reads, through the functions it calls, and the record itself),
        # unless computing them reads a task fact: then they depend on more than the state and
        # are computed on every read.
        bodies = self.fn_bodies = {f.name: f.body for f in domain.functions}
        self.derive_deps: dict[str, frozenset] = {}
        for root in self.derived_roots:
            reads: set[str] = {root}
            if not any(_reads(d.function.body, bodies, set(), reads) for d in domain.derives if d.root == root):
                self.derive_deps[root] = frozenset(reads)

    def result_deps(self, f: ir.Function) -> frozenset | None:
        """The state roots a read-only function's result follows from (with its arguments), or
        None when it depends on more: it writes, reads a task fact, or reads a derived value
        that does."""
        if f.effect != ir.Effect.READS:
            return None
        reads: set[str] = set()
        if _reads(f.body, self.fn_bodies, set(), reads):
            return None
        for root in list(reads):
            if root in self.derived_roots:
                deps = self.derive_deps.get(root)
                if deps is None:
                    return None
                reads |= deps
        return frozenset(reads)

    # ------------------------------------------------------------ functions
    def function(self, f: ir.Function, fn: bool = False) -> Callable[[Context, list], Any]:
        body = self.block(f.body)
        nslots = max(f.nslots, len(f.params))
        if fn:
            self.bodies[f.name] = (body, nslots)

        def run(ctx: Context, args: list):
            slots = list(args) + [None] * (nslots - len(args))
            result = body(slots, ctx)
            return result.value if result is not None else None

        run.__name__ = f"eig_{f.kind}_{f.name}"
        return run

    def block(self, stmts: tuple[ir.Stmt, ...]) -> Callable:
        compiled = [self.stmt(s) for s in stmts]
        if len(compiled) == 1:
            return compiled[0]

        def run_block(slots, ctx):
            for s in compiled:
                r = s(slots, ctx)
                if r is not None:
                    return r
            return None

        return run_block

    # ------------------------------------------------------------ statements
    def stmt(self, s: ir.Stmt) -> Callable:
        return getattr(self, self.STATEMENTS[type(s)])(s)

    def s_Let(self, s: ir.Let):
        value, slot = self.expr(s.value), s.slot

        def run(slots, ctx):
            slots[slot] = value(slots, ctx)

        return run

    def s_Assign(self, s: ir.Assign):
        value = self.expr(s.value)
        return self.place_update(s.target, value, ASSIGNMENTS[s.op], s.op == AssignOperator.SET)


    def s_If(self, s: ir.If):
        cond, then = self.expr(s.cond), self.block(s.then)
        else_ = self.block(s.else_) if s.else_ else None

        def run(slots, ctx):
            if cond(slots, ctx):
                return then(slots, ctx)
            if else_ is not None:
                return else_(slots, ctx)
            return None

        return run

    def s_For(self, s: ir.For):
        it, body, slot, slot2 = self.expr(s.iter), self.block(s.body), s.slot, s.slot2
        if s.mode == Iteration.ITEMS:
            def run_items(slots, ctx):
                for k, v in list(it(slots, ctx).items()):
                    slots[slot] = k
                    slots[slot2] = v
                    r = body(slots, ctx)
                    if r is not None:
                        return r
                return None

            return run_items

        def run(slots, ctx):
            for x in list(it(slots, ctx)):
                slots[slot] = x
                r = body(slots, ctx)
                if r is not None:
                    return r
            return None

        return run

    def s_Return(self, s: ir.Return):
        if s.value is None:
            return lambda slots, ctx: _Return(None)
        value = self.expr(s.value)
        return lambda slots, ctx: _Return(value(slots, ctx))

    def s_Fail(self, s: ir.Fail):
        message = self.expr(s.message)

        def run(slots, ctx):
            raise ToolFailure(format_value(message(slots, ctx)))

        return run

    def s_Eval(self, s: ir.Eval):
        value = self.expr(s.expr)

        def run(slots, ctx):
            value(slots, ctx)

        return run

    # ------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> Fn:
        return getattr(self, self.EXPRESSIONS[type(e)])(e)

    def e_Const(self, e: ir.Const):
        v = e.value
        return lambda slots, ctx: v

    def e_Local(self, e: ir.Local):
        slot = e.slot
        return lambda slots, ctx: slots[slot]

    def e_StateRoot(self, e: ir.StateRoot):
        name = e.name
        kind = self.state_kinds[name]
        if kind == "row":
            if name not in self.derived_roots:
                return lambda slots, ctx: ctx.state.record(name)

            def read_derived(slots, ctx):
                if ctx.deriving:
                    return ctx.state.record(name)
                return self.derived_record(ctx, name)

            return read_derived
        return lambda slots, ctx: TableView(ctx.state, name)

    def derived_record(self, ctx: Context, name: str) -> Any:
        """The record root `name` with its derived fields computed, once per state version."""
        state = ctx.state
        cached = state.derived.get(name)
        if cached is not None:
            return cached[0]
        value = self.apply_derives(ctx, name, state.record(name))
        deps = self.derive_deps.get(name)
        if deps is not None:
            state.derived[name] = (value, deps)
        return value

    def apply_derives(self, ctx: Context, name: str, value: Any) -> Any:
        derives = self.derives.get(name)
        if not derives:
            return value
        ctx.deriving = True
        try:
            for path, fn in derives:
                computed = fn(ctx, [])
                value = _set_path(value, path, computed)
        finally:
            ctx.deriving = False
        return value

    def e_Fact(self, e: ir.Fact):
        name = e.name
        return lambda slots, ctx: ctx.facts.get(name)

    def e_GetField(self, e: ir.GetField):
        name = e.name
        if isinstance(e.obj, ir.Local):  # `line.status`: no call for the local
            slot = e.obj.slot
            return lambda slots, ctx: slots[slot][name]
        obj = self.expr(e.obj)

        def run(slots, ctx):
            return obj(slots, ctx)[name]

        return run

    def e_GetIndex(self, e: ir.GetIndex):
        key = self.expr(e.key)
        t = e.obj.type
        if isinstance(e.obj, ir.StateRoot) and self.state_kinds[e.obj.name] != "row":
            name = e.obj.name
            is_list = self.state_kinds[name] == "list"

            def run_row(slots, ctx):
                k = key(slots, ctx)
                if is_list and isinstance(k, int) and k < 0:  # counting from the end, as for lists
                    k += ctx.state.length(name)
                value = ctx.state.row(name, k)
                if value is MISSING:
                    raise EigRuntimeError(f"{_describe_key(k)} is not in {name}")
                return value

            return run_row
        obj = self.expr(e.obj)
        what = _source_name(e.obj)
        if isinstance(t, MapType):
            def run_map(slots, ctx):
                k = key(slots, ctx)
                try:
                    return obj(slots, ctx)[k]
                except KeyError:
                    raise EigRuntimeError(f"{_describe_key(k)} is not a key of {what}") from None

            return run_map

        def run_seq(slots, ctx):
            k = key(slots, ctx)
            try:
                return obj(slots, ctx)[k]
            except IndexError:
                raise EigRuntimeError(f"index {k} is out of range for {what}") from None

        return run_seq

    def e_GetSlice(self, e: ir.GetSlice):
        obj = self.expr(e.obj)
        lo = self.expr(e.lo) if e.lo else (lambda slots, ctx: None)
        hi = self.expr(e.hi) if e.hi else (lambda slots, ctx: None)
        return lambda slots, ctx: obj(slots, ctx)[lo(slots, ctx):hi(slots, ctx)]

    def e_CallBuiltin(self, e: ir.CallBuiltin):
        impl = BUILTINS[e.name].impl
        args = [self.expr(a) for a in e.args]
        if len(args) == 1:
            a0 = args[0]
            return lambda slots, ctx: impl(a0(slots, ctx))
        if len(args) == 2:
            a0, a1 = args
            return lambda slots, ctx: impl(a0(slots, ctx), a1(slots, ctx))
        return lambda slots, ctx: impl(*[a(slots, ctx) for a in args])

    def e_CallFn(self, e: ir.CallFn):
        name = e.name
        args = [self.expr(a) for a in e.args]
        bodies, nargs = self.bodies, len(args)

        def run(slots, ctx):  # what the fn's own run does, without its frame and list copy
            body, nslots = bodies[name]
            own = [a(slots, ctx) for a in args]
            own += [None] * (nslots - nargs)
            result = body(own, ctx)
            return result.value if result is not None else None

        return run

    def e_Construct(self, e: ir.Construct):
        fields = [(name, self.expr(v)) for name, v in e.fields]
        if e.variant is not None:
            union = self.unions[e.record]
            tag_field, tag = union.tag_field, union.variant(e.variant).tag

            def run_variant(slots, ctx):
                out = {tag_field: tag}
                for name, f in fields:
                    out[name] = f(slots, ctx)
                return out

            return run_variant

        def run(slots, ctx):
            return {name: f(slots, ctx) for name, f in fields}

        return run

    def e_ListExpr(self, e: ir.ListExpr):
        items = [self.expr(i) for i in e.items]
        return lambda slots, ctx: [i(slots, ctx) for i in items]

    def e_MapExpr(self, e: ir.MapExpr):
        entries = [(self.expr(k), self.expr(v)) for k, v in e.entries]
        return lambda slots, ctx: {k(slots, ctx): v(slots, ctx) for k, v in entries}

    def e_UnaryOp(self, e: ir.UnaryOp):
        x = self.expr(e.operand)
        if e.op == UnaryOperator.NOT:
            return lambda slots, ctx: not x(slots, ctx)
        return lambda slots, ctx: -x(slots, ctx)

    def e_BinaryOp(self, e: ir.BinaryOp):
        op = e.op
        left, right = self.expr(e.left), self.expr(e.right)
        if op in SHORT_CIRCUIT:
            return SHORT_CIRCUIT[op](left, right)
        fn = BINARY[op]
        if op in DIVISIONS:
            def run_div(slots, ctx):
                a, b = left(slots, ctx), right(slots, ctx)
                try:
                    return fn(a, b)
                except ZeroDivisionError:
                    raise EigRuntimeError("division by zero") from None

            return run_div
        if isinstance(e.right, ir.Const):  # `x == "Active"`: no call for the constant
            c = e.right.value
            return lambda slots, ctx: fn(left(slots, ctx), c)
        return lambda slots, ctx: fn(left(slots, ctx), right(slots, ctx))

    def e_IsVariant(self, e: ir.IsVariant):
        obj = self.expr(e.obj)
        t = e.obj.type
        tag_field = self.unions[t.name].tag_field if isinstance(t, UnionType) else "?"
        tags = frozenset(e.tags)
        if e.negated:
            return lambda slots, ctx: obj(slots, ctx)[tag_field] not in tags
        return lambda slots, ctx: obj(slots, ctx)[tag_field] in tags

    def e_IfExpr(self, e: ir.IfExpr):
        cond, then, else_ = self.expr(e.cond), self.expr(e.then), self.expr(e.else_)
        return lambda slots, ctx: then(slots, ctx) if cond(slots, ctx) else else_(slots, ctx)

    def lookup_or(self, e: ir.Expr, mode: Unwrap) -> Fn:
        """Evaluate `e`, giving MISSING for a missing map key (LOOKUP) or none (OPTIONAL)."""
        if mode == Unwrap.LOOKUP and isinstance(e, ir.GetIndex):
            key = self.expr(e.key)
            if isinstance(e.obj, ir.StateRoot) and self.state_kinds[e.obj.name] != "row":
                name = e.obj.name
                return lambda slots, ctx: ctx.state.row(name, key(slots, ctx))
            obj = self.expr(e.obj)
            return lambda slots, ctx: obj(slots, ctx).get(key(slots, ctx), MISSING)
        inner = self.expr(e)

        def run(slots, ctx):
            v = inner(slots, ctx)
            return MISSING if v is None else v

        return run

    def e_Coalesce(self, e: ir.Coalesce):
        mode = Unwrap.LOOKUP if isinstance(e.left, ir.GetIndex) and isinstance(e.left.obj.type, MapType) else Unwrap.OPTIONAL
        left, right = self.lookup_or(e.left, mode), self.expr(e.right)

        def run(slots, ctx):
            v = left(slots, ctx)
            return right(slots, ctx) if v is MISSING else v

        return run

    def e_OrFail(self, e: ir.OrFail):
        message = self.expr(e.message)
        if e.mode == Unwrap.CHECK:
            cond = self.expr(e.expr)

            def run_check(slots, ctx):
                if not cond(slots, ctx):
                    raise ToolFailure(format_value(message(slots, ctx)))
                return True

            return run_check
        value = self.lookup_or(e.expr, e.mode)

        def run(slots, ctx):
            v = value(slots, ctx)
            if v is MISSING:
                raise ToolFailure(format_value(message(slots, ctx)))
            return v

        return run

    def indexed(self, iter_: ir.Expr, cond: ir.Expr | None, slot: int):
        """For `x in T: x.f == v` over a list table T, with v not reading x: (T, f, v's code),
        so the rows are looked up in the table's index rather than scanned; else None."""
        if not (isinstance(iter_, ir.StateRoot) and self.state_kinds.get(iter_.name) == "list"
                and isinstance(cond, ir.BinaryOp) and cond.op == ir.BinaryOperator.EQ):
            return None
        for row_side, value in ((cond.left, cond.right), (cond.right, cond.left)):
            if (isinstance(row_side, ir.GetField) and isinstance(row_side.obj, ir.Local) and row_side.obj.slot == slot
                    and not any(isinstance(x, ir.Local) and x.slot == slot for x in ir.walk_exprs(value))):
                return iter_.name, row_side.name, self.expr(value)
        return None

    def e_Comprehension(self, e: ir.Comprehension):
        it, elem, slot = self.expr(e.iter), self.expr(e.elem), e.slot
        cond = self.expr(e.cond) if e.cond is not None else None

        def run(slots, ctx):
            out = []
            for x in list(it(slots, ctx)):
                slots[slot] = x
                if cond is None or cond(slots, ctx):
                    out.append(elem(slots, ctx))
            return out

        probe = self.indexed(e.iter, e.cond, slot)
        if probe is None:
            return run

        def elements(rows, slots, ctx):
            out = []
            for x in rows:
                slots[slot] = x
                out.append(elem(slots, ctx))
            return out

        return _indexed(probe, elements, run)

    def e_Quantified(self, e: ir.Quantified):
        it, body, slot = self.expr(e.iter), self.expr(e.body), e.slot
        zero = 0.0 if e.type == FLOAT else 0  # a float sum of nothing is 0.0, as the type says
        scan = QUANTIFIERS[e.kind](it, body, slot, zero)
        probe = self.indexed(e.iter, e.body, slot) if e.kind in INDEXED else None
        if probe is None:
            return scan
        return _indexed(probe, INDEXED[e.kind], scan)

    def e_ToFloat(self, e: ir.ToFloat):
        x = self.expr(e.operand)

        def run(slots, ctx):
            v = x(slots, ctx)
            return None if v is None else float(v)

        return run

    def e_Format(self, e: ir.Format):
        parts = [p if isinstance(p, str) else self.expr(p) for p in e.parts]

        def run(slots, ctx):
            return "".join(p if isinstance(p, str) else format_value(p(slots, ctx)) for p in parts)

        return run


def _indexed(probe, answer, scan):
    """`x in T: x.f == v` answered from the rows of T's index under v; the scan where T cannot
    be indexed or v cannot be a key. An empty table is scanned (v is not computed), as before,
    so a v that would fail fails only where the scan would have computed it."""
    name, field, value = probe

    def run(slots, ctx):
        state = ctx.state
        index = state.index(name, field)
        if index is None or not state.length(name):
            return scan(slots, ctx)
        v = value(slots, ctx)
        if isinstance(v, float) and v != v:  # NaN equals nothing, but a key lookup finds the same object
            return scan(slots, ctx)
        try:
            rows = index.get(v, ())
        except TypeError:  # a list or map: not a key; the scan compares it
            return scan(slots, ctx)
        return answer(rows, slots, ctx)

    return run


INDEXED = {
    Quantifier.FIND: lambda rows, slots, ctx: rows[0] if rows else None,
    Quantifier.ANY: lambda rows, slots, ctx: bool(rows),
    Quantifier.COUNT: lambda rows, slots, ctx: len(rows),
}


def _any(it, body, slot, zero):
    def run(slots, ctx):
        for x in list(it(slots, ctx)):
            slots[slot] = x
            if body(slots, ctx):
                return True
        return False

    return run


def _all(it, body, slot, zero):
    def run(slots, ctx):
        for x in list(it(slots, ctx)):
            slots[slot] = x
            if not body(slots, ctx):
                return False
        return True

    return run


def _find(it, body, slot, zero):
    def run(slots, ctx):
        for x in list(it(slots, ctx)):
            slots[slot] = x
            if body(slots, ctx):
                return x
        return None

    return run


def _count(it, body, slot, zero):
    def run(slots, ctx):
        n = 0
        for x in list(it(slots, ctx)):
            slots[slot] = x
            if body(slots, ctx):
                n += 1
        return n

    return run


def _sum(it, body, slot, zero):
    def run(slots, ctx):
        total = zero
        for x in list(it(slots, ctx)):
            slots[slot] = x
            total = total + body(slots, ctx)
        return total

    return run


# Each quantifier's loop, chosen when the expression is compiled (nothing is dispatched per run).
QUANTIFIERS: dict[Quantifier, Callable] = {
    Quantifier.ANY: _any, Quantifier.ALL: _all, Quantifier.FIND: _find, Quantifier.COUNT: _count, Quantifier.SUM: _sum,
}
Program.STATEMENTS = ir.handlers(Program, "s_", ir.Stmt)
Program.EXPRESSIONS = ir.handlers(Program, "e_", ir.Expr)

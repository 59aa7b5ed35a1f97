"""Bodies, statements: blocks, bindings, assignments, control flow and in-place updates."""

from __future__ import annotations

from .. import ir
from ..ir import AssignOperator, Iteration, MutateMethod, PlaceRoot, Unwrap
from ..syntax import ast
from ..syntax.spans import Span
from .context import MUTATORS, RESERVED_NAMES, Body, Context, Var
from ..types import (
    ERROR, FLOAT, INT, NONE, STR, AnyElem, ListType, MapType, is_error, is_numeric, is_stringlike,
)


class StatementsPass(Context):
    """Gives each local a slot, ends narrowings at assignments, narrows after `if c { fail }`, and
    warns about unreachable statements."""

    def block(self, block: ast.Block, body: Body) -> tuple[ir.Stmt, ...]:
        depth = len(body.scopes)
        body.scopes.append({})
        out = []
        for s in block.stmts:
            if out and always_exits(out):
                self.sink.warning("this statement is never reached", s.span, code="W002")
            out.extend(self.stmt(s, body))
        del body.scopes[depth:]
        return tuple(out)

    def stmt(self, s: ast.Stmt, body: Body) -> list[ir.Stmt]:
        handler = STATEMENTS.get(type(s))
        if handler is None:
            raise NotImplementedError(f"the checker has no handler for {type(s).__name__}")
        return [handler(self, s, body)]

    def fail_stmt(self, s: ast.Fail, body: Body) -> ir.Fail:
        return ir.Fail(s.span, self.message(s.message, body))

    def let(self, s: ast.Let, body: Body) -> ir.Let:
        declared = self.resolve_type(s.type) if s.type else None
        value = self.expr(s.value, body, declared)
        if declared is not None:
            value = self.coerce(value, declared, s.value.span)
        t = declared or value.type
        if t == NONE:
            self.sink.error(f"cannot infer the type of `{s.name}` from `none`; write `let {s.name}: T? = none`", s.span, code="E060")
            t = ERROR
        if isinstance(t, ListType) and isinstance(t.elem, AnyElem) or isinstance(t, MapType) and isinstance(t.value, AnyElem):
            self.sink.error(f"cannot infer the element type of `{s.name}`; write e.g. `let {s.name}: list<T> = []`", s.span, code="E061")
            t = ERROR
        self.check_new_name(s.name, s.span, body)
        var = body.declare(s.name, t, s.span)
        return ir.Let(s.span, var.slot, s.name, value)

    def check_new_name(self, name: str, span: Span, body: Body) -> None:
        existing = body.lookup(name)
        if existing is not None:
            self.sink.error(f"'{name}' is already defined in this body (line {existing.span.line}); assign to it with `{name} = ...`", span, code="E062")
        elif name in self.state or name in self.consts or name in RESERVED_NAMES:
            self.sink.error(f"'{name}' would hide the {'state' if name in self.state else 'name'} '{name}'; pick another name", span, code="E063")

    def assign(self, s: ast.Assign, body: Body) -> ir.Assign:
        place = self.place(s.target, body)
        value = self.expr(s.value, body, place.type)
        op = AssignOperator(s.op)
        if op == AssignOperator.SET:
            value = self.coerce(value, place.type, s.value.span)
        else:
            pt = place.type
            if is_numeric(pt) or is_error(pt):
                if not (is_numeric(value.type) or is_error(value.type)):
                    self.sink.error(f"`{op}` needs a number, got {value.type}", s.value.span, code="E064")
                elif pt == INT and value.type == FLOAT:
                    self.sink.error("adding a float to an int place would change its type; convert with int() or round()", s.value.span, code="E065")
                elif pt == FLOAT:
                    value = self.coerce(value, FLOAT, s.value.span)
            elif pt == STR and op == AssignOperator.ADD:
                value = self.coerce(value, STR, s.value.span)
            else:
                self.sink.error(f"`{op}` works on numbers (and `+=` on strings), not {pt}", s.target.span, code="E066")
        if place.root == PlaceRoot.LOCAL:
            var = body.lookup(place.name)
            if var is not None and not place.steps:
                # The variable now holds the assigned value: narrowings of the old value end here.
                body.scopes[-1][place.name] = Var(var.slot, var.declared, var.declared, var.span)
        return ir.Assign(s.span, place, op, value)

    def if_stmt(self, s: ast.If, body: Body) -> ir.If:
        cond = self.condition(s.cond, body)
        pos, neg = self.facts_of(cond)
        body.narrow(pos)
        then = self.block(s.then, body)
        body.scopes.pop()
        body.narrow(neg)
        if isinstance(s.else_, ast.If):
            else_: tuple = (self.if_stmt(s.else_, body),)
        elif isinstance(s.else_, ast.Block):
            else_ = self.block(s.else_, body)
        else:
            else_ = ()
        body.scopes.pop()
        # Flow narrowing: after `if c { fail }`, the rest of the block knows `not c`.
        if always_exits(then) and not always_exits(else_):
            body.narrow(neg)
        elif else_ and always_exits(else_) and not always_exits(then):
            body.narrow(pos)
        return ir.If(s.span, cond, then, else_)

    def for_stmt(self, s: ast.For, body: Body) -> ir.For:
        it = self.expr(s.iter, body)
        t = it.type
        body.scopes.append({})
        if isinstance(t, ListType):
            if s.var2 is not None:
                self.sink.error("`for a, b in xs` iterates a map; a list gives one value per step", s.span, code="E067")
            mode, types = Iteration.LIST, [t.elem]
        elif isinstance(t, MapType):
            if s.var2 is None:
                self.sink.error("iterate a map with `for key, value in m`, or use keys(m) / values(m)", s.iter.span, code="E068")
            mode, types = Iteration.ITEMS, [t.key, t.value]
        else:
            if not is_error(t):
                self.sink.error(f"cannot iterate over {t}; `for` takes a list or a map", s.iter.span, code="E069")
            mode, types = Iteration.LIST, [ERROR, ERROR]
        names = [s.var] + ([s.var2] if s.var2 else [])
        slots = []
        for name, vt in zip(names, types + [ERROR]):
            self.check_new_name(name, s.span, body)
            slots.append(body.declare(name, vt, s.span).slot)
        stmts = self.block(s.body, body)
        body.scopes.pop()
        return ir.For(s.span, slots[0], slots[1] if len(slots) > 1 and mode == Iteration.ITEMS else None, it, stmts, mode)

    def return_stmt(self, s: ast.Return, body: Body) -> ir.Return:
        if body.ret is None:
            value = self.expr(s.value, body)
            if value.type != NONE and not is_error(value.type):
                self.sink.error(f"{body.kind} '{body.name}' declares no result type; add `-> {value.type}` or `return none`", s.value.span, code="E070")
            return ir.Return(s.span, None)
        value = self.coerce(self.expr(s.value, body, body.ret), body.ret, s.value.span)
        return ir.Return(s.span, value)

    def message(self, e: ast.Expr, body: Body) -> ir.Expr:
        m = self.expr(e, body, STR)
        if not (is_stringlike(m.type) or is_error(m.type)):
            self.sink.error(f"a failure message must be a string, got {m.type}", e.span, code="E071")
        return m

    def expr_stmt(self, s: ast.ExprStmt, body: Body) -> ir.Stmt:
        e = s.expr
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and self.is_place_expr(e.func.obj, body):
            mutate = self.try_mutate(e, body)
            if mutate is not None:
                return mutate
        x = self.expr(e, body)
        if isinstance(x, ir.OrFail):
            if x.mode == Unwrap.CHECK:
                pos, _ = self.facts_of(x.expr)
                body.narrow(pos)
            return ir.Eval(s.span, x)
        if isinstance(x, ir.CallFn) or is_error(x.type):
            return ir.Eval(s.span, x)
        self.sink.error("this expression does nothing; did you mean an assignment, a call, or `cond or fail \"...\"`?", s.span, code="E072")
        return ir.Eval(s.span, x)

    def is_place_expr(self, e: ast.Expr, body: Body) -> bool:
        while isinstance(e, (ast.Attribute, ast.Index)):
            e = e.obj
        return isinstance(e, ast.Name) and (body.lookup(e.id) is not None or e.id in self.state or e.id == "state")

    def try_mutate(self, e: ast.Call, body: Body) -> ir.Mutate | None:
        method = e.func.name
        place = self.place(e.func.obj, body, quiet=True)
        if place is None:
            return None
        t = place.type
        kind = "list" if isinstance(t, ListType) else "map" if isinstance(t, MapType) else None
        if kind is None or method not in MUTATORS[kind]:
            if method in MUTATORS["list"] or method in MUTATORS["map"]:
                what = kind or str(t)
                self.sink.error(f"'{method}' is not an update of {what}", e.func.name_span, code="E073")
                return ir.Mutate(e.span, place, MutateMethod(method), ())
            return None
        place = self.place(e.func.obj, body, whole_table=True)  # now report problems with the place itself
        if any(a.name for a in e.args):
            self.sink.error(f"'{method}' takes positional arguments", e.span, code="E074")
        want = MUTATORS[kind][method]
        if len(e.args) != want:
            self.sink.error(f"'{method}' takes {want} argument(s), got {len(e.args)}", e.span, code="E075")
            return ir.Mutate(e.span, place, MutateMethod(method), ())
        args = []
        if kind == "list":
            elem = t.elem
            shapes = {"append": [elem], "extend": [t], "insert": [INT, elem], "remove": [elem], "remove_at": [INT], "clear": []}[method]
        else:
            shapes = {"remove": [t.key], "clear": []}[method]
        for a, want_t in zip(e.args, shapes):
            args.append(self.coerce(self.expr(a.value, body, want_t), want_t, a.value.span))
        return ir.Mutate(e.span, place, MutateMethod(method), tuple(args))


def always_exits(stmts) -> bool:
    """Whether control can never fall off the end of these statements."""
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (ir.Return, ir.Fail)):
        return True
    if isinstance(last, ir.If):
        return always_exits(last.then) and always_exits(last.else_)
    return any(isinstance(s, (ir.Return, ir.Fail)) for s in stmts)


# One handler per statement class; tests/test_dispatch.py checks that none is missing.
STATEMENTS = {
    ast.Let: StatementsPass.let,
    ast.Assign: StatementsPass.assign,
    ast.If: StatementsPass.if_stmt,
    ast.For: StatementsPass.for_stmt,
    ast.Return: StatementsPass.return_stmt,
    ast.Fail: StatementsPass.fail_stmt,
    ast.ExprStmt: StatementsPass.expr_stmt,
}

"""Bodies, expressions: each AST expression to a typed IR expression, through one dispatch table."""

from __future__ import annotations

from .. import ir
from ..ir import BinaryOperator, Effect, FunctionKind, Quantifier, UnaryOperator, Unwrap
from ..builtins import BUILTINS
from ..syntax import ast
from ..syntax.spans import Span
from .calls import CallsPass
from .context import Body, Context, StateOnly, Var, suggest
from .relations import comparable
from ..types import (
    BOOL, DATE, DATETIME, ERROR, FLOAT, INT, NONE, STR, AnyElem, EnumType, ListType, MapType,
    OptionalType, RecordType, Type, UnionType, is_error, is_numeric, is_stringlike, optional,
    strip_optional,
)


class ExpressionsPass(Context):
    """Every IR expression it returns carries its type (ERROR after a reported mistake, so one
    mistake gives one diagnostic)."""

    def expr(self, e: ast.Expr, body: Body, expected: Type | None = None) -> ir.Expr:
        handler = EXPRESSIONS.get(type(e))
        if handler is None:
            raise NotImplementedError(f"the checker has no handler for {type(e).__name__}")
        return handler(self, e, body, expected)

    def e_Literal(self, e: ast.Literal, body, expected):
        want = strip_optional(expected) if expected is not None else None
        if e.kind == "none":
            return ir.Const(expected if isinstance(expected, OptionalType) else NONE, e.span, None)
        if e.kind == "str" and isinstance(want, EnumType):
            return self.coerce(ir.Const(STR, e.span, e.value), want, e.span)
        if e.kind == "int" and want == FLOAT:
            return ir.Const(FLOAT, e.span, float(e.value))
        t = {"int": INT, "float": FLOAT, "str": STR, "bool": BOOL, "date": DATE, "datetime": DATETIME}[e.kind]
        return ir.Const(t, e.span, e.value)

    def e_Interpolation(self, e: ast.Interpolation, body, expected):
        parts = []
        for p in e.parts:
            parts.append(p if isinstance(p, str) else self.expr(p, body))
        return ir.Format(STR, e.span, tuple(parts))

    def e_Name(self, e: ast.Name, body, expected):
        var = body.lookup(e.id)
        if var is not None:
            return ir.Local(var.current, e.span, var.slot, e.id)
        if e.id in self.consts:
            c = self.consts[e.id]
            return ir.Const(c.type, e.span, c.value)
        if e.id in self.state:
            sf = self.state[e.id]
            if body.kind == FunctionKind.CONST:
                self.sink.error("a constant cannot read state", e.span, code="E100")
            elif body.effect == Effect.PURE:
                self.require_effect(body, Effect.READS, f"read state '{e.id}'", e.span)
            return ir.StateRoot(sf.type, e.span, sf.side, e.id)
        if e.id == "now":
            return ir.Const(DATETIME, e.span, self.now)
        if e.id == "fact":
            self.sink.error("read a fact as `fact.NAME`", e.span, code="E101")
            return ir.Const(ERROR, e.span, None)
        if e.id in self.type_decls:
            self.sink.error(f"'{e.id}' is a type, not a value" + (f" (construct it with named fields: `{e.id}(field: value, ...)`)" if e.id in self.records else ""), e.span, code="E102")
            return ir.Const(ERROR, e.span, None)
        if e.id in self.fn_decls or e.id in BUILTINS:
            self.sink.error(f"'{e.id}' is a function; call it with `{e.id}(...)`", e.span, code="E103")
            return ir.Const(ERROR, e.span, None)
        if any(k[1] == e.id for k in self.tool_decls):
            self.sink.error(f"'{e.id}' is a tool; tools are called by agents, not by code (move shared logic into a `fn`)", e.span, code="E104")
            return ir.Const(ERROR, e.span, None)
        self.sink.error(f"unknown name '{e.id}'{suggest(e.id, self.visible_names(body))}", e.span, code="E105")
        return ir.Const(ERROR, e.span, None)

    def visible_names(self, body: Body) -> list[str]:
        names = [n for scope in body.scopes for n in scope]
        return names + list(self.state) + list(self.consts) + ["now"]

    def e_Attribute(self, e: ast.Attribute, body, expected):
        if isinstance(e.obj, ast.Name) and body.lookup(e.obj.id) is None:
            name = e.obj.id
            if name == "state":
                if e.name not in self.state:
                    self.sink.error(f"unknown state '{e.name}'{suggest(e.name, list(self.state))}", e.name_span, code="E106")
                    return ir.Const(ERROR, e.span, None)
                return self.e_Name(ast.Name(e.span, e.name), StateOnly(body), expected)
            if name == "fact":
                f = self.facts.get(e.name)
                if f is None:
                    self.sink.error(f"unknown fact '{e.name}'{suggest(e.name, list(self.facts))} (declare it in `facts {{ ... }}`)", e.name_span, code="E107")
                    return ir.Const(ERROR, e.span, None)
                return ir.Fact(optional(f.type), e.span, e.name)
            if name in self.enums:
                enum = self.enums[name]
                for mname, value in enum.members:
                    if mname == e.name:
                        return ir.Const(EnumType(name), e.span, value)
                self.sink.error(f"enum {name} has no member '{e.name}'{suggest(e.name, [m for m, _ in enum.members])}", e.name_span, code="E108")
                return ir.Const(ERROR, e.span, None)
            if name in self.unions:
                self.sink.error(f"construct a variant with fields: `{name}.{e.name}(field: value, ...)`", e.span, code="E109")
                return ir.Const(ERROR, e.span, None)
        obj = self.expr(e.obj, body)
        t = self.field_type(obj.type, e.name, e.name_span)
        if t is None:
            return ir.GetField(ERROR, e.span, obj, e.name)
        return ir.GetField(t, e.span, obj, e.name)

    def e_Index(self, e: ast.Index, body, expected):
        obj = self.expr(e.obj, body)
        t = obj.type
        if isinstance(t, ListType):
            key = self.coerce(self.expr(e.key, body, INT), INT, e.key.span)
            return ir.GetIndex(t.elem, e.span, obj, key)
        if isinstance(t, MapType):
            key = self.coerce(self.expr(e.key, body, t.key), t.key, e.key.span)
            return ir.GetIndex(t.value, e.span, obj, key)
        if t == STR:
            key = self.coerce(self.expr(e.key, body, INT), INT, e.key.span)
            return ir.GetIndex(STR, e.span, obj, key)
        if isinstance(t, OptionalType):
            self.sink.error(f"this value may be none ({t}); unwrap it before indexing", e.obj.span, code="E110")
        elif not is_error(t):
            self.sink.error(f"cannot index into {t}", e.span, code="E111")
        self.expr(e.key, body)
        return ir.GetIndex(ERROR, e.span, obj, ir.Const(ERROR, e.key.span, None))

    def e_Slice(self, e: ast.Slice, body, expected):
        obj = self.expr(e.obj, body)
        lo = self.coerce(self.expr(e.lo, body, INT), INT, e.lo.span) if e.lo else None
        hi = self.coerce(self.expr(e.hi, body, INT), INT, e.hi.span) if e.hi else None
        t = obj.type
        if not (t == STR or isinstance(t, ListType) or is_error(t)):
            self.sink.error(f"cannot slice {t}; slices work on str and lists", e.span, code="E112")
            t = ERROR
        return ir.GetSlice(t, e.span, obj, lo, hi)

    def e_Unary(self, e: ast.Unary, body, expected):
        if e.op == "not":
            x = self.condition(e.operand, body)
            return ir.UnaryOp(BOOL, e.span, UnaryOperator.NOT, x)
        x = self.expr(e.operand, body, expected)
        if not (is_numeric(x.type) or is_error(x.type)):
            self.sink.error(f"cannot negate {x.type}", e.span, code="E113")
            return ir.UnaryOp(ERROR, e.span, UnaryOperator.NEG, x)
        if isinstance(x, ir.Const):
            return ir.Const(x.type, e.span, -x.value)
        return ir.UnaryOp(x.type, e.span, UnaryOperator.NEG, x)

    def e_Binary(self, e: ast.Binary, body, expected):
        op = BinaryOperator(e.op)
        if op in ("and", "or"):
            left = self.condition(e.left, body)
            pos, neg = self.facts_of(left)
            body.narrow(pos if op == "and" else neg)
            right = self.condition(e.right, body)
            body.scopes.pop()
            return ir.BinaryOp(BOOL, e.span, op, left, right)
        if op in ("in", "not in"):
            return self.membership(e, body)
        left = self.expr(e.left, body)
        right = self.expr(e.right, body, left.type if op in ("==", "!=") else None)
        if op in ("==", "!=") and isinstance(left, ir.Const) and left.type == STR and isinstance(strip_optional(right.type), EnumType):
            left = self.expr(e.left, body, right.type)
        lt, rt = left.type, right.type
        if is_error(lt) or is_error(rt):
            return ir.BinaryOp(BOOL if op in ir.COMPARISONS else ERROR, e.span, op, left, right)
        if op in ("==", "!="):
            if not comparable(lt, rt):
                self.sink.error(f"cannot compare {lt} with {rt}", e.span, code="E114")
            if lt == INT and rt == FLOAT:
                left = self.coerce(left, FLOAT, e.left.span)
            return ir.BinaryOp(BOOL, e.span, op, left, right)
        if op in ("<", "<=", ">", ">="):
            if is_numeric(lt) and is_numeric(rt) or (lt == rt and is_stringlike(lt)) or (is_stringlike(lt) and is_stringlike(rt) and STR in (lt, rt)):
                return ir.BinaryOp(BOOL, e.span, op, left, right)
            self.sink.error(f"cannot order {lt} and {rt}", e.span, code="E115")
            return ir.BinaryOp(BOOL, e.span, op, left, right)
        # arithmetic
        if op == "+" and lt == STR and rt == STR:
            return ir.BinaryOp(STR, e.span, op, left, right)
        if op == "+" and is_stringlike(lt) and is_stringlike(rt):
            return ir.BinaryOp(STR, e.span, op, left, right)
        if op == "+" and isinstance(lt, ListType) and isinstance(rt, ListType):
            t = self.unify(lt, rt, e.span)
            return ir.BinaryOp(t, e.span, op, left, right)
        if is_numeric(lt) and is_numeric(rt):
            if op == "/":
                t = FLOAT
            else:
                t = FLOAT if FLOAT in (lt, rt) else INT
            return ir.BinaryOp(t, e.span, op, left, right)
        self.sink.error(f"cannot apply '{op}' to {lt} and {rt}", e.span, code="E116")
        return ir.BinaryOp(ERROR, e.span, op, left, right)

    def membership(self, e: ast.Binary, body) -> ir.Expr:
        if isinstance(e.right, ast.ListLit) and e.right.items:
            left = self.expr(e.left, body)
            elem = strip_optional(left.type)
            # The literal's items are coerced to the element type, so a mismatch is reported there.
            right = self.expr(e.right, body, ListType(elem) if not is_error(elem) else None)
            return ir.BinaryOp(BOOL, e.span, BinaryOperator(e.op), left, right)
        right = self.expr(e.right, body)
        rt = right.type
        if isinstance(rt, ListType):
            left = self.expr(e.left, body, rt.elem)
            if not (is_error(left.type) or comparable(left.type, rt.elem) or isinstance(rt.elem, AnyElem)):
                self.sink.error(f"cannot look for {left.type} in {rt}", e.span, code="E118")
        elif isinstance(rt, MapType):
            left = self.expr(e.left, body, rt.key)
            if not (is_error(left.type) or comparable(left.type, rt.key)):
                self.sink.error(f"keys of {rt} are {rt.key}, not {left.type}", e.span, code="E119")
        elif rt == STR or is_stringlike(rt):
            left = self.expr(e.left, body, STR)
            if not (is_stringlike(left.type) or is_error(left.type)):
                self.sink.error(f"`in` on a string looks for a substring, not {left.type}", e.span, code="E120")
        else:
            left = self.expr(e.left, body)
            if not is_error(rt):
                self.sink.error(f"`{e.op}` needs a list, map or string on the right, got {rt}", e.right.span, code="E121")
        return ir.BinaryOp(BOOL, e.span, BinaryOperator(e.op), left, right)

    def e_Is(self, e: ast.Is, body, expected):
        obj = self.expr(e.obj, body)
        t = obj.type
        if not isinstance(t, UnionType):
            if not is_error(t):
                self.sink.error(f"`is` tests the variant of a union value; this is {t}", e.obj.span, code="E122")
            return ir.IsVariant(BOOL, e.span, obj, (), e.negated)
        u = self.unions[t.name]
        v = u.variant(e.variant)
        if v is None:
            self.sink.error(f"{u.name} has no variant '{e.variant}'{suggest(e.variant, [x.name for x in u.variants])}", e.variant_span, code="E123")
            return ir.IsVariant(BOOL, e.span, obj, (), e.negated)
        return ir.IsVariant(BOOL, e.span, obj, (v.tag,), e.negated)

    def e_IfExpr(self, e: ast.IfExpr, body, expected):
        cond = self.condition(e.cond, body)
        pos, neg = self.facts_of(cond)
        body.narrow(pos)
        then = self.expr(e.then, body, expected)
        body.scopes.pop()
        body.narrow(neg)
        else_ = self.expr(e.else_, body, expected or then.type)
        body.scopes.pop()
        t = expected if expected is not None else self.unify(then.type, else_.type, e.span)
        return ir.IfExpr(t, e.span, cond, self.coerce(then, t, e.then.span), self.coerce(else_, t, e.else_.span))

    def unwrappable(self, x: ir.Expr) -> tuple[str, Type] | None:
        if isinstance(x, ir.GetIndex) and isinstance(x.obj.type, MapType):
            return Unwrap.LOOKUP, x.type
        if isinstance(x.type, OptionalType):
            return Unwrap.OPTIONAL, x.type.inner
        return None

    def e_Coalesce(self, e: ast.Coalesce, body, expected):
        left = self.expr(e.left, body, optional(expected) if expected else None)
        how = self.unwrappable(left)
        if how is None:
            if not is_error(left.type):
                self.sink.error(f"`??` gives a default for a map lookup or an optional value; this is {left.type}", e.left.span, code="E124")
            return ir.Coalesce(ERROR, e.span, left, self.expr(e.right, body))
        _, t = how
        right = self.coerce(self.expr(e.right, body, t), t, e.right.span)
        return ir.Coalesce(t, e.span, left, right)

    def e_OrFail(self, e: ast.OrFail, body, expected):
        x = self.expr(e.expr, body, optional(expected) if expected and expected != BOOL else None)
        msg = self.message(e.message, body)
        how = self.unwrappable(x)
        if how is not None:
            mode, t = how
            return ir.OrFail(t, e.span, x, msg, mode)
        if x.type == BOOL:
            return ir.OrFail(BOOL, e.span, x, msg, Unwrap.CHECK)
        if not is_error(x.type):
            self.sink.error(f"`or fail` needs a map lookup, an optional value or a condition; this is {x.type}", e.expr.span, code="E125")
        return ir.OrFail(ERROR, e.span, x, msg, Unwrap.CHECK)

    def e_ListLit(self, e: ast.ListLit, body, expected):
        want = expected.elem if isinstance(expected, ListType) else None
        items = [self.expr(i, body, want) for i in e.items]
        if want is None or isinstance(want, AnyElem):
            t: Type = AnyElem()
            for i in items:
                t = i.type if isinstance(t, AnyElem) else self.unify(t, i.type, i.span)
            want = t
        items = [self.coerce(i, want, i.span) for i in items]
        return ir.ListExpr(ListType(want), e.span, tuple(items))

    def e_MapLit(self, e: ast.MapLit, body, expected):
        target = strip_optional(expected) if expected is not None else None
        if isinstance(target, (RecordType, UnionType)):
            built = self.json_object(e, target, body)
            if built is not None:
                return built
        kt = expected.key if isinstance(expected, MapType) else None
        vt = expected.value if isinstance(expected, MapType) else None
        entries = []
        for k, v in e.entries:
            kx = self.expr(k, body, kt)
            vx = self.expr(v, body, vt)
            entries.append((kx, vx))
        if kt is None:
            kt = entries[0][0].type if entries else STR
            if not (kt == STR or isinstance(kt, EnumType) or is_error(kt)):
                self.sink.error(f"map keys must be str or an enum, not {kt}", e.span, code="E027")
        if vt is None:
            vt = AnyElem()
            for _, vx in entries:
                vt = vx.type if isinstance(vt, AnyElem) else self.unify(vt, vx.type, vx.span)
        entries = [(self.coerce(k, kt, k.span), self.coerce(v, vt, v.span)) for k, v in entries]
        return ir.MapExpr(MapType(kt, vt), e.span, tuple(entries))

    def iteration(self, iter_expr: ast.Expr, var: str, span: Span, body: Body) -> tuple[ir.Expr, Var]:
        it = self.expr(iter_expr, body)
        t = it.type
        if isinstance(t, ListType):
            elem = t.elem
        elif isinstance(t, MapType):
            self.sink.error("iterate keys(m) or values(m) here", iter_expr.span, code="E127")
            elem = ERROR
        else:
            if not is_error(t):
                self.sink.error(f"cannot iterate over {t}", iter_expr.span, code="E128")
            elem = ERROR
        body.scopes.append({})
        self.check_new_name(var, span, body)
        return it, body.declare(var, elem, span)

    def e_Comprehension(self, e: ast.Comprehension, body, expected):
        it, var = self.iteration(e.iter, e.var, e.span, body)
        cond = None
        if e.cond is not None:
            cond = self.condition(e.cond, body)
            body.narrow(self.facts_of(cond)[0])
        want = expected.elem if isinstance(expected, ListType) else None
        elem = self.expr(e.elem, body, want)
        if want is not None:
            elem = self.coerce(elem, want, e.elem.span)
        if e.cond is not None:
            body.scopes.pop()
        body.scopes.pop()
        return ir.Comprehension(ListType(elem.type), e.span, elem, var.slot, it, cond)

    def e_Quantified(self, e: ast.Quantified, body, expected):
        it, var = self.iteration(e.iter, e.var, e.span, body)
        if e.kind == "sum":
            x = self.expr(e.body, body)
            if not (is_numeric(x.type) or is_error(x.type)):
                self.sink.error(f"sum() adds numbers, not {x.type}", e.body.span, code="E129")
            t = x.type if is_numeric(x.type) else ERROR
        else:
            x = self.condition(e.body, body)
            t = {"any": BOOL, "all": BOOL, "count": INT, "find": optional(var.current)}[e.kind]
        body.scopes.pop()
        return ir.Quantified(t, e.span, Quantifier(e.kind), var.slot, it, x)


# One handler per expression class; tests/test_dispatch.py checks that none is missing.
EXPRESSIONS = {
    ast.Literal: ExpressionsPass.e_Literal,
    ast.Interpolation: ExpressionsPass.e_Interpolation,
    ast.Name: ExpressionsPass.e_Name,
    ast.Attribute: ExpressionsPass.e_Attribute,
    ast.Index: ExpressionsPass.e_Index,
    ast.Slice: ExpressionsPass.e_Slice,
    ast.Call: CallsPass.e_Call,
    ast.Unary: ExpressionsPass.e_Unary,
    ast.Binary: ExpressionsPass.e_Binary,
    ast.Is: ExpressionsPass.e_Is,
    ast.IfExpr: ExpressionsPass.e_IfExpr,
    ast.Coalesce: ExpressionsPass.e_Coalesce,
    ast.OrFail: ExpressionsPass.e_OrFail,
    ast.ListLit: ExpressionsPass.e_ListLit,
    ast.MapLit: ExpressionsPass.e_MapLit,
    ast.Comprehension: ExpressionsPass.e_Comprehension,
    ast.Quantified: ExpressionsPass.e_Quantified,
}

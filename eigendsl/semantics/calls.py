"""Bodies, calls: functions, built-ins, record and variant construction, and argument binding."""

from __future__ import annotations

from .. import ir
from ..ir import Effect, FunctionKind
from ..builtins import BUILTINS, BuiltinTypeError
from ..syntax import ast
from ..syntax.spans import Span
from .context import MUTATORS, Body, Context, suggest
from ..types import (
    ERROR, FLOAT, INT, NONE, AnyElem, ListType, OptionalType, RecordType, Type, UnionType,
)


class CallsPass(Context):
    """Binds arguments to parameters (defaults and optional nones made explicit) and records the
    call graph that the recursion check reads."""

    def e_Call(self, e: ast.Call, body, expected):
        f = e.func
        if isinstance(f, ast.Name) and body.lookup(f.id) is None:
            if f.id in self.records:
                return self.construct(e, self.records[f.id].name, None, self.records[f.id].fields, body)
            if f.id in self.fn_decls:
                return self.call_fn(e, f.id, body)
            if f.id in BUILTINS:
                return self.call_builtin(e, f.id, self.positional(e, body), body)
            if any(k[1] == f.id for k in self.tool_decls):
                self.sink.error(f"'{f.id}' is a tool; tools are called by agents, not by code (move shared logic into a `fn`)", f.span, code="E104")
                return ir.Const(ERROR, e.span, None)
            if f.id in self.unions:
                self.sink.error(f"name the variant: `{f.id}.VARIANT(...)`", f.span, code="E141")
                return ir.Const(ERROR, e.span, None)
            names = list(self.records) + list(self.fn_decls) + list(BUILTINS)
            self.sink.error(f"unknown function '{f.id}'{suggest(f.id, names)}", f.span, code="E142")
            self.positional(e, body)
            return ir.Const(ERROR, e.span, None)
        if isinstance(f, ast.Attribute):
            if isinstance(f.obj, ast.Name) and f.obj.id in self.unions and body.lookup(f.obj.id) is None:
                u = self.unions[f.obj.id]
                v = u.variant(f.name)
                if v is None:
                    self.sink.error(f"union {u.name} has no variant '{f.name}'{suggest(f.name, [x.name for x in u.variants])}", f.name_span, code="E143")
                    return ir.Const(ERROR, e.span, None)
                return self.construct(e, u.name, v.name, v.fields, body)
            if f.name in MUTATORS["list"] or f.name in MUTATORS["map"]:
                if f.name not in BUILTINS:
                    self.sink.error(f"'{f.name}' updates a collection in place; use it as a statement on a variable or state", f.name_span, code="E144")
                    return ir.Const(ERROR, e.span, None)
            if f.name in BUILTINS:
                receiver = self.expr(f.obj, body)
                return self.call_builtin(e, f.name, [receiver] + self.positional(e, body), body)
            self.sink.error(f"unknown method '{f.name}'{suggest(f.name, list(BUILTINS))}", f.name_span, code="E145")
            self.expr(f.obj, body)
            self.positional(e, body)
            return ir.Const(ERROR, e.span, None)
        self.sink.error("only named functions, records and variants can be called", f.span, code="E146")
        return ir.Const(ERROR, e.span, None)

    def positional(self, e: ast.Call, body) -> list[ir.Expr]:
        out = []
        for a in e.args:
            if a.name is not None:
                self.sink.error(f"built-in functions take positional arguments; drop '{a.name}:'", a.span, code="E147")
            out.append(self.expr(a.value, body))
        return out

    def call_builtin(self, e: ast.Call, name: str, args: list[ir.Expr], body) -> ir.Expr:
        b = BUILTINS[name]
        try:
            t = b.rule([a.type for a in args])
        except BuiltinTypeError as err:
            self.sink.error(f"{name}(): {err}  [{b.signature}]", e.span, code="E148")
            return ir.CallBuiltin(ERROR, e.span, name, tuple(args))
        coerced = []
        for a in args:
            if t == FLOAT and a.type == INT and name in ("min", "max"):
                a = self.coerce(a, FLOAT, a.span)
            coerced.append(a)
        if name in ("min", "max") and len(coerced) == 1 and isinstance(coerced[0].type, ListType) and isinstance(coerced[0].type.elem, AnyElem):
            self.sink.error(f"{name}() of an empty list", e.span, code="E149")
        return ir.CallBuiltin(t, e.span, name, tuple(coerced))

    def bind_args(self, e: ast.Call | ast.GoldCall, params: tuple[ir.ParamDef, ...], body, what: str) -> tuple[ir.Expr, ...]:
        by_name: dict[str, ir.Expr] = {}
        positional_done = False
        for i, a in enumerate(e.args):
            if a.name is None:
                if positional_done:
                    self.sink.error("positional arguments come before named ones", a.span, code="E150")
                    continue
                if i >= len(params):
                    self.sink.error(f"{what} takes {len(params)} argument(s)", a.span, code="E151")
                    self.expr(a.value, body)
                    continue
                p = params[i]
            else:
                positional_done = True
                p = next((p for p in params if p.name == a.name), None)
                if p is None:
                    self.sink.error(f"{what} has no parameter '{a.name}'{suggest(a.name, [p.name for p in params])}", a.span, code="E152")
                    self.expr(a.value, body)
                    continue
            if p.name in by_name:
                self.sink.error(f"argument '{p.name}' is given twice", a.span, code="E153")
                continue
            by_name[p.name] = self.coerce(self.expr(a.value, body, p.type), p.type, a.value.span)
        out = []
        for p in params:
            if p.name in by_name:
                out.append(by_name[p.name])
            elif p.has_default:
                out.append(ir.Const(p.type, e.span, p.default))
            elif isinstance(p.type, OptionalType):
                out.append(ir.Const(p.type, e.span, None))
            else:
                self.sink.error(f"{what} needs argument '{p.name}'", e.span, code="E154")
                out.append(ir.Const(ERROR, e.span, None))
        return tuple(out)

    def call_fn(self, e: ast.Call, name: str, body: Body) -> ir.Expr:
        if body.kind == FunctionKind.CONST:
            # Consts and defaults are checked before signatures, and are literals anyway.
            self.require_effect(body, Effect.READS, f"call fn '{name}'", e.span)
            return ir.Const(ERROR, e.span, None)
        params, ret, effect = self.fn_sigs[name]
        args = self.bind_args(e, params, body, f"fn {name}")
        if effect != Effect.PURE:
            self.require_effect(body, effect, f"call {effect} fn '{name}'", e.span)
        body.calls.add(name)
        if body.kind == FunctionKind.FN:
            self.call_graph.add_edge(body.name, name)
        return ir.CallFn(ret if ret is not None else NONE, e.span, name, args)

    def construct(self, e: ast.Call, record: str, variant: str | None, fields, body) -> ir.Expr:
        pairs = [(a.name, a.value, a.span) for a in e.args]
        return self.build_record(e.span, record, variant, fields, pairs, body)

    def build_record(self, span: Span, record: str, variant: str | None, fields, pairs, body) -> ir.Expr:
        """A record or variant from (field name, expression, span) pairs; defaults fill the rest."""
        what = f"{record}.{variant}" if variant else record
        given: dict[str, ir.Expr] = {}
        for name, value, at in pairs:
            if name is None:
                self.sink.error(f"name each field when constructing {what}: `{what}(field: value, ...)`", at, code="E155")
                self.expr(value, body)
                continue
            f = next((f for f in fields if f.name == name), None)
            if f is None:
                self.sink.error(f"{what} has no field '{name}'{suggest(name, [f.name for f in fields])}", at, code="E156")
                self.expr(value, body)
                continue
            if name in given:
                self.sink.error(f"field '{name}' is given twice", at, code="E157")
                continue
            given[name] = self.coerce(self.expr(value, body, f.type), f.type, value.span)
        out = []
        for f in fields:
            if f.name in given:
                out.append((f.name, given[f.name]))
            elif f.has_default:
                out.append((f.name, ir.Const(f.type, span, f.default)))
            elif isinstance(f.type, OptionalType):
                out.append((f.name, ir.Const(f.type, span, None)))
            else:
                self.sink.error(f"{what} needs field '{f.name}'", span, code="E158")
        t: Type = RecordType(record) if variant is None else UnionType(record, (variant,))
        return ir.Construct(t, span, record, variant, tuple(out))

    def json_object(self, e: ast.MapLit, target: Type, body) -> ir.Expr | None:
        """A `{"field": value}` literal where a record or union is expected: checked as a construction."""
        if not all(isinstance(k, ast.Literal) and k.kind == "str" for k, _ in e.entries):
            return None
        pairs = [(k.value, v, k.span) for k, v in e.entries]
        if isinstance(target, RecordType):
            return self.build_record(e.span, target.name, None, self.records[target.name].fields, pairs, body)
        u = self.unions[target.name]
        tag = next((v for k, v, _ in pairs if k == u.tag_field), None)
        if not (isinstance(tag, ast.Literal) and tag.kind == "str"):
            self.sink.error(f"a {u.name} object needs its tag '{u.tag_field}' as a string", e.span, code="E159")
            return ir.Const(ERROR, e.span, None)
        variant = u.variant(tag.value)
        if variant is None or variant.tag != tag.value or (target.variants and variant.name not in target.variants):
            self.sink.error(f"'{tag.value}' is not a variant tag of {u.name} ({', '.join(v.tag for v in u.variants)})", tag.span, code="E160")
            return ir.Const(ERROR, e.span, None)
        rest = [(k, v, at) for k, v, at in pairs if k != u.tag_field]
        return self.build_record(e.span, u.name, variant.name, variant.fields, rest, body)

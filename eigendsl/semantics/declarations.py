"""Pass 2, declarations: resolve type references, then the types, state, facts, consts and signatures."""

from __future__ import annotations

from typing import Iterable

import networkx as nx

from .. import ir
from ..ir import Effect, FunctionKind, Side
from ..syntax import ast
from .context import Body, Context, NOT_CONST, RESERVED_NAMES, RESERVED_PARAM_NAMES, first_cycle, suggest
from ..types import (
    ERROR, PRIMITIVES, STR, EnumType, ListType, MapType, OptionalType, Prim, RecordType, Type,
    UnionType, is_error, named_types, optional,
)


class DeclarationsPass(Context):
    """Establishes `enums`, `records`, `unions`, `state`, `facts`, `consts`, `fn_sigs` and `tool_params`:
    after it every name a body can mention has a resolved type."""

    def check_types(self, decls: list[ast.Decl]) -> None:
        for name, d in self.type_decls.items():
            if isinstance(d, ast.EnumDecl):
                members, seen = [], {}
                for m in d.members:
                    if m.name in seen or m.value in seen.values():
                        self.sink.error(f"enum member '{m.name}' is repeated", m.span, code="E020")
                        continue
                    seen[m.name] = m.value
                    members.append((m.name, m.value))
                if not members:
                    self.sink.error(f"enum '{name}' has no members", d.span, code="E021")
                self.enums[name] = ir.EnumDef(name, tuple(members), d.doc, d.span)
        for name, d in self.type_decls.items():
            if isinstance(d, ast.RecordDecl):
                self.records[name] = ir.RecordDef(name, self.field_defs(d.fields, f"record {name}"), d.doc, d.span, d.closed)
            elif isinstance(d, ast.UnionDecl):
                variants, seen = [], set()
                for v in d.variants:
                    if v.name in seen or v.tag in seen:
                        self.sink.error(f"variant '{v.name}' is repeated", v.span, code="E022")
                        continue
                    seen.update((v.name, v.tag))
                    fields = self.field_defs(v.fields, f"variant {name}.{v.name}")
                    for f in fields:
                        if f.name == d.tag_field:
                            self.sink.error(f"'{d.tag_field}' is the tag of union {name}; a variant cannot declare it", f.span, code="E023")
                    variants.append(ir.VariantDef(v.name, v.tag, tuple(f for f in fields if f.name != d.tag_field), v.span))
                if not variants:
                    self.sink.error(f"union '{name}' has no variants", d.span, code="E024")
                self.unions[name] = ir.UnionDef(name, d.tag_field, tuple(variants), d.doc, d.span)
        self.check_type_cycles()

    def field_defs(self, fields: Iterable[ast.Field], owner: str) -> tuple[ir.FieldDef, ...]:
        out, seen = [], {}
        for f in fields:
            if f.name in seen:
                self.sink.error(f"field '{f.name}' is declared twice in {owner}", f.span, ("first declared here", seen[f.name]), code="E025")
                continue
            seen[f.name] = f.span
            t = self.resolve_type(f.type)
            has_default, default = False, None
            if f.default is not None:
                has_default, default = True, self.constant(f.default, t)
            out.append(ir.FieldDef(f.name, t, default, has_default, f.doc, f.span))
        return tuple(out)

    def resolve_type(self, ref: ast.TypeRef) -> Type:
        t = self._resolve_type(ref)
        return optional(t) if ref.optional and not is_error(t) else t

    def _resolve_type(self, ref: ast.TypeRef) -> Type:
        name = ref.name
        if name in ("list", "map"):
            want = 1 if name == "list" else 2
            if len(ref.args) != want:
                self.sink.error(f"{name} takes {want} type argument(s), e.g. {'list<str>' if want == 1 else 'map<str, int>'}", ref.span, code="E026")
                return ERROR
            args = [self.resolve_type(a) for a in ref.args]
            if name == "list":
                return ListType(args[0])
            if not (args[0] == STR or isinstance(args[0], EnumType) or is_error(args[0])):
                self.sink.error(f"map keys must be str or an enum, not {args[0]}", ref.args[0].span, code="E027")
                return ERROR
            return MapType(args[0], args[1])
        if ref.args:
            self.sink.error(f"type '{name}' takes no type arguments", ref.span, code="E028")
            return ERROR
        d = self.type_decls.get(name)
        if ref.variant is not None and not isinstance(d, ast.UnionDecl):
            self.sink.error(f"'{name}' is not a union, so '{name}.{ref.variant}' is not a type", ref.span, code="E030")
            return ERROR
        if name in PRIMITIVES:
            return PRIMITIVES[name]
        if isinstance(d, ast.EnumDecl):
            return EnumType(name)
        if isinstance(d, ast.RecordDecl):
            return RecordType(name)
        if isinstance(d, ast.UnionDecl):
            if ref.variant is None:
                return UnionType(name)
            u = self.unions.get(name)
            v = u.variant(ref.variant) if u else None
            if v is None:
                self.sink.error(f"union {name} has no variant '{ref.variant}'", ref.span, code="E029")
                return ERROR
            return UnionType(name, (v.name,))
        self.sink.error(f"unknown type '{name}'{suggest(name, list(PRIMITIVES) + list(self.type_decls))}", ref.span, code="E031")
        return ERROR

    def check_type_cycles(self) -> None:
        graph = nx.DiGraph()

        def refs(t: Type) -> Iterable[str]:  # the records and unions a value of t contains (map keys are never one)
            return (n.name for n in named_types(t) if isinstance(n, (RecordType, UnionType)))

        for r in self.records.values():
            graph.add_node(r.name)
            for f in r.fields:
                for target in refs(f.type):
                    graph.add_edge(r.name, target)
        for u in self.unions.values():
            graph.add_node(u.name)
            for v in u.variants:
                for f in v.fields:
                    for target in refs(f.type):
                        graph.add_edge(u.name, target)
        cycle = first_cycle(graph)
        if cycle is not None:
            first = cycle[0]
            span = self.type_decls[first].span
            self.sink.error(f"recursive types are not allowed: {' -> '.join(cycle + [first])}", span, code="E032")

    def constant(self, e: ast.Expr, t: Type):
        """A literal default or const value as JSON, checked against t."""
        body = Body(FunctionKind.CONST, "const", Effect.PURE, Side.AGENT, None)
        x = self.coerce(self.expr(e, body, t), t, e.span)
        value = self.fold(x)
        if value is NOT_CONST:
            self.sink.error("a default or const must be a literal value", e.span, code="E033")
            return None
        return value

    def fold(self, x: ir.Expr):
        return ir.constant_value(x, self.unions)

    def check_state(self, decls: list[ast.Decl]) -> None:
        for d in decls:
            if isinstance(d, ast.StateDecl):
                for f in d.fields:
                    if f.name in self.state or f.name in RESERVED_NAMES:
                        self.sink.error(f"state '{f.name}' is declared twice" if f.name in self.state else f"'{f.name}' is reserved", f.span, code="E034" if f.name in self.state else "E041")
                        continue
                    if f.default is not None:
                        self.sink.error("state fields take their values from the domain's data, not defaults", f.default.span, code="E035")
                    t = self.resolve_type(f.type)
                    if isinstance(t, OptionalType) or (isinstance(t, Prim) and not is_error(t)):
                        self.sink.error("a state field is a table (map or list) or a record", f.type.span, code="E036")
                    self.state[f.name] = ir.StateField(Side(d.actor), f.name, t, f.doc, f.span)
            elif isinstance(d, ast.FactsDecl):
                for fd in self.field_defs(d.fields, "facts"):
                    if fd.name in self.facts:
                        self.sink.error(f"fact '{fd.name}' is declared twice", fd.span, code="E037")
                    self.facts[fd.name] = fd

    def check_consts(self, decls: list[ast.Decl]) -> None:
        for d in decls:
            if not isinstance(d, ast.ConstDecl):
                continue
            if d.name in self.consts or d.name in self.state or d.name in RESERVED_NAMES:
                self.sink.error(f"'{d.name}' is already defined", d.span, code="E038")
                continue
            t = self.resolve_type(d.type) if d.type else None
            body = Body(FunctionKind.CONST, d.name, Effect.PURE, Side.AGENT, None)
            x = self.expr(d.value, body, t)
            if t is not None:
                x = self.coerce(x, t, d.value.span)
            value = self.fold(x)
            if value is NOT_CONST:
                self.sink.error("a const must be a literal value (number, string, list or map of literals)", d.value.span, code="E039")
                continue
            self.consts[d.name] = ir.Const(x.type, d.span, value)

    def params(self, params: Iterable[ast.Param], owner: str) -> tuple[ir.ParamDef, ...]:
        out, seen = [], {}
        for p in params:
            if p.name in seen or p.name in RESERVED_PARAM_NAMES:
                self.sink.error(f"parameter '{p.name}' is declared twice in {owner}" if p.name in seen else f"'{p.name}' is reserved", p.span, code="E040" if p.name in seen else "E042")
                continue
            seen[p.name] = p.span
            t = self.resolve_type(p.type)
            has_default, default = False, None
            if p.default is not None:
                has_default, default = True, self.constant(p.default, t)
            out.append(ir.ParamDef(p.name, t, default, has_default, p.doc, p.span))
        return tuple(out)

    def check_signatures(self, decls: list[ast.Decl]) -> None:
        for name, d in self.fn_decls.items():
            ret = self.resolve_type(d.ret) if d.ret else None
            self.fn_sigs[name] = (self.params(d.params, f"fn {name}"), ret, Effect(d.effect))
            self.call_graph.add_node(name)
        for key, d in self.tool_decls.items():
            self.tool_params[key] = self.params(d.params, f"tool {d.name}")

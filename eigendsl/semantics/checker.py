"""Name resolution and type checking: AST in, typed IR out, every problem a diagnostic.

The checker runs in passes over the declarations (types, state, signatures, bodies) and keeps
going after an error, using ErrorType to avoid cascades, so one run reports everything it can.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from typing import Iterable

import networkx as nx

from .. import ir
from ..builtins import BUILTINS, BuiltinTypeError
from ..syntax import ast
from ..syntax.diagnostics import DiagnosticSink
from ..syntax.spans import Span
from .types import (
    BOOL, DATE, DATETIME, ERROR, FLOAT, INT, NONE, PRIMITIVES, STR, AnyElem, EnumType, ListType,
    MapType, OptionalType, Prim, RecordType, Type, UnionType, is_error, is_numeric, is_stringlike,
    optional, strip_optional,
)

MUTATORS = {
    "list": {"append": 1, "extend": 1, "insert": 2, "remove": 1, "remove_at": 1, "clear": 0},
    "map": {"remove": 1, "clear": 0},
}
KNOWN_SETTINGS = {"now", "data", "user_data", "intro", "arguments"}
RESERVED_NAMES = {"now", "fact", "state"}
# Parameters may be called `state` (tool parameters mirror outside APIs, e.g. an address's
# state); in such a body, `state.NAME` is that parameter's field and state is reached by name.
RESERVED_PARAM_NAMES = RESERVED_NAMES - {"state"}


@dataclass
class Var:
    slot: int
    declared: Type
    current: Type
    span: Span


@dataclass
class Body:
    """What the checker knows while checking one function-like body."""

    kind: str  # fn | tool | setup | assertion | guard | derive
    name: str
    effect: str  # pure | reads | writes
    actor: str
    ret: Type | None
    scopes: list[dict[str, Var]] = field(default_factory=lambda: [{}])
    nslots: int = 0
    writes: bool = False
    calls: set[str] = field(default_factory=set)

    def lookup(self, name: str) -> Var | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def declare(self, name: str, t: Type, span: Span) -> Var:
        var = Var(self.nslots, t, t, span)
        self.nslots += 1
        self.scopes[-1][name] = var
        return var

    def narrow(self, facts: dict[str, Type]) -> None:
        """Push a scope in which variables have the narrowed types in `facts`."""
        layer = {}
        for name, t in facts.items():
            var = self.lookup(name)
            if var is not None:
                layer[name] = Var(var.slot, var.declared, t, var.span)
        self.scopes.append(layer)


class Checker:
    def __init__(self, modules: list[ast.Module], sink: DiagnosticSink):
        self.modules = modules
        self.sink = sink
        self.domain_decl: ast.DomainDecl | None = None
        self.enums: dict[str, ir.EnumDef] = {}
        self.records: dict[str, ir.RecordDef] = {}
        self.unions: dict[str, ir.UnionDef] = {}
        self.type_decls: dict[str, ast.Decl] = {}
        self.state: dict[str, ir.StateField] = {}
        self.facts: dict[str, ir.FieldDef] = {}
        self.consts: dict[str, ir.Const] = {}
        self.fn_decls: dict[str, ast.FnDecl] = {}
        self.fn_sigs: dict[str, tuple[tuple[ir.ParamDef, ...], Type | None, str]] = {}
        self.tool_decls: dict[tuple[str, str], ast.ToolDecl] = {}
        self.tool_params: dict[tuple[str, str], tuple[ir.ParamDef, ...]] = {}
        self.derived_paths: dict[tuple[str, tuple[str, ...]], Span] = {}
        self.call_graph = nx.DiGraph()
        self.now = "1970-01-01T00:00:00"

    # ------------------------------------------------------------ driver
    def check(self) -> ir.Domain | None:
        decls = [d for m in self.modules for d in m.decls]
        self.collect(decls)
        self.check_types(decls)
        self.check_state(decls)
        self.check_consts(decls)
        self.check_signatures(decls)
        derives = self.check_derives(decls)
        functions = [self.check_fn(d) for d in decls if isinstance(d, ast.FnDecl) and self.fn_decls.get(d.name) is d]
        tools = [self.check_tool(d) for d in decls if isinstance(d, ast.ToolDecl) and self.tool_decls.get((d.actor, d.name)) is d]
        setups = self.check_setups(decls)
        assertions = self.check_assertions(decls)
        policies = [self.check_policy(d) for d in decls if isinstance(d, ast.PolicyDecl)]
        self.setups_by_key = {(f.actor, f.name): f for f in setups}
        self.assertions_by_key = {(f.actor, f.name): f for f in assertions}
        # A file's tasks are the ones written in it: importing a domain brings its types, tools
        # and policies, not the tasks that happen to be written next to them.
        tasks = self.check_tasks(list(self.modules[-1].decls) if self.modules else [])
        self.check_recursion()
        if self.domain_decl is None:
            span = self.modules[0].span if self.modules else Span("<input>", 1, 1, 1, 1)
            self.sink.error("no `domain` declaration: a domain file starts with `domain NAME { ... }`", span)
            return None
        d = self.domain_decl
        return ir.Domain(
            name=d.name,
            title=d.title or d.name,
            settings=self.settings_json(),
            source=d.span.file,
            enums=tuple(self.enums.values()),
            records=tuple(self.records.values()),
            unions=tuple(self.unions.values()),
            state=tuple(self.state.values()),
            facts=tuple(self.facts.values()),
            consts=tuple(
                ir.ConstDef(name, c.type, ir.Function("const", name, (), c.type, "pure", (ir.Return(c.span, c),), 0, span=c.span), c.span)
                for name, c in self.consts.items()
            ),
            functions=tuple(functions),
            tools=tuple(tools),
            setups=tuple(setups),
            assertions=tuple(assertions),
            policies=tuple(policies),
            derives=tuple(derives),
            tasks=tuple(tasks),
        )

    def settings_json(self) -> dict:
        out = {}
        for s in self.domain_decl.settings if self.domain_decl else ():
            out[s.name] = s.value.value
        return out

    # ------------------------------------------------------------ pass 1: collect names
    def collect(self, decls: list[ast.Decl]) -> None:
        seen_types: dict[str, Span] = {}
        seen_fns: dict[str, Span] = {}
        for d in decls:
            if isinstance(d, ast.DomainDecl):
                if self.domain_decl is not None:
                    self.sink.error("a file declares one domain", d.span, ("the domain is declared here", self.domain_decl.span))
                    continue
                self.domain_decl = d
                self.check_settings(d)
            elif isinstance(d, (ast.EnumDecl, ast.RecordDecl, ast.UnionDecl)):
                if d.name in PRIMITIVES or d.name in ("list", "map"):
                    self.sink.error(f"'{d.name}' is a built-in type name", d.span)
                elif d.name in seen_types:
                    self.sink.error(f"type '{d.name}' is declared twice", d.span, ("first declared here", seen_types[d.name]))
                else:
                    seen_types[d.name] = d.span
                    self.type_decls[d.name] = d
            elif isinstance(d, ast.FnDecl):
                if d.name in seen_fns or d.name in BUILTINS:
                    where = seen_fns.get(d.name)
                    self.sink.error(
                        f"function '{d.name}' is declared twice" if where else f"'{d.name}' is a built-in function",
                        d.span, *([("first declared here", where)] if where else []),
                    )
                else:
                    seen_fns[d.name] = d.span
                    self.fn_decls[d.name] = d
            elif isinstance(d, ast.ToolDecl):
                key = (d.actor, d.name)
                if key in self.tool_decls:
                    self.sink.error(f"{d.actor} tool '{d.name}' is declared twice", d.span, ("first declared here", self.tool_decls[key].span))
                else:
                    self.tool_decls[key] = d

    def check_settings(self, d: ast.DomainDecl) -> None:
        seen = {}
        for s in d.settings:
            if s.name not in KNOWN_SETTINGS:
                self.sink.error(f"unknown domain setting '{s.name}' (known: {', '.join(sorted(KNOWN_SETTINGS))})", s.span)
            elif s.name in seen:
                self.sink.error(f"domain setting '{s.name}' is given twice", s.span)
            seen[s.name] = s
        now = seen.get("now")
        if now is not None:
            if now.value.kind != "datetime":
                self.sink.error("`now` must be a datetime such as 2024-05-15T15:00:00", now.value.span)
            else:
                self.now = now.value.value
        for key in ("data", "user_data", "intro"):
            if key in seen and seen[key].value.kind != "str":
                self.sink.error(f"`{key}` must be a string", seen[key].value.span)
        rule = seen.get("arguments")
        if rule is not None and rule.value.value not in ("lax", "strict"):
            self.sink.error('`arguments` must be "lax" (the benchmark\'s coercion) or "strict"', rule.value.span)

    # ------------------------------------------------------------ pass 2: types
    def check_types(self, decls: list[ast.Decl]) -> None:
        for name, d in self.type_decls.items():
            if isinstance(d, ast.EnumDecl):
                members, seen = [], {}
                for m in d.members:
                    if m.name in seen or m.value in seen.values():
                        self.sink.error(f"enum member '{m.name}' is repeated", m.span)
                        continue
                    seen[m.name] = m.value
                    members.append((m.name, m.value))
                if not members:
                    self.sink.error(f"enum '{name}' has no members", d.span)
                self.enums[name] = ir.EnumDef(name, tuple(members), d.doc, d.span)
        for name, d in self.type_decls.items():
            if isinstance(d, ast.RecordDecl):
                self.records[name] = ir.RecordDef(name, self.field_defs(d.fields, f"record {name}"), d.doc, d.span)
            elif isinstance(d, ast.UnionDecl):
                variants, seen = [], set()
                for v in d.variants:
                    if v.name in seen or v.tag in seen:
                        self.sink.error(f"variant '{v.name}' is repeated", v.span)
                        continue
                    seen.update((v.name, v.tag))
                    fields = self.field_defs(v.fields, f"variant {name}.{v.name}")
                    for f in fields:
                        if f.name == d.tag_field:
                            self.sink.error(f"'{d.tag_field}' is the tag of union {name}; a variant cannot declare it", f.span)
                    variants.append(ir.VariantDef(v.name, v.tag, tuple(f for f in fields if f.name != d.tag_field), v.span))
                if not variants:
                    self.sink.error(f"union '{name}' has no variants", d.span)
                self.unions[name] = ir.UnionDef(name, d.tag_field, tuple(variants), d.doc, d.span)
        self.check_type_cycles()

    def field_defs(self, fields: Iterable[ast.Field], owner: str) -> tuple[ir.FieldDef, ...]:
        out, seen = [], {}
        for f in fields:
            if f.name in seen:
                self.sink.error(f"field '{f.name}' is declared twice in {owner}", f.span, ("first declared here", seen[f.name]))
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
                self.sink.error(f"{name} takes {want} type argument(s), e.g. {'list<str>' if want == 1 else 'map<str, int>'}", ref.span)
                return ERROR
            args = [self.resolve_type(a) for a in ref.args]
            if name == "list":
                return ListType(args[0])
            if not (args[0] == STR or isinstance(args[0], EnumType) or is_error(args[0])):
                self.sink.error(f"map keys must be str or an enum, not {args[0]}", ref.args[0].span)
                return ERROR
            return MapType(args[0], args[1])
        if ref.args:
            self.sink.error(f"type '{name}' takes no type arguments", ref.span)
            return ERROR
        if name in PRIMITIVES:
            return PRIMITIVES[name]
        d = self.type_decls.get(name)
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
                self.sink.error(f"union {name} has no variant '{ref.variant}'", ref.span)
                return ERROR
            return UnionType(name, (v.name,))
        if ref.variant is not None:
            self.sink.error(f"'{name}' is not a union, so '{name}.{ref.variant}' is not a type", ref.span)
            return ERROR
        self.sink.error(f"unknown type '{name}'{self.suggest(name, list(PRIMITIVES) + list(self.type_decls))}", ref.span)
        return ERROR

    def check_type_cycles(self) -> None:
        graph = nx.DiGraph()

        def refs(t: Type) -> Iterable[str]:
            if isinstance(t, (RecordType, UnionType)):
                yield t.name
            elif isinstance(t, ListType):
                yield from refs(t.elem)
            elif isinstance(t, MapType):
                yield from refs(t.value)
            elif isinstance(t, OptionalType):
                yield from refs(t.inner)

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
        for cycle in nx.simple_cycles(graph):
            first = cycle[0]
            span = self.type_decls[first].span
            self.sink.error(f"recursive types are not allowed: {' -> '.join(cycle + [first])}", span)
            break

    def constant(self, e: ast.Expr, t: Type):
        """A literal default or const value as JSON, checked against t."""
        body = Body("const", "const", "pure", "agent", None)
        x = self.coerce(self.expr(e, body, t), t, e.span)
        value = self.fold(x)
        if value is _NOT_CONST:
            self.sink.error("a default or const must be a literal value", e.span)
            return None
        return value

    def fold(self, x: ir.Expr):
        return ir.constant_value(x, self.unions)

    # ------------------------------------------------------------ pass 3: state, facts, consts
    def check_state(self, decls: list[ast.Decl]) -> None:
        for d in decls:
            if isinstance(d, ast.StateDecl):
                for f in d.fields:
                    if f.name in self.state or f.name in RESERVED_NAMES:
                        self.sink.error(f"state '{f.name}' is declared twice" if f.name in self.state else f"'{f.name}' is reserved", f.span)
                        continue
                    if f.default is not None:
                        self.sink.error("state fields take their values from the domain's data, not defaults", f.default.span)
                    t = self.resolve_type(f.type)
                    if isinstance(t, OptionalType) or (isinstance(t, Prim) and not is_error(t)):
                        self.sink.error("a state field is a table (map or list) or a record", f.type.span)
                    self.state[f.name] = ir.StateField(d.actor, f.name, t, f.doc, f.span)
            elif isinstance(d, ast.FactsDecl):
                for fd in self.field_defs(d.fields, "facts"):
                    if fd.name in self.facts:
                        self.sink.error(f"fact '{fd.name}' is declared twice", fd.span)
                    self.facts[fd.name] = fd

    def check_consts(self, decls: list[ast.Decl]) -> None:
        for d in decls:
            if not isinstance(d, ast.ConstDecl):
                continue
            if d.name in self.consts or d.name in self.state or d.name in RESERVED_NAMES:
                self.sink.error(f"'{d.name}' is already defined", d.span)
                continue
            t = self.resolve_type(d.type) if d.type else None
            body = Body("const", d.name, "pure", "agent", None)
            x = self.expr(d.value, body, t)
            if t is not None:
                x = self.coerce(x, t, d.value.span)
            value = self.fold(x)
            if value is _NOT_CONST:
                self.sink.error("a const must be a literal value (number, string, list or map of literals)", d.value.span)
                continue
            self.consts[d.name] = ir.Const(x.type, d.span, value)

    def params(self, params: Iterable[ast.Param], owner: str) -> tuple[ir.ParamDef, ...]:
        out, seen = [], {}
        for p in params:
            if p.name in seen or p.name in RESERVED_PARAM_NAMES:
                self.sink.error(f"parameter '{p.name}' is declared twice in {owner}" if p.name in seen else f"'{p.name}' is reserved", p.span)
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
            self.fn_sigs[name] = (self.params(d.params, f"fn {name}"), ret, d.effect)
            self.call_graph.add_node(name)
        for key, d in self.tool_decls.items():
            self.tool_params[key] = self.params(d.params, f"tool {d.name}")

    # ------------------------------------------------------------ pass 4: bodies
    def new_body(self, kind, name, effect, actor, ret, params) -> Body:
        body = Body(kind, name, effect, actor, ret)
        for p in params:
            body.declare(p.name, p.type, p.span)
        return body

    def finish(self, body: Body, stmts: tuple, span: Span, params, doc=None) -> ir.Function:
        if body.ret is not None and body.kind in ("fn", "tool", "setup") and not always_exits(stmts):
            self.sink.error(f"{body.kind} '{body.name}' must end with `return` or `fail` on every path (it returns {body.ret})", span)
        return ir.Function(body.kind, body.name, params, body.ret, body.effect, stmts, body.nslots, body.actor, doc, span)

    def check_fn(self, d: ast.FnDecl) -> ir.Function:
        params, ret, effect = self.fn_sigs[d.name]
        body = self.new_body("fn", d.name, effect, "agent", ret, params)
        stmts = self.block(d.body, body)
        for callee in body.calls:
            self.call_graph.add_edge(d.name, callee)
        return self.finish(body, stmts, d.span, params)

    def check_tool(self, d: ast.ToolDecl) -> ir.Function:
        params = self.tool_params[(d.actor, d.name)]
        ret = self.resolve_type(d.ret) if d.ret else None
        body = self.new_body("tool", d.name, d.effect, d.actor, ret, params)
        stmts = self.block(d.body, body)
        if d.effect == "writes" and not body.writes and not body.calls:
            self.sink.warning(f"tool '{d.name}' is declared `writes` but never writes state", d.span)
        return self.finish(body, stmts, d.span, params, d.doc)

    def check_setups(self, decls) -> list[ir.Function]:
        out, seen = [], {}
        for d in decls:
            if not isinstance(d, ast.SetupDecl):
                continue
            if (d.actor, d.name) in seen:
                self.sink.error(f"setup '{d.name}' is declared twice", d.span, ("first declared here", seen[(d.actor, d.name)]))
                continue
            seen[(d.actor, d.name)] = d.span
            params = self.params(d.params, f"setup {d.name}")
            ret = self.resolve_type(d.ret) if d.ret else None
            body = self.new_body("setup", d.name, "writes", d.actor, ret, params)
            stmts = self.block(d.body, body)
            out.append(self.finish(body, stmts, d.span, params))
        return out

    def expr_block_function(self, kind, name, actor, params, block: ast.ExprBlock, span) -> ir.Function:
        body = self.new_body(kind, name, "reads", actor, BOOL, params)
        stmts = [self.let(s, body) for s in block.lets]
        result = self.coerce(self.expr(block.result, body, BOOL), BOOL, block.result.span)
        stmts.append(ir.Return(block.result.span, result))
        return ir.Function(kind, name, params, BOOL, "reads", tuple(stmts), body.nslots, actor, None, span)

    def check_assertions(self, decls) -> list[ir.Function]:
        out, seen = [], {}
        for d in decls:
            if not isinstance(d, ast.AssertionDecl):
                continue
            if (d.actor, d.name) in seen:
                self.sink.error(f"assertion '{d.name}' is declared twice", d.span)
                continue
            seen[(d.actor, d.name)] = d.span
            params = self.params(d.params, f"assertion {d.name}")
            out.append(self.expr_block_function("assertion", d.name, d.actor, params, d.body, d.span))
        return out

    def check_policy(self, d: ast.PolicyDecl) -> ir.PolicyDef:
        guards = []
        for g in d.guards:
            candidates = [k for k in self.tool_decls if k[1] == g.tool]
            if not candidates:
                names = sorted({k[1] for k in self.tool_decls})
                self.sink.error(f"guard names unknown tool '{g.tool}'{self.suggest(g.tool, names)}", g.tool_span)
                continue
            key = ("agent", g.tool) if ("agent", g.tool) in self.tool_decls else candidates[0]
            params = self.tool_params[key]
            fn = self.expr_block_function("guard", f"{d.name}:{g.tool}", key[0], params, g.body, g.span)
            guards.append(ir.GuardDef(d.name, g.tool, g.enforce, fn, g.span))
        return ir.PolicyDef(d.name, d.text, tuple(guards), d.span)

    def check_derives(self, decls) -> list[ir.DeriveDef]:
        out = []
        for d in decls:
            if not isinstance(d, ast.DeriveDecl):
                continue
            path = []
            node = d.target
            while isinstance(node, ast.Attribute):
                path.append(node.name)
                node = node.obj
            if not isinstance(node, ast.Name) or node.id not in self.state or not path:
                self.sink.error("`derive` names a field of a record in state, e.g. `derive surroundings.line_active = ...`", d.target.span)
                continue
            root = self.state[node.id]
            path.reverse()
            t: Type = root.type
            for name in path:
                if not isinstance(t, RecordType):
                    self.sink.error(f"cannot derive '{name}': {t} has no fields", d.target.span)
                    t = ERROR
                    break
                f = self.records[t.name].field(name)
                if f is None:
                    self.sink.error(f"{t} has no field '{name}'", d.target.span)
                    t = ERROR
                    break
                t = f.type
            if is_error(t):
                continue
            key = (node.id, tuple(path))
            if key in self.derived_paths:
                self.sink.error("this field is already derived", d.span, ("derived here", self.derived_paths[key]))
                continue
            self.derived_paths[key] = d.span
            body = Body("derive", ".".join((node.id, *path)), "reads", "agent", t)
            value = self.coerce(self.expr(d.value, body, t), t, d.value.span)
            fn = ir.Function("derive", body.name, (), t, "reads", (ir.Return(d.value.span, value),), body.nslots, span=d.span)
            out.append(ir.DeriveDef(root.side, node.id, tuple(path), fn, d.span))
        return out

    # ------------------------------------------------------------ tasks
    TASK_TEXTS = ("purpose", "notes", "ticket", "policies")
    USER_TEXTS = ("persona", "reason", "known", "unknown", "instructions", "wants")
    REWARDS = ("DB", "GOAL", "ENV_ASSERTION", "COMMUNICATE", "ACTION", "POLICY", "NL_ASSERTION")

    def check_tasks(self, decls) -> list[ir.TaskDef]:
        out, seen = [], {}
        for d in decls:
            if not isinstance(d, ast.TaskDecl):
                continue
            if d.name in seen:
                self.sink.error(f"task '{d.name}' is declared twice", d.span, ("first declared here", seen[d.name]))
                continue
            seen[d.name] = d.span
            out.append(self.check_task(d))
        return out

    def check_task(self, d: ast.TaskDecl) -> ir.TaskDef:
        texts = {}
        for key, text, span in d.texts:
            if key not in self.TASK_TEXTS:
                self.sink.error(f"unknown task text '{key}' (known: {', '.join(self.TASK_TEXTS)})", span)
            elif key in texts:
                self.sink.error(f"'{key}' is given twice", span)
            texts[key] = text
        user = {"texts": {}, "knows": {}, "facts": {}}
        if d.user is not None:
            for key, text in d.user.texts:
                if key not in self.USER_TEXTS:
                    self.sink.error(f"unknown user text '{key}' (known: {', '.join(self.USER_TEXTS)})", d.user.span)
                user["texts"][key] = text
            for key, e in d.user.knows:
                user["knows"][key] = self.literal_value(e, None)
            for key, e in d.user.facts:
                f = self.facts.get(key)
                if f is None:
                    self.sink.error(f"unknown fact '{key}'{self.suggest(key, list(self.facts))} (declare it in `facts {{ ... }}`)", e.span)
                    continue
                user["facts"][key] = self.literal_value(e, f.type)
        setup = []
        for item in d.setup or ():
            if isinstance(item, ast.GoldCall):
                spec = self.call_spec(item, ("setup", "tool"))
                if spec is not None:
                    setup.append(spec)
            else:
                body = Body("setup", f"task {d.name}", "writes", "agent", None)
                stmt = self.assign(item, body)
                setup.append(ir.Function("setup", f"task:{d.name}", (), None, "writes", (stmt,), body.nslots, span=item.span))
        gold = None
        if d.gold is not None:
            gold = tuple(spec for spec in (self.call_spec(g, ("tool",)) for g in d.gold) if spec is not None)
        goals = []
        for e in d.goals:
            body = Body("goal", f"task {d.name}", "reads", "agent", BOOL)
            x = self.condition(e, body)
            goals.append(ir.Function("goal", f"task:{d.name}", (), BOOL, "reads", (ir.Return(e.span, x),), body.nslots, span=e.span))
        assertions = []
        for a in d.assertions:
            spec = self.call_spec(a.call, ("assertion",))
            if spec is not None:
                expected = self.literal_value(a.expected, BOOL) if a.expected is not None else True
                assertions.append(replace(spec, expected=expected, message=a.message))
        reward = []
        if d.reward is not None:
            for name, span in d.reward:
                if name not in self.REWARDS:
                    self.sink.error(f"unknown reward component '{name}' (known: {', '.join(self.REWARDS)})", span)
                    continue
                needs = {"DB": gold is not None, "ACTION": bool(gold), "GOAL": bool(goals), "ENV_ASSERTION": bool(assertions)}
                if not needs.get(name, True):
                    what = {"DB": "gold actions", "ACTION": "gold actions", "GOAL": "goals", "ENV_ASSERTION": "env assertions"}[name]
                    self.sink.error(f"reward component {name} needs {what}, and this task has none", span)
                reward.append(name)
        else:
            reward = [name for name, present in (
                ("DB", gold is not None), ("GOAL", bool(goals)), ("ENV_ASSERTION", bool(assertions)),
                ("COMMUNICATE", bool(d.communicate)), ("POLICY", True)) if present]
        return ir.TaskDef(
            d.name, texts, user, tuple(setup), gold, tuple(goals), tuple(d.communicate), tuple(assertions),
            tuple(d.judge), tuple(reward), d.span,
        )

    def call_spec(self, g: ast.GoldCall, kinds: tuple[str, ...]) -> ir.CallSpec | None:
        """A call in a task: a known tool / setup / assertion of that actor, with literal arguments."""
        target, kind = None, None
        for k in kinds:
            if k == "tool":
                decl = self.tool_decls.get((g.actor, g.name))
                if decl is not None:
                    target, kind = self.tool_params[(g.actor, g.name)], k
            elif k == "setup" and (g.actor, g.name) in self.setups_by_key:
                target, kind = self.setups_by_key[(g.actor, g.name)].params, k
            elif k == "assertion" and (g.actor, g.name) in self.assertions_by_key:
                target, kind = self.assertions_by_key[(g.actor, g.name)].params, k
            if target is not None:
                break
        if target is None:
            names = [n for (a, n) in list(self.tool_decls) + list(self.setups_by_key) + list(self.assertions_by_key) if a == g.actor]
            what = " or ".join(kinds)
            self.sink.error(f"unknown {g.actor} {what} '{g.name}'{self.suggest(g.name, names)}", g.name_span)
            return None
        body = Body("task", g.name, "pure", g.actor, None)
        args = self.bind_args(g, target, body, f"{kind} {g.name}")
        values = {}
        positional = sum(1 for a in g.args if a.name is None)
        named = {a.name for a in g.args if a.name is not None}
        for index, (p, a) in enumerate(zip(target, args)):
            value = self.fold(a)
            if value is _NOT_CONST:
                self.sink.error(f"argument '{p.name}' of a task call must be a literal value", a.span)
                continue
            if index < positional or p.name in named:
                values[p.name] = value
        compare = None
        if g.compare is not None:
            names = {p.name for p in target}
            for c in g.compare:
                if c not in names:
                    self.sink.error(f"compare names '{c}', which is not a parameter of {g.name}", g.span)
            compare = tuple(g.compare)
        return ir.CallSpec(g.actor, kind, g.name, values, compare, True, None, g.span)

    def literal_value(self, e: ast.Expr, t: Type | None):
        body = Body("task", "literal", "pure", "agent", None)
        x = self.expr(e, body, t)
        if t is not None:
            x = self.coerce(x, t, e.span)
        value = self.fold(x)
        if value is _NOT_CONST:
            self.sink.error("this must be a literal value", e.span)
            return None
        return value

    def check_recursion(self) -> None:
        for cycle in nx.simple_cycles(self.call_graph):
            d = self.fn_decls[cycle[0]]
            self.sink.error(f"recursion is not allowed (bodies must be total): {' -> '.join(cycle + [cycle[0]])}", d.span)
            break

    # ------------------------------------------------------------ statements
    def block(self, block: ast.Block, body: Body) -> tuple[ir.Stmt, ...]:
        depth = len(body.scopes)
        body.scopes.append({})
        out = []
        for s in block.stmts:
            if out and always_exits(out):
                self.sink.warning("this statement is never reached", s.span)
            out.extend(self.stmt(s, body))
        del body.scopes[depth:]
        return tuple(out)

    def stmt(self, s: ast.Stmt, body: Body) -> list[ir.Stmt]:
        if isinstance(s, ast.Let):
            return [self.let(s, body)]
        if isinstance(s, ast.Assign):
            return [self.assign(s, body)]
        if isinstance(s, ast.If):
            return [self.if_stmt(s, body)]
        if isinstance(s, ast.For):
            return [self.for_stmt(s, body)]
        if isinstance(s, ast.Return):
            return [self.return_stmt(s, body)]
        if isinstance(s, ast.Fail):
            return [ir.Fail(s.span, self.message(s.message, body))]
        if isinstance(s, ast.ExprStmt):
            return [self.expr_stmt(s, body)]
        self.sink.error("unsupported statement", s.span)
        return []

    def let(self, s: ast.Let, body: Body) -> ir.Let:
        declared = self.resolve_type(s.type) if s.type else None
        value = self.expr(s.value, body, declared)
        if declared is not None:
            value = self.coerce(value, declared, s.value.span)
        t = declared or value.type
        if t == NONE:
            self.sink.error(f"cannot infer the type of `{s.name}` from `none`; write `let {s.name}: T? = none`", s.span)
            t = ERROR
        if isinstance(t, ListType) and isinstance(t.elem, AnyElem) or isinstance(t, MapType) and isinstance(t.value, AnyElem):
            self.sink.error(f"cannot infer the element type of `{s.name}`; write e.g. `let {s.name}: list<T> = []`", s.span)
            t = ERROR
        self.check_new_name(s.name, s.span, body)
        var = body.declare(s.name, t, s.span)
        return ir.Let(s.span, var.slot, s.name, value)

    def check_new_name(self, name: str, span: Span, body: Body) -> None:
        existing = body.lookup(name)
        if existing is not None:
            self.sink.error(f"'{name}' is already defined in this body (line {existing.span.line}); assign to it with `{name} = ...`", span)
        elif name in self.state or name in self.consts or name in RESERVED_NAMES:
            self.sink.error(f"'{name}' would hide the {'state' if name in self.state else 'name'} '{name}'; pick another name", span)

    def assign(self, s: ast.Assign, body: Body) -> ir.Assign:
        place = self.place(s.target, body)
        value = self.expr(s.value, body, place.type)
        if s.op == "=":
            value = self.coerce(value, place.type, s.value.span)
        else:
            pt = place.type
            if is_numeric(pt) or is_error(pt):
                if not (is_numeric(value.type) or is_error(value.type)):
                    self.sink.error(f"`{s.op}` needs a number, got {value.type}", s.value.span)
                elif pt == INT and value.type == FLOAT:
                    self.sink.error("adding a float to an int place would change its type; convert with int() or round()", s.value.span)
                elif pt == FLOAT:
                    value = self.coerce(value, FLOAT, s.value.span)
            elif pt == STR and s.op == "+=":
                value = self.coerce(value, STR, s.value.span)
            else:
                self.sink.error(f"`{s.op}` works on numbers (and `+=` on strings), not {pt}", s.target.span)
        if place.root == "local":
            var = body.lookup(place.name)
            if var is not None and not place.steps:
                # The variable now holds the assigned value: narrowings of the old value end here.
                body.scopes[-1][place.name] = Var(var.slot, var.declared, var.declared, var.span)
        return ir.Assign(s.span, place, s.op, value)

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
                self.sink.error("`for a, b in xs` iterates a map; a list gives one value per step", s.span)
            mode, types = "list", [t.elem]
        elif isinstance(t, MapType):
            if s.var2 is None:
                self.sink.error("iterate a map with `for key, value in m`, or use keys(m) / values(m)", s.iter.span)
            mode, types = "items", [t.key, t.value]
        else:
            if not is_error(t):
                self.sink.error(f"cannot iterate over {t}; `for` takes a list or a map", s.iter.span)
            mode, types = "list", [ERROR, ERROR]
        names = [s.var] + ([s.var2] if s.var2 else [])
        slots = []
        for name, vt in zip(names, types + [ERROR]):
            self.check_new_name(name, s.span, body)
            slots.append(body.declare(name, vt, s.span).slot)
        stmts = self.block(s.body, body)
        body.scopes.pop()
        return ir.For(s.span, slots[0], slots[1] if len(slots) > 1 and mode == "items" else None, it, stmts, mode)

    def return_stmt(self, s: ast.Return, body: Body) -> ir.Return:
        if body.ret is None:
            value = self.expr(s.value, body)
            if value.type != NONE and not is_error(value.type):
                self.sink.error(f"{body.kind} '{body.name}' declares no result type; add `-> {value.type}` or `return none`", s.value.span)
            return ir.Return(s.span, None)
        value = self.coerce(self.expr(s.value, body, body.ret), body.ret, s.value.span)
        return ir.Return(s.span, value)

    def message(self, e: ast.Expr, body: Body) -> ir.Expr:
        m = self.expr(e, body, STR)
        if not (is_stringlike(m.type) or is_error(m.type)):
            self.sink.error(f"a failure message must be a string, got {m.type}", e.span)
        return m

    def expr_stmt(self, s: ast.ExprStmt, body: Body) -> ir.Stmt:
        e = s.expr
        if isinstance(e, ast.Call) and isinstance(e.func, ast.Attribute) and self.is_place_expr(e.func.obj, body):
            mutate = self.try_mutate(e, body)
            if mutate is not None:
                return mutate
        x = self.expr(e, body)
        if isinstance(x, ir.OrFail):
            if x.mode == "check":
                pos, _ = self.facts_of(x.expr)
                body.narrow(pos)
            return ir.Eval(s.span, x)
        if isinstance(x, ir.CallFn) or is_error(x.type):
            return ir.Eval(s.span, x)
        self.sink.error("this expression does nothing; did you mean an assignment, a call, or `cond or fail \"...\"`?", s.span)
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
                self.sink.error(f"'{method}' is not an update of {what}", e.func.name_span)
                return ir.Mutate(e.span, place, method, ())
            return None
        place = self.place(e.func.obj, body, whole_table=True)  # now report problems with the place itself
        if any(a.name for a in e.args):
            self.sink.error(f"'{method}' takes positional arguments", e.span)
        want = MUTATORS[kind][method]
        if len(e.args) != want:
            self.sink.error(f"'{method}' takes {want} argument(s), got {len(e.args)}", e.span)
            return ir.Mutate(e.span, place, method, ())
        args = []
        if kind == "list":
            elem = t.elem
            shapes = {"append": [elem], "extend": [t], "insert": [INT, elem], "remove": [elem], "remove_at": [INT], "clear": []}[method]
        else:
            shapes = {"remove": [t.key], "clear": []}[method]
        for a, want_t in zip(e.args, shapes):
            args.append(self.coerce(self.expr(a.value, body, want_t), want_t, a.value.span))
        return ir.Mutate(e.span, place, method, tuple(args))

    # ------------------------------------------------------------ places
    def place(self, e: ast.Expr, body: Body, quiet: bool = False, whole_table: bool = False) -> ir.Place | None:
        chain = []
        node = e
        while isinstance(node, (ast.Attribute, ast.Index)):
            chain.append(node)
            node = node.obj
        chain.reverse()
        qualified = False
        if isinstance(node, ast.Name) and node.id == "state" and body.lookup("state") is None and chain and isinstance(chain[0], ast.Attribute):
            # `state.NAME` reaches a state root even where a parameter has the same name.
            first = chain.pop(0)
            node = ast.Name(first.span, first.name)
            qualified = True
        if not isinstance(node, ast.Name):
            if not quiet:
                self.sink.error("only variables, state, and their fields and elements can be assigned", e.span)
            return None if quiet else ir.Place("local", 0, None, "?", (), ERROR, e.span)
        var = None if qualified else body.lookup(node.id)
        if var is not None:
            root, slot, side, t = "local", var.slot, None, var.current
        elif node.id in self.state:
            sf = self.state[node.id]
            root, slot, side, t = "state", None, sf.side, sf.type
            if not quiet:
                self.require_effect(body, "writes", f"write state '{node.id}'", e.span)
                if not chain and isinstance(t, (MapType, ListType)) and not whole_table:
                    self.sink.error(f"assign rows of table '{node.id}' (e.g. `{node.id}[key] = row`), not the whole table", e.span)
        else:
            if not quiet:
                self.sink.error(f"cannot assign to '{node.id}': not a variable or state{self.suggest(node.id, self.visible_names(body))}", node.span)
            return None if quiet else ir.Place("local", 0, None, node.id, (), ERROR, e.span)
        steps = []
        path = []
        for link in chain:
            if is_error(t):
                break
            if isinstance(link, ast.Attribute):
                ft = self.field_type(t, link.name, link.name_span, quiet, for_write=True)
                if ft is None:
                    return None if quiet else ir.Place(root, slot, side, node.id, tuple(steps), ERROR, e.span)
                steps.append(ir.Step("field", link.name))
                path.append(link.name)
                t = ft
            else:
                if isinstance(t, ListType):
                    key = self.coerce(self.expr(link.key, body, INT), INT, link.key.span) if not quiet else None
                    steps.append(ir.Step("index", None, key))
                    t = t.elem
                elif isinstance(t, MapType):
                    key = self.coerce(self.expr(link.key, body, t.key), t.key, link.key.span) if not quiet else None
                    steps.append(ir.Step("key", None, key))
                    t = t.value
                else:
                    if not quiet:
                        self.sink.error(f"cannot index into {t}", link.span)
                    return None if quiet else ir.Place(root, slot, side, node.id, tuple(steps), ERROR, e.span)
        if root == "state" and not quiet:
            for i in range(1, len(path) + 1):
                if (node.id, tuple(path[:i])) in self.derived_paths:
                    self.sink.error(f"'{node.id}.{'.'.join(path[:i])}' is derived from other state and cannot be written", e.span)
        return ir.Place(root, slot, side, node.id, tuple(steps), t, e.span)

    def field_type(self, t: Type, name: str, span: Span, quiet=False, for_write=False) -> Type | None:
        if isinstance(t, RecordType):
            f = self.records[t.name].field(name)
            if f is None:
                if not quiet:
                    names = [x.name for x in self.records[t.name].fields]
                    self.sink.error(f"{t.name} has no field '{name}'{self.suggest(name, names)}", span)
                return None
            return f.type
        if isinstance(t, UnionType):
            u = self.unions[t.name]
            if name == u.tag_field:
                if for_write:
                    if not quiet:
                        self.sink.error(f"the tag '{name}' of {t.name} cannot be assigned; construct another variant", span)
                    return None
                return STR
            variants = [v for v in u.variants if t.variants is None or v.name in t.variants]
            types = [v.field(name).type if v.field(name) else None for v in variants]
            if all(x is not None for x in types) and len(set(types)) == 1:
                return types[0]
            if not quiet:
                having = [v.name for v, x in zip(u.variants, types) if x is not None] if t.variants is None else [
                    v.name for v in u.variants if v.field(name)]
                if having:
                    self.sink.error(
                        f"'{name}' exists only in variant(s) {', '.join(having)} of {t.name}; narrow first, e.g. `if x is {having[0]} {{ ... }}`"
                        + (" (state paths cannot be narrowed: copy into a local with `let`, check it, store it back)" if for_write else ""),
                        span)
                else:
                    self.sink.error(f"no variant of {t.name} has a field '{name}'", span)
            return None
        if isinstance(t, OptionalType):
            if not quiet:
                self.sink.error(f"this value may be none ({t}); unwrap it first with `or fail \"...\"`, `??`, or `if x != none`", span)
            return None
        if not is_error(t) and not quiet:
            self.sink.error(f"{t} has no field '{name}'", span)
        return None

    # ------------------------------------------------------------ effects
    def require_effect(self, body: Body, need: str, what: str, span: Span) -> None:
        order = {"pure": 0, "reads": 1, "writes": 2}
        if body.kind == "const":
            self.sink.error(f"a constant cannot {what}", span)
            return
        if order[body.effect] < order[need]:
            kind = {"guard": "a guard", "assertion": "an assertion", "derive": "a derived value"}.get(body.kind, f"{body.kind} '{body.name}' ({body.effect})")
            hint = "" if body.kind in ("guard", "assertion", "derive") else f"; declare it `{need}`"
            self.sink.error(f"{kind} cannot {what}{hint}", span)
        if need == "writes":
            body.writes = True

    # ------------------------------------------------------------ conditions and narrowing
    def condition(self, e: ast.Expr, body: Body) -> ir.Expr:
        c = self.expr(e, body, BOOL)
        if c.type != BOOL and not is_error(c.type):
            self.sink.error(f"a condition must be bool, got {c.type}", e.span)
        return c

    def facts_of(self, c: ir.Expr) -> tuple[dict[str, Type], dict[str, Type]]:
        """What a condition tells about local variables when true, and when false."""
        if isinstance(c, ir.IsVariant) and isinstance(c.obj, ir.Local) and isinstance(c.obj.type, UnionType):
            t = c.obj.type
            u = self.unions[t.name]
            current = [v.name for v in u.variants if t.variants is None or v.name in t.variants]
            chosen = [v.name for v in u.variants if v.tag in c.tags and v.name in current]
            rest = [v for v in current if v not in chosen]
            yes = {c.obj.name: UnionType(t.name, tuple(chosen))}
            no = {c.obj.name: UnionType(t.name, tuple(rest))}
            return (no, yes) if c.negated else (yes, no)
        if isinstance(c, ir.BinaryOp) and c.op in ("==", "!=") and isinstance(c.left, ir.Local) and isinstance(c.right, ir.Const) and c.right.value is None:
            t = c.left.type
            if isinstance(t, OptionalType):
                some, none = {c.left.name: t.inner}, {}
                return (none, some) if c.op == "==" else (some, none)
        if isinstance(c, ir.UnaryOp) and c.op == "not":
            pos, neg = self.facts_of(c.operand)
            return neg, pos
        if isinstance(c, ir.BinaryOp) and c.op == "and":
            lp, _ = self.facts_of(c.left)
            rp, _ = self.facts_of(c.right)
            return {**lp, **rp}, {}
        if isinstance(c, ir.BinaryOp) and c.op == "or":
            _, ln = self.facts_of(c.left)
            _, rn = self.facts_of(c.right)
            lp, _ = self.facts_of(c.left)
            rp, _ = self.facts_of(c.right)
            pos = {}
            for name in lp.keys() & rp.keys():
                a, b = lp[name], rp[name]
                if isinstance(a, UnionType) and isinstance(b, UnionType) and a.name == b.name:
                    names = [v.name for v in self.unions[a.name].variants if v.name in (a.variants or ()) or v.name in (b.variants or ())]
                    pos[name] = UnionType(a.name, tuple(names))
            return pos, {**ln, **rn}
        return {}, {}

    # ------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr, body: Body, expected: Type | None = None) -> ir.Expr:
        method = getattr(self, "e_" + type(e).__name__)
        return method(e, body, expected)

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
            if body.kind == "const":
                self.sink.error("a constant cannot read state", e.span)
            elif body.effect == "pure":
                self.require_effect(body, "reads", f"read state '{e.id}'", e.span)
            return ir.StateRoot(sf.type, e.span, sf.side, e.id)
        if e.id == "now":
            return ir.Const(DATETIME, e.span, self.now)
        if e.id == "fact":
            self.sink.error("read a fact as `fact.NAME`", e.span)
            return ir.Const(ERROR, e.span, None)
        if e.id in self.type_decls:
            self.sink.error(f"'{e.id}' is a type, not a value" + (" (construct it with named fields: `{e.id}(field: value, ...)`)" if e.id in self.records else ""), e.span)
            return ir.Const(ERROR, e.span, None)
        if e.id in self.fn_decls or e.id in BUILTINS:
            self.sink.error(f"'{e.id}' is a function; call it with `{e.id}(...)`", e.span)
            return ir.Const(ERROR, e.span, None)
        if any(k[1] == e.id for k in self.tool_decls):
            self.sink.error(f"'{e.id}' is a tool; tools are called by agents, not by code (move shared logic into a `fn`)", e.span)
            return ir.Const(ERROR, e.span, None)
        self.sink.error(f"unknown name '{e.id}'{self.suggest(e.id, self.visible_names(body))}", e.span)
        return ir.Const(ERROR, e.span, None)

    def visible_names(self, body: Body) -> list[str]:
        names = [n for scope in body.scopes for n in scope]
        return names + list(self.state) + list(self.consts) + ["now"]

    def e_Attribute(self, e: ast.Attribute, body, expected):
        if isinstance(e.obj, ast.Name) and body.lookup(e.obj.id) is None:
            name = e.obj.id
            if name == "state":
                if e.name not in self.state:
                    self.sink.error(f"unknown state '{e.name}'{self.suggest(e.name, list(self.state))}", e.name_span)
                    return ir.Const(ERROR, e.span, None)
                return self.e_Name(ast.Name(e.span, e.name), _StateOnly(body), expected)
            if name == "fact":
                f = self.facts.get(e.name)
                if f is None:
                    self.sink.error(f"unknown fact '{e.name}'{self.suggest(e.name, list(self.facts))} (declare it in `facts {{ ... }}`)", e.name_span)
                    return ir.Const(ERROR, e.span, None)
                return ir.Fact(optional(f.type), e.span, e.name)
            if name in self.enums:
                enum = self.enums[name]
                for mname, value in enum.members:
                    if mname == e.name:
                        return ir.Const(EnumType(name), e.span, value)
                self.sink.error(f"enum {name} has no member '{e.name}'{self.suggest(e.name, [m for m, _ in enum.members])}", e.name_span)
                return ir.Const(ERROR, e.span, None)
            if name in self.unions:
                self.sink.error(f"construct a variant with fields: `{name}.{e.name}(field: value, ...)`", e.span)
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
            self.sink.error(f"this value may be none ({t}); unwrap it before indexing", e.obj.span)
        elif not is_error(t):
            self.sink.error(f"cannot index into {t}", e.span)
        self.expr(e.key, body)
        return ir.GetIndex(ERROR, e.span, obj, ir.Const(ERROR, e.key.span, None))

    def e_Slice(self, e: ast.Slice, body, expected):
        obj = self.expr(e.obj, body)
        lo = self.coerce(self.expr(e.lo, body, INT), INT, e.lo.span) if e.lo else None
        hi = self.coerce(self.expr(e.hi, body, INT), INT, e.hi.span) if e.hi else None
        t = obj.type
        if not (t == STR or isinstance(t, ListType) or is_error(t)):
            self.sink.error(f"cannot slice {t}; slices work on str and lists", e.span)
            t = ERROR
        return ir.GetSlice(t, e.span, obj, lo, hi)

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
                self.sink.error(f"'{f.id}' is a tool; tools are called by agents, not by code (move shared logic into a `fn`)", f.span)
                return ir.Const(ERROR, e.span, None)
            if f.id in self.unions:
                self.sink.error(f"name the variant: `{f.id}.VARIANT(...)`", f.span)
                return ir.Const(ERROR, e.span, None)
            names = list(self.records) + list(self.fn_decls) + list(BUILTINS)
            self.sink.error(f"unknown function '{f.id}'{self.suggest(f.id, names)}", f.span)
            self.positional(e, body)
            return ir.Const(ERROR, e.span, None)
        if isinstance(f, ast.Attribute):
            if isinstance(f.obj, ast.Name) and f.obj.id in self.unions and body.lookup(f.obj.id) is None:
                u = self.unions[f.obj.id]
                v = u.variant(f.name)
                if v is None:
                    self.sink.error(f"union {u.name} has no variant '{f.name}'{self.suggest(f.name, [x.name for x in u.variants])}", f.name_span)
                    return ir.Const(ERROR, e.span, None)
                return self.construct(e, u.name, v.name, v.fields, body)
            if f.name in MUTATORS["list"] or f.name in MUTATORS["map"]:
                if f.name not in BUILTINS:
                    self.sink.error(f"'{f.name}' updates a collection in place; use it as a statement on a variable or state", f.name_span)
                    return ir.Const(ERROR, e.span, None)
            if f.name in BUILTINS:
                receiver = self.expr(f.obj, body)
                return self.call_builtin(e, f.name, [receiver] + self.positional(e, body), body)
            self.sink.error(f"unknown method '{f.name}'{self.suggest(f.name, list(BUILTINS))}", f.name_span)
            self.expr(f.obj, body)
            self.positional(e, body)
            return ir.Const(ERROR, e.span, None)
        self.sink.error("only named functions, records and variants can be called", f.span)
        return ir.Const(ERROR, e.span, None)

    def positional(self, e: ast.Call, body) -> list[ir.Expr]:
        out = []
        for a in e.args:
            if a.name is not None:
                self.sink.error(f"built-in functions take positional arguments; drop '{a.name}:'", a.span)
            out.append(self.expr(a.value, body))
        return out

    def call_builtin(self, e: ast.Call, name: str, args: list[ir.Expr], body) -> ir.Expr:
        b = BUILTINS[name]
        try:
            t = b.rule([a.type for a in args])
        except BuiltinTypeError as err:
            self.sink.error(f"{name}(): {err}  [{b.signature}]", e.span)
            return ir.CallBuiltin(ERROR, e.span, name, tuple(args))
        coerced = []
        for a in args:
            if t == FLOAT and a.type == INT and name in ("min", "max"):
                a = self.coerce(a, FLOAT, a.span)
            coerced.append(a)
        if name in ("min", "max") and len(coerced) == 1 and isinstance(coerced[0].type, ListType) and isinstance(coerced[0].type.elem, AnyElem):
            self.sink.error(f"{name}() of an empty list", e.span)
        return ir.CallBuiltin(t, e.span, name, tuple(coerced))

    def bind_args(self, e: ast.Call | ast.GoldCall, params: tuple[ir.ParamDef, ...], body, what: str) -> tuple[ir.Expr, ...]:
        by_name: dict[str, ir.Expr] = {}
        positional_done = False
        for i, a in enumerate(e.args):
            if a.name is None:
                if positional_done:
                    self.sink.error("positional arguments come before named ones", a.span)
                    continue
                if i >= len(params):
                    self.sink.error(f"{what} takes {len(params)} argument(s)", a.span)
                    self.expr(a.value, body)
                    continue
                p = params[i]
            else:
                positional_done = True
                p = next((p for p in params if p.name == a.name), None)
                if p is None:
                    self.sink.error(f"{what} has no parameter '{a.name}'{self.suggest(a.name, [p.name for p in params])}", a.span)
                    self.expr(a.value, body)
                    continue
            if p.name in by_name:
                self.sink.error(f"argument '{p.name}' is given twice", a.span)
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
                self.sink.error(f"{what} needs argument '{p.name}'", e.span)
                out.append(ir.Const(ERROR, e.span, None))
        return tuple(out)

    def call_fn(self, e: ast.Call, name: str, body: Body) -> ir.Expr:
        params, ret, effect = self.fn_sigs[name]
        args = self.bind_args(e, params, body, f"fn {name}")
        if effect != "pure":
            self.require_effect(body, effect, f"call {effect} fn '{name}'", e.span)
        body.calls.add(name)
        if body.kind == "fn":
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
                self.sink.error(f"name each field when constructing {what}: `{what}(field: value, ...)`", at)
                self.expr(value, body)
                continue
            f = next((f for f in fields if f.name == name), None)
            if f is None:
                self.sink.error(f"{what} has no field '{name}'{self.suggest(name, [f.name for f in fields])}", at)
                self.expr(value, body)
                continue
            if name in given:
                self.sink.error(f"field '{name}' is given twice", at)
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
                self.sink.error(f"{what} needs field '{f.name}'", span)
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
        tag = next((v for k, v in pairs if k == u.tag_field), None)
        if not (isinstance(tag, ast.Literal) and tag.kind == "str"):
            self.sink.error(f"a {u.name} object needs its tag '{u.tag_field}' as a string", e.span)
            return ir.Const(ERROR, e.span, None)
        variant = u.variant(tag.value)
        if variant is None or variant.tag != tag.value or (target.variants and variant.name not in target.variants):
            self.sink.error(f"'{tag.value}' is not a variant tag of {u.name} ({', '.join(v.tag for v in u.variants)})", tag.span)
            return ir.Const(ERROR, e.span, None)
        rest = [(k, v, at) for k, v, at in pairs if k != u.tag_field]
        return self.build_record(e.span, u.name, variant.name, variant.fields, rest, body)

    def e_Unary(self, e: ast.Unary, body, expected):
        if e.op == "not":
            x = self.condition(e.operand, body)
            return ir.UnaryOp(BOOL, e.span, "not", x)
        x = self.expr(e.operand, body, expected)
        if not (is_numeric(x.type) or is_error(x.type)):
            self.sink.error(f"cannot negate {x.type}", e.span)
            return ir.UnaryOp(ERROR, e.span, "neg", x)
        if isinstance(x, ir.Const):
            return ir.Const(x.type, e.span, -x.value)
        return ir.UnaryOp(x.type, e.span, "neg", x)

    def e_Binary(self, e: ast.Binary, body, expected):
        op = e.op
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
            return ir.BinaryOp(BOOL if op in ("==", "!=", "<", "<=", ">", ">=") else ERROR, e.span, op, left, right)
        if op in ("==", "!="):
            if not comparable(lt, rt):
                self.sink.error(f"cannot compare {lt} with {rt}", e.span)
            if lt == INT and rt == FLOAT:
                left = self.coerce(left, FLOAT, e.left.span)
            return ir.BinaryOp(BOOL, e.span, op, left, right)
        if op in ("<", "<=", ">", ">="):
            if is_numeric(lt) and is_numeric(rt) or (lt == rt and is_stringlike(lt)) or (is_stringlike(lt) and is_stringlike(rt) and STR in (lt, rt)):
                return ir.BinaryOp(BOOL, e.span, op, left, right)
            self.sink.error(f"cannot order {lt} and {rt}", e.span)
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
        self.sink.error(f"cannot apply '{op}' to {lt} and {rt}", e.span)
        return ir.BinaryOp(ERROR, e.span, op, left, right)

    def membership(self, e: ast.Binary, body) -> ir.Expr:
        if isinstance(e.right, ast.ListLit) and e.right.items:
            left = self.expr(e.left, body)
            elem = strip_optional(left.type)
            right = self.expr(e.right, body, ListType(elem) if not is_error(elem) else None)
            if not is_error(right.type) and not comparable(left.type, right.type.elem):
                self.sink.error(f"cannot look for {left.type} in {right.type}", e.span)
            return ir.BinaryOp(BOOL, e.span, e.op, left, right)
        right = self.expr(e.right, body)
        rt = right.type
        if isinstance(rt, ListType):
            left = self.expr(e.left, body, rt.elem)
            if not (is_error(left.type) or comparable(left.type, rt.elem) or isinstance(rt.elem, AnyElem)):
                self.sink.error(f"cannot look for {left.type} in {rt}", e.span)
        elif isinstance(rt, MapType):
            left = self.expr(e.left, body, rt.key)
            if not (is_error(left.type) or comparable(left.type, rt.key)):
                self.sink.error(f"keys of {rt} are {rt.key}, not {left.type}", e.span)
        elif rt == STR or is_stringlike(rt):
            left = self.expr(e.left, body, STR)
            if not (is_stringlike(left.type) or is_error(left.type)):
                self.sink.error(f"`in` on a string looks for a substring, not {left.type}", e.span)
        else:
            left = self.expr(e.left, body)
            if not is_error(rt):
                self.sink.error(f"`{e.op}` needs a list, map or string on the right, got {rt}", e.right.span)
        return ir.BinaryOp(BOOL, e.span, e.op, left, right)

    def e_Is(self, e: ast.Is, body, expected):
        obj = self.expr(e.obj, body)
        t = obj.type
        if not isinstance(t, UnionType):
            if not is_error(t):
                self.sink.error(f"`is` tests the variant of a union value; this is {t}", e.obj.span)
            return ir.IsVariant(BOOL, e.span, obj, (), e.negated)
        u = self.unions[t.name]
        v = u.variant(e.variant)
        if v is None:
            self.sink.error(f"{u.name} has no variant '{e.variant}'{self.suggest(e.variant, [x.name for x in u.variants])}", e.variant_span)
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
            return "lookup", x.type
        if isinstance(x.type, OptionalType):
            return "optional", x.type.inner
        return None

    def e_Coalesce(self, e: ast.Coalesce, body, expected):
        left = self.expr(e.left, body, optional(expected) if expected else None)
        how = self.unwrappable(left)
        if how is None:
            if not is_error(left.type):
                self.sink.error(f"`??` gives a default for a map lookup or an optional value; this is {left.type}", e.left.span)
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
            return ir.OrFail(BOOL, e.span, x, msg, "check")
        if not is_error(x.type):
            self.sink.error(f"`or fail` needs a map lookup, an optional value or a condition; this is {x.type}", e.expr.span)
        return ir.OrFail(ERROR, e.span, x, msg, "check")

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
                self.sink.error(f"map keys must be str or an enum, not {kt}", e.span)
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
            self.sink.error("iterate keys(m) or values(m) here", iter_expr.span)
            elem = ERROR
        else:
            if not is_error(t):
                self.sink.error(f"cannot iterate over {t}", iter_expr.span)
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
                self.sink.error(f"sum() adds numbers, not {x.type}", e.body.span)
            t = x.type if is_numeric(x.type) else ERROR
        else:
            x = self.condition(e.body, body)
            t = {"any": BOOL, "all": BOOL, "count": INT, "find": optional(var.current)}[e.kind]
        body.scopes.pop()
        return ir.Quantified(t, e.span, e.kind, var.slot, it, x)

    # ------------------------------------------------------------ type relations
    def coerce(self, x: ir.Expr, target: Type, span: Span) -> ir.Expr:
        """x as a value of `target`, with int widening; a diagnostic if it does not fit."""
        src = x.type
        if is_error(src) or is_error(target) or src == target:
            return x
        if target == FLOAT and src == INT:
            if isinstance(x, ir.Const):
                return ir.Const(FLOAT, x.span, float(x.value))
            return ir.ToFloat(FLOAT, x.span, x)
        if isinstance(target, OptionalType):
            if src == NONE:
                return replace(x, type=target)
            inner = strip_optional(src)
            coerced = self.coerce(replace(x, type=inner) if isinstance(src, OptionalType) else x, target.inner, span)
            if is_error(coerced.type) and not is_error(inner):
                return coerced
            if isinstance(coerced, ir.ToFloat) and isinstance(src, OptionalType):
                self.sink.error(f"expected {target}, got {src}", span)
            return replace(coerced, type=target) if not isinstance(coerced, ir.ToFloat) else coerced
        if isinstance(target, EnumType) and isinstance(x, ir.Const) and src == STR:
            values = self.enums[target.name].values
            if x.value in values:
                return ir.Const(target, x.span, x.value)
            self.sink.error(f"'{x.value}' is not a member of enum {target.name} ({', '.join(values)})", span)
            return ir.Const(ERROR, x.span, x.value)
        if target == STR and is_stringlike(src):
            return x
        if target in (DATE, DATETIME) and src == STR and isinstance(x, ir.Const):
            return ir.Const(target, x.span, x.value)
        if isinstance(target, UnionType) and isinstance(src, UnionType) and target.name == src.name:
            if target.variants is None or set(src.variants or ()) <= set(target.variants):
                return x
        if isinstance(target, ListType) and isinstance(src, ListType) and (isinstance(src.elem, AnyElem) or self.same(src.elem, target.elem)):
            return replace(x, type=target)
        if isinstance(target, MapType) and isinstance(src, MapType) and self.same(src.key, target.key) and (
            isinstance(src.value, AnyElem) or self.same(src.value, target.value)
        ):
            return replace(x, type=target)
        self.sink.error(f"expected {target}, got {src}", span)
        return replace(x, type=ERROR) if not isinstance(x, ir.Place) else x

    def same(self, a: Type, b: Type) -> bool:
        if a == b or is_error(a) or is_error(b):
            return True
        if isinstance(a, UnionType) and isinstance(b, UnionType) and a.name == b.name and b.variants is None:
            return True
        if isinstance(a, ListType) and isinstance(b, ListType):
            return isinstance(a.elem, AnyElem) or self.same(a.elem, b.elem)
        if isinstance(a, OptionalType) and isinstance(b, OptionalType):
            return self.same(a.inner, b.inner)
        return False

    def unify(self, a: Type, b: Type, span: Span) -> Type:
        if is_error(a):
            return b
        if is_error(b) or a == b:
            return a
        if {a, b} == {INT, FLOAT}:
            return FLOAT
        if a == NONE:
            return optional(b)
        if b == NONE:
            return optional(a)
        if isinstance(a, OptionalType) and self.same(strip_optional(b), a.inner):
            return a
        if isinstance(b, OptionalType) and self.same(strip_optional(a), b.inner):
            return b
        if isinstance(a, UnionType) and isinstance(b, UnionType) and a.name == b.name:
            return UnionType(a.name)
        if isinstance(a, ListType) and isinstance(b, ListType):
            if isinstance(a.elem, AnyElem):
                return b
            if isinstance(b.elem, AnyElem):
                return a
            return ListType(self.unify(a.elem, b.elem, span))
        if isinstance(a, EnumType) and b == STR or isinstance(b, EnumType) and a == STR:
            return STR
        self.sink.error(f"mixed types {a} and {b}", span)
        return ERROR

    @staticmethod
    def suggest(name: str, candidates: Iterable[str]) -> str:
        by_lower = {c.lower(): c for c in candidates if c != name}
        close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
        return f"; did you mean '{by_lower[close[0]]}'?" if close else ""


class _StateOnly:
    """A view of a body in which no local is visible, for `state.NAME`."""

    def __init__(self, body: Body):
        self._body = body

    def lookup(self, name):
        return None

    def __getattr__(self, name):
        return getattr(self._body, name)


_NOT_CONST = ir.NOT_CONSTANT


def comparable(a: Type, b: Type) -> bool:
    if is_error(a) or is_error(b) or a == b:
        return True
    if a == NONE and isinstance(b, OptionalType) or b == NONE and isinstance(a, OptionalType):
        return True
    sa, sb = strip_optional(a), strip_optional(b)
    if sa == sb:
        return True
    if is_numeric(sa) and is_numeric(sb):
        return True
    if is_stringlike(sa) and is_stringlike(sb) and (STR in (sa, sb) or sa == sb):
        return True
    if isinstance(sa, UnionType) and isinstance(sb, UnionType) and sa.name == sb.name:
        return True
    if isinstance(sa, ListType) and isinstance(sb, ListType):
        return isinstance(sa.elem, AnyElem) or isinstance(sb.elem, AnyElem) or comparable(sa.elem, sb.elem)
    if isinstance(sa, MapType) and isinstance(sb, MapType):
        return comparable(sa.value, sb.value) or isinstance(sa.value, AnyElem) or isinstance(sb.value, AnyElem)
    return False


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

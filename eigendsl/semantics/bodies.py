"""Pass 3, bodies: functions, tools, setups, assertions, policies' guards and derived values to IR."""

from __future__ import annotations


from .. import ir
from ..ir import Effect, FunctionKind, Side
from ..syntax import ast
from ..syntax.spans import Span
from .context import Body, Context, first_cycle, suggest
from .statements import always_exits
from ..types import BOOL, ERROR, RecordType, Type, is_error


class BodiesPass(Context):
    """Produces one `ir.Function` per body; checks that results are returned on every path and
    that function calls form no cycle."""

    def new_body(self, kind: FunctionKind, name, effect: str, actor: str, ret, params) -> Body:
        """A body to check; `effect` and `actor` may still be the source's words."""
        body = Body(kind, name, Effect(effect), Side(actor), ret)
        for p in params:
            body.declare(p.name, p.type, p.span)
        return body

    def finish(self, body: Body, stmts: tuple, span: Span, params, doc=None) -> ir.Function:
        if body.ret is not None and body.kind in (FunctionKind.FN, FunctionKind.TOOL, FunctionKind.SETUP) and not always_exits(stmts):
            self.sink.error(f"{body.kind} '{body.name}' must end with `return` or `fail` on every path (it returns {body.ret})", span, code="E045")
        return ir.Function(body.kind, body.name, params, body.ret, body.effect, stmts, body.nslots, body.actor, doc, span)

    def check_fn(self, d: ast.FnDecl) -> ir.Function:
        params, ret, effect = self.fn_sigs[d.name]
        body = self.new_body(FunctionKind.FN, d.name, effect, Side.AGENT, ret, params)
        stmts = self.block(d.body, body)
        for callee in body.calls:
            self.call_graph.add_edge(d.name, callee)
        return self.finish(body, stmts, d.span, params)

    def check_tool(self, d: ast.ToolDecl) -> ir.Function:
        params = self.tool_params[(d.actor, d.name)]
        ret = self.resolve_type(d.ret) if d.ret else None
        body = self.new_body(FunctionKind.TOOL, d.name, d.effect, d.actor, ret, params)
        stmts = self.block(d.body, body)
        if body.effect == Effect.WRITES and not body.writes and not body.calls:
            self.sink.warning(f"tool '{d.name}' is declared `writes` but never writes state", d.span, code="W001")
        return self.finish(body, stmts, d.span, params, d.doc)

    def check_setups(self, decls) -> list[ir.Function]:
        out = []
        for d in self.each_once(decls, ast.SetupDecl, lambda d: (d.actor, d.name), "setup", "E046"):
            params = self.params(d.params, f"setup {d.name}")
            ret = self.resolve_type(d.ret) if d.ret else None
            body = self.new_body(FunctionKind.SETUP, d.name, Effect.WRITES, d.actor, ret, params)
            stmts = self.block(d.body, body)
            out.append(self.finish(body, stmts, d.span, params))
        return out

    def expr_block_function(self, kind, name, actor, params, block: ast.ExprBlock, span) -> ir.Function:
        body = self.new_body(kind, name, Effect.READS, actor, BOOL, params)
        stmts = [self.let(s, body) for s in block.lets]
        result = self.coerce(self.expr(block.result, body, BOOL), BOOL, block.result.span)
        stmts.append(ir.Return(block.result.span, result))
        return ir.Function(kind, name, params, BOOL, Effect.READS, tuple(stmts), body.nslots, body.actor, None, span)

    def check_assertions(self, decls) -> list[ir.Function]:
        return [self.expr_block_function(FunctionKind.ASSERTION, d.name, d.actor, self.params(d.params, f"assertion {d.name}"), d.body, d.span)
                for d in self.each_once(decls, ast.AssertionDecl, lambda d: (d.actor, d.name), "assertion", "E047")]

    def check_policy(self, d: ast.PolicyDecl) -> ir.PolicyDef:
        guards = []
        for g in d.guards:
            candidates = [k for k in self.tool_decls if k[1] == g.tool]
            if not candidates:
                names = sorted({k[1] for k in self.tool_decls})
                self.sink.error(f"guard names unknown tool '{g.tool}'{suggest(g.tool, names)}", g.tool_span, code="E048")
                continue
            key = ("agent", g.tool) if ("agent", g.tool) in self.tool_decls else candidates[0]
            params = self.tool_params[key]
            fn = self.expr_block_function(FunctionKind.GUARD, f"{d.name}:{g.tool}", key[0], params, g.body, g.span)
            guards.append(ir.GuardDef(d.name, g.tool, g.enforce, fn, self.guard_outcome(g), g.reason, g.span))
        return ir.PolicyDef(d.name, d.text, tuple(guards), d.span)

    def guard_outcome(self, g: ast.Guard) -> ir.Outcome:
        """What a violation of the guard calls for (`else refuse`, the default, or `else transfer`).
        A transfer needs the domain to say how one is made: its `transfer_tool` setting."""
        if g.outcome is None:
            return ir.Outcome.REFUSE
        words = [o.value for o in ir.Outcome]
        if g.outcome not in words:
            self.sink.error(f"unknown guard outcome '{g.outcome}' (known: {', '.join(words)}){suggest(g.outcome, words)}",
                            g.outcome_span, code="E054")
            return ir.Outcome.REFUSE
        outcome = ir.Outcome(g.outcome)
        if outcome == ir.Outcome.TRANSFER:
            setting = next((s for s in self.domain_decl.settings if s.name == "transfer_tool"), None) if self.domain_decl else None
            tool = setting.value.value if setting is not None else None
            if tool is None or ("agent", tool) not in self.tool_decls:
                what = f"names no agent tool ('{tool}')" if setting is not None else "is not given"
                self.sink.error(f"`else transfer` needs the domain setting transfer_tool, the agent's tool that hands over "
                                f"to a human; it {what}", g.outcome_span, code="E055")
        return outcome

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
                self.sink.error("`derive` names a field of a record in state, e.g. `derive surroundings.line_active = ...`", d.target.span, code="E049")
                continue
            root = self.state[node.id]
            path.reverse()
            t: Type = root.type
            for name in path:
                if not isinstance(t, RecordType):
                    self.sink.error(f"cannot derive '{name}': {t} has no fields", d.target.span, code="E050")
                    t = ERROR
                    break
                f = self.records[t.name].field(name)
                if f is None:
                    self.sink.error(f"{t} has no field '{name}'", d.target.span, code="E051")
                    t = ERROR
                    break
                t = f.type
            if is_error(t):
                continue
            key = (node.id, tuple(path))
            if key in self.derived_paths:
                self.sink.error("this field is already derived", d.span, ("derived here", self.derived_paths[key]), code="E052")
                continue
            self.derived_paths[key] = d.span
            body = Body(FunctionKind.DERIVE, ".".join((node.id, *path)), Effect.READS, Side.AGENT, t)
            value = self.coerce(self.expr(d.value, body, t), t, d.value.span)
            fn = ir.Function(FunctionKind.DERIVE, body.name, (), t, Effect.READS, (ir.Return(d.value.span, value),), body.nslots,
                             span=d.span)
            out.append(ir.DeriveDef(root.side, node.id, tuple(path), fn, d.span))
        return out

    def check_recursion(self) -> None:
        cycle = first_cycle(self.call_graph)
        if cycle is not None:
            d = self.fn_decls[cycle[0]]
            self.sink.error(f"recursion is not allowed (bodies must be total): {' -> '.join(cycle + [cycle[0]])}", d.span, code="E053")

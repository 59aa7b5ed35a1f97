"""The checker: the passes in order, from a parsed program to a typed `ir.Domain`.

1. names (`names.py`): which types, functions and tools exist; duplicates reported.
2. declarations (`declarations.py`): types resolved; state, facts, consts and signatures typed.
3. bodies (`bodies.py`, over `statements.py`, `places.py`, `expressions.py`, `calls.py`,
   `narrowing.py` and `relations.py`): every function-like body lowered to IR, effects enforced.
4. tasks (`tasks.py`): the tasks of the last module, whose calls name checked bodies.
5. recursion: the call graph the bodies recorded has no cycle.

Every pass keeps going after an error, using ErrorType to avoid cascades, so one run reports
everything it can.
"""

from __future__ import annotations

from .. import ir
from ..syntax import ast
from ..syntax.diagnostics import DiagnosticSink
from ..syntax.spans import Span
from .bodies import BodiesPass
from .calls import CallsPass
from .declarations import DeclarationsPass
from .expressions import ExpressionsPass
from .names import NamesPass
from .narrowing import NarrowingPass
from .places import PlacesPass
from .relations import RelationsPass
from .statements import StatementsPass
from .tasks import TasksPass

# Declarations each pass reads, by class; tests/test_dispatch.py checks that none is missing.
DECLARATIONS: dict[type, str] = {
    ast.DomainDecl: "names",
    ast.ImportDecl: "compiler (read_modules)",
    ast.EnumDecl: "names, declarations",
    ast.RecordDecl: "names, declarations",
    ast.UnionDecl: "names, declarations",
    ast.StateDecl: "declarations",
    ast.FactsDecl: "declarations",
    ast.ConstDecl: "declarations",
    ast.FnDecl: "names, declarations, bodies",
    ast.ToolDecl: "names, declarations, bodies",
    ast.SetupDecl: "bodies",
    ast.AssertionDecl: "bodies",
    ast.DeriveDecl: "bodies",
    ast.PolicyDecl: "bodies",
    ast.TaskDecl: "tasks",
}


class Checker(NamesPass, DeclarationsPass, BodiesPass, TasksPass, StatementsPass, PlacesPass,
              ExpressionsPass, CallsPass, NarrowingPass, RelationsPass):
    """All passes over one program; `check()` runs them in order."""

    def check(self) -> ir.Domain | None:
        decls = [d for m in self.modules for d in m.decls]
        for d in decls:
            if type(d) not in DECLARATIONS:
                raise NotImplementedError(f"the checker has no pass for {type(d).__name__}")
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
            self.sink.error("no `domain` declaration: a domain file starts with `domain NAME { ... }`", span, code="E019")
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
                ir.ConstDef(name, c.type, ir.Function(ir.FunctionKind.CONST, name, (), c.type, ir.Effect.PURE, (ir.Return(c.span, c),), 0, span=c.span), c.span)
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



def check(modules: list[ast.Module], sink: DiagnosticSink) -> ir.Domain | None:
    """The typed domain of a parsed program, or None; every problem goes to the sink."""
    return Checker(modules, sink).check()

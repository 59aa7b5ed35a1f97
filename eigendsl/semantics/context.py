"""What every checker pass shares: the declaration tables, the scopes of a body, and the sink.

Each pass is a class over `Context`; `check.Checker` combines them, so a pass reads the tables
that earlier passes filled (each pass's docstring says which ones it fills).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable, Iterable

import networkx as nx

from .. import ir
from ..syntax import ast
from ..syntax.diagnostics import DiagnosticSink
from ..syntax.spans import Span
from ..types import Type

MUTATORS = {
    "list": {"append": 1, "extend": 1, "insert": 2, "remove": 1, "remove_at": 1, "clear": 0},
    "map": {"remove": 1, "clear": 0},
}
KNOWN_SETTINGS = {"now", "data", "user_data", "words", "intro", "arguments", "transfer_tool", "transfer_message", "confirm",
                  "calls_per_turn"}
RESERVED_NAMES = {"now", "fact", "state"}
# Parameters may be called `state` (tool parameters mirror outside APIs, e.g. an address's
# state); in such a body, `state.NAME` is that parameter's field and state is reached by name.
RESERVED_PARAM_NAMES = RESERVED_NAMES - {"state"}
NOT_CONST = ir.NOT_CONSTANT


@dataclass
class Var:
    slot: int
    declared: Type
    current: Type
    span: Span


@dataclass
class Body:
    """What the checker knows while checking one function-like body."""

    kind: ir.FunctionKind
    name: str
    effect: ir.Effect
    actor: ir.Side
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


class StateOnly:
    """A view of a body in which no local is visible, for `state.NAME`."""

    def __init__(self, body: Body):
        self._body = body

    def lookup(self, name):
        return None

    def __getattr__(self, name):
        return getattr(self._body, name)


def suggest(name: str, candidates: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest candidate (case-insensitive), or nothing."""
    by_lower = {c.lower(): c for c in candidates if c != name}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
    return f"; did you mean '{by_lower[close[0]]}'?" if close else ""


def first_cycle(graph: nx.DiGraph) -> list | None:
    """One cycle of the graph, starting at its earliest-added node (the same one on every run)."""
    try:
        edges = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return None
    cycle = [u for u, _ in edges]
    order = {node: i for i, node in enumerate(graph)}
    start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
    return cycle[start:] + cycle[:start]


class Context:
    """The tables the passes fill, in the order they fill them."""

    def __init__(self, modules: list[ast.Module], sink: DiagnosticSink):
        self.modules = modules
        self.sink = sink
        # names
        self.domain_decl: ast.DomainDecl | None = None
        self.type_decls: dict[str, ast.Decl] = {}
        self.fn_decls: dict[str, ast.FnDecl] = {}
        self.tool_decls: dict[tuple[str, str], ast.ToolDecl] = {}
        self.now = "1970-01-01T00:00:00"
        # declarations
        self.enums: dict[str, ir.EnumDef] = {}
        self.records: dict[str, ir.RecordDef] = {}
        self.unions: dict[str, ir.UnionDef] = {}
        self.state: dict[str, ir.StateField] = {}
        self.facts: dict[str, ir.FieldDef] = {}
        self.consts: dict[str, ir.Const] = {}
        self.fn_sigs: dict[str, tuple[tuple[ir.ParamDef, ...], Type | None, str]] = {}
        self.tool_params: dict[tuple[str, str], tuple[ir.ParamDef, ...]] = {}
        # bodies
        self.derived_paths: dict[tuple[str, tuple[str, ...]], Span] = {}
        self.call_graph = nx.DiGraph()
        self.setups_by_key: dict[tuple[str, str], ir.Function] = {}
        self.assertions_by_key: dict[tuple[str, str], ir.Function] = {}

    def each_once(self, decls: Iterable[ast.Decl], cls: type, key: Callable, what: str, code: str) -> list:
        """The declarations of class `cls`, each key once; a repeat is reported, at its span."""
        out, seen = [], {}
        for d in decls:
            if not isinstance(d, cls):
                continue
            if key(d) in seen:
                self.sink.error(f"{what} '{d.name}' is declared twice", d.span, ("first declared here", seen[key(d)]), code=code)
                continue
            seen[key(d)] = d.span
            out.append(d)
        return out

"""The domain's tool graph (networkx): tools, the state tables they read and write, data flow.

Nodes are `tool:NAME` and `table:NAME`. Edges: `table -> tool` (the tool reads it),
`tool -> table` (the tool writes it), and `tool -> tool` labelled with a parameter name
where a field of the first tool's result type has the name of the second tool's parameter
(get_user_details returns a User whose `reservations` hold what `reservation_id` takes).
"""

from __future__ import annotations

import networkx as nx

from .. import ir
from ..types import ListType, MapType, OptionalType, RecordType, UnionType


def tables_touched(domain: ir.Domain, fn: ir.Function, seen: set[str] | None = None) -> tuple[set[str], set[str]]:
    """(tables read, tables written) by a body, through the fns it calls."""
    seen = set() if seen is None else seen
    reads, writes = set(), set()
    fns = {f.name: f for f in domain.functions}
    for node in ir.walk_exprs(fn):
        if isinstance(node, ir.StateRoot):
            reads.add(node.name)
        elif isinstance(node, ir.CallFn) and node.name in fns and node.name not in seen:
            seen.add(node.name)
            r, w = tables_touched(domain, fns[node.name], seen)
            reads |= r
            writes |= w
    for stmt in walk_stmts(fn.body):
        target = getattr(stmt, "target", None)
        if isinstance(target, ir.Place) and target.root == "state":
            writes.add(target.name)
    return reads, writes


def walk_stmts(body):
    for stmt in body:
        yield stmt
        for name in ("body", "then", "orelse", "else_"):
            inner = getattr(stmt, name, None)
            if isinstance(inner, tuple):
                yield from walk_stmts(inner)


def field_names(domain: ir.Domain, t, depth: int = 0) -> set[str]:
    """Field names reachable in a type (records, union variants, lists, maps), a few levels deep."""
    if t is None or depth > 3:
        return set()
    if isinstance(t, OptionalType):
        return field_names(domain, t.inner, depth)
    if isinstance(t, (ListType,)):
        return field_names(domain, t.elem, depth)
    if isinstance(t, MapType):
        return field_names(domain, t.value, depth)
    out: set[str] = set()
    if isinstance(t, RecordType):
        for r in domain.records:
            if r.name == t.name:
                for f in r.fields:
                    out.add(f.name)
                    out |= field_names(domain, f.type, depth + 1)
    elif isinstance(t, UnionType):
        for u in domain.unions:
            if u.name == t.name:
                for v in u.variants:
                    for f in v.fields:
                        out.add(f.name)
                        out |= field_names(domain, f.type, depth + 1)
    return out


def singular(name: str) -> str:
    return name[:-1] if name.endswith("s") else name


def build(domain: ir.Domain) -> nx.DiGraph:
    g = nx.DiGraph()
    for sf in domain.state:
        g.add_node(f"table:{sf.name}", kind="table", side=sf.side)
    for tool in domain.tools:
        reads, writes = tables_touched(domain, tool)
        g.add_node(f"tool:{tool.name}", kind="tool", actor=tool.actor, effect=tool.effect)
        for t in reads:
            g.add_edge(f"table:{t}", f"tool:{tool.name}", kind="reads")
        for t in writes:
            g.add_edge(f"tool:{tool.name}", f"table:{t}", kind="writes")
    for a in domain.tools:
        produced = field_names(domain, a.ret) | ({singular(a.name.split("_", 1)[-1]) + "_id"} if a.ret else set())
        produced |= {singular(n) for n in produced} | {singular(n) + "_id" for n in produced}
        for b in domain.tools:
            if a is b:
                continue
            fed = [p.name for p in b.params if p.name in produced]
            if fed:
                g.add_edge(f"tool:{a.name}", f"tool:{b.name}", kind="data", params=tuple(fed))
    return g


def write_tools(g: nx.DiGraph) -> list[str]:
    return sorted(n[5:] for n, d in g.nodes(data=True) if d["kind"] == "tool" and d["effect"] == ir.Effect.WRITES)


def feeders(g: nx.DiGraph, tool: str) -> list[str]:
    """Read tools whose results feed a parameter of `tool` (the reads a workflow starts with)."""
    return sorted(a[5:] for a, _, d in g.in_edges(f"tool:{tool}", data=True)
                  if d.get("kind") == "data" and g.nodes[a]["effect"] != ir.Effect.WRITES)


def summary(g: nx.DiGraph) -> dict:
    kinds = {}
    for _, _, d in g.edges(data=True):
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    return {"tools": sum(1 for _, d in g.nodes(data=True) if d["kind"] == "tool"),
            "tables": sum(1 for _, d in g.nodes(data=True) if d["kind"] == "table"), "edges": kinds}

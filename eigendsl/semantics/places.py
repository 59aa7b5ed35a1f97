"""Places and effects: assignable paths from a local or a state root, and the effect they need."""

from __future__ import annotations

from .. import ir
from ..ir import Effect, FunctionKind, PlaceRoot, StepKind
from ..syntax import ast
from ..syntax.spans import Span
from .context import Body, Context, suggest
from ..types import (
    ERROR, INT, STR, ListType, MapType, OptionalType, RecordType, Type, UnionType, is_error,
)


class PlacesPass(Context):
    """Establishes that writes go only to state reached from a `writes` body, never to derived paths
    or union tags, and that reads of state happen only where the body's effect allows them."""

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
                self.sink.error("only variables, state, and their fields and elements can be assigned", e.span, code="E080")
            return None if quiet else ir.Place(PlaceRoot.LOCAL, 0, None, "?", (), ERROR, e.span)
        var = None if qualified else body.lookup(node.id)
        if var is not None:
            root, slot, side, t = PlaceRoot.LOCAL, var.slot, None, var.current
        elif node.id in self.state:
            sf = self.state[node.id]
            root, slot, side, t = PlaceRoot.STATE, None, sf.side, sf.type
            if not quiet:
                self.require_effect(body, Effect.WRITES, f"write state '{node.id}'", e.span)
                if not chain and isinstance(t, (MapType, ListType)) and not whole_table:
                    self.sink.error(f"assign rows of table '{node.id}' (e.g. `{node.id}[key] = row`), not the whole table", e.span, code="E081")
        else:
            if not quiet:
                self.sink.error(f"cannot assign to '{node.id}': not a variable or state{suggest(node.id, self.visible_names(body))}", node.span, code="E082")
            return None if quiet else ir.Place(PlaceRoot.LOCAL, 0, None, node.id, (), ERROR, e.span)
        steps = []
        path = []
        for link in chain:
            if is_error(t):
                break
            if isinstance(link, ast.Attribute):
                ft = self.field_type(t, link.name, link.name_span, quiet, for_write=True)
                if ft is None:
                    return None if quiet else ir.Place(root, slot, side, node.id, tuple(steps), ERROR, e.span)
                steps.append(ir.Step(StepKind.FIELD, link.name))
                path.append(link.name)
                t = ft
            else:
                if isinstance(t, ListType):
                    key = self.coerce(self.expr(link.key, body, INT), INT, link.key.span) if not quiet else None
                    steps.append(ir.Step(StepKind.INDEX, None, key))
                    t = t.elem
                elif isinstance(t, MapType):
                    key = self.coerce(self.expr(link.key, body, t.key), t.key, link.key.span) if not quiet else None
                    steps.append(ir.Step(StepKind.KEY, None, key))
                    t = t.value
                else:
                    if not quiet:
                        self.sink.error(f"cannot index into {t}", link.span, code="E111")
                    return None if quiet else ir.Place(root, slot, side, node.id, tuple(steps), ERROR, e.span)
        if root == PlaceRoot.STATE and not quiet:
            for i in range(1, len(path) + 1):
                if (node.id, tuple(path[:i])) in self.derived_paths:
                    self.sink.error(f"'{node.id}.{'.'.join(path[:i])}' is derived from other state and cannot be written", e.span, code="E084")
        return ir.Place(root, slot, side, node.id, tuple(steps), t, e.span)

    def field_type(self, t: Type, name: str, span: Span, quiet=False, for_write=False) -> Type | None:
        if isinstance(t, RecordType):
            f = self.records[t.name].field(name)
            if f is None:
                if not quiet:
                    names = [x.name for x in self.records[t.name].fields]
                    self.sink.error(f"{t.name} has no field '{name}'{suggest(name, names)}", span, code="E085")
                return None
            return f.type
        if isinstance(t, UnionType):
            u = self.unions[t.name]
            if name == u.tag_field:
                if for_write:
                    if not quiet:
                        self.sink.error(f"the tag '{name}' of {t.name} cannot be assigned; construct another variant", span, code="E086")
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
                        span, code="E087")
                else:
                    self.sink.error(f"no variant of {t.name} has a field '{name}'", span, code="E088")
            return None
        if isinstance(t, OptionalType):
            if not quiet:
                self.sink.error(f"this value may be none ({t}); unwrap it first with `or fail \"...\"`, `??`, or `if x != none`", span, code="E089")
            return None
        if not is_error(t) and not quiet:
            self.sink.error(f"{t} has no field '{name}'", span, code="E090")
        return None

    def require_effect(self, body: Body, need: Effect, what: str, span: Span) -> None:
        if body.kind == FunctionKind.CONST:
            self.sink.error(f"a constant cannot {what}", span, code="E091")
            return
        if body.effect.rank < need.rank:
            fixed = {FunctionKind.GUARD: "a guard", FunctionKind.ASSERTION: "an assertion", FunctionKind.DERIVE: "a derived value",
                     FunctionKind.TASK: "a value in a task"}
            kind = fixed.get(body.kind, f"{body.kind} '{body.name}' ({body.effect})")
            hint = "" if body.kind in fixed else f"; declare it `{need}`"
            self.sink.error(f"{kind} cannot {what}{hint}", span, code="E092")
        if need == Effect.WRITES:
            body.writes = True

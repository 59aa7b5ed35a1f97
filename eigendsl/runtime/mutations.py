"""Compiling writes: assignments to state paths and the mutators of lists, maps and tables (a mixin of Program)."""

from __future__ import annotations

from typing import Callable

from .. import ir
from ..ir import MutateMethod, PlaceRoot
from ..builtins import format_value
from ..errors import EigRuntimeError
from ..types import MapType
from .evaluation import _describe_key, _PathWalker
from .store import MISSING


class MutationCompiler:
    """Program's compilers for statements that change values in place or in the state."""

    def s_Mutate(self, s: ir.Mutate):
        args = [self.expr(a) for a in s.args]
        method = s.method
        t = s.target.type
        if s.target.root == PlaceRoot.STATE and not s.target.steps:
            return self.table_mutation(s.target, method, args)

        def compute(slots, ctx):
            return [a(slots, ctx) for a in args]

        if isinstance(t, MapType):
            def update(old, vals):
                new = dict(old)
                if method == MutateMethod.CLEAR:
                    return {}
                key = vals[0]
                if key not in new:
                    raise EigRuntimeError(f"{_describe_key(key)} is not a key of {s.target.name}")
                del new[key]
                return new
        else:
            def update(old, vals):
                if method == MutateMethod.APPEND:
                    return old + [vals[0]]
                if method == MutateMethod.EXTEND:
                    return old + list(vals[0])
                if method == MutateMethod.CLEAR:
                    return []
                new = list(old)
                if method == MutateMethod.INSERT:
                    new.insert(vals[0], vals[1])
                elif method == MutateMethod.REMOVE:
                    try:
                        new.remove(vals[0])
                    except ValueError:
                        raise EigRuntimeError(f"{format_value(vals[0])} is not in the list") from None
                elif method == MutateMethod.REMOVE_AT:
                    try:
                        new.pop(vals[0])
                    except IndexError:
                        raise EigRuntimeError(f"index {vals[0]} is out of range") from None
                return new
        return self.place_update(s.target, compute, update, False)

    def table_mutation(self, place: ir.Place, method: MutateMethod, args: list[Callable]):
        name = place.name
        kind = self.state_kinds[name]

        def run(slots, ctx):
            state = ctx.state
            vals = [a(slots, ctx) for a in args]
            if kind == "map":
                if method == MutateMethod.REMOVE:
                    if state.row(name, vals[0]) is MISSING:
                        raise EigRuntimeError(f"{_describe_key(vals[0])} is not a key of {name}")
                    state.delete_row(name, vals[0])
                else:  # clear
                    for key in list(state.keys(name)):
                        state.delete_row(name, key)
                return None
            if method == MutateMethod.APPEND:
                state.append_row(name, vals[0])
                return None
            rows = state.materialize(name)
            if method == MutateMethod.EXTEND:
                for v in vals[0]:
                    state.append_row(name, v)
                return None
            if method == MutateMethod.INSERT:
                rows.insert(vals[0], vals[1])
            elif method == MutateMethod.REMOVE:
                if vals[0] not in rows:
                    raise EigRuntimeError(f"{format_value(vals[0])} is not in {name}")
                rows.remove(vals[0])
            elif method == MutateMethod.REMOVE_AT:
                if not -len(rows) <= vals[0] < len(rows):
                    raise EigRuntimeError(f"index {vals[0]} is out of range for {name}")
                rows.pop(vals[0])
            elif method == MutateMethod.CLEAR:
                rows = []
            state.replace_list(name, rows)
            return None

        return run

    def place_update(self, place: ir.Place, compute: Callable, update: Callable, may_create: bool):
        """A statement that replaces the value at `place` with update(old, compute())."""
        steps = [(st.kind, st.name, self.expr(st.expr) if st.expr is not None else None) for st in place.steps]
        where = place.name

        def evaluate(slots, ctx):
            value = compute(slots, ctx)
            keys = [e(slots, ctx) if e is not None else None for _, _, e in steps]
            return keys, lambda old: update(old, value)

        if place.root == PlaceRoot.LOCAL and not steps:  # `n += 1`, `x = y`: no path to copy
            slot = place.slot

            def run_plain(slots, ctx):
                value = compute(slots, ctx)
                slots[slot] = update(slots[slot], value)

            return run_plain
        if place.root == PlaceRoot.LOCAL:
            slot = place.slot
            walker = _PathWalker(steps, where, may_create)

            def run_local(slots, ctx):
                keys, leaf = evaluate(slots, ctx)
                slots[slot] = walker.walk(slots[slot], 0, keys, leaf)

            return run_local

        name = place.name
        kind = self.state_kinds[name]
        if kind == "row":
            walker = _PathWalker(steps, where, may_create)

            def run_record(slots, ctx):
                keys, leaf = evaluate(slots, ctx)
                ctx.state.set_record(name, walker.walk(ctx.state.record(name), 0, keys, leaf))

            return run_record

        rest = _PathWalker(steps[1:], where, may_create)
        creates_row = may_create and len(steps) == 1 and kind == "map"

        def run_row(slots, ctx):
            keys, leaf = evaluate(slots, ctx)
            state = ctx.state
            if kind == "list" and isinstance(keys[0], int) and keys[0] < 0:
                keys[0] += state.length(name)
            old = state.row(name, keys[0])
            if old is MISSING and not creates_row:
                what = "index" if kind == "list" else "key"
                raise EigRuntimeError(f"{what} {_describe_key(keys[0])} is not in {name}")
            new = rest.walk(old, 0, keys[1:], leaf)
            try:
                state.set_row(name, keys[0], new)
            except IndexError:
                raise EigRuntimeError(f"index {keys[0]} is out of range in {name}") from None

        return run_row

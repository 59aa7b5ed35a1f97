"""What the interpreter's closures share at run time: the call context, the return signal, path updates, binary operators."""

from __future__ import annotations

import operator
from dataclasses import fields
from typing import Any, Callable

from .. import ir
from ..ir import AssignOperator, BinaryOperator, PlaceRoot, StepKind
from ..errors import EigRuntimeError
from .store import MISSING, State, TableView


Fn = Callable[[list, "Context"], Any]


class Context:
    """What running code can see: the state, the task's facts, compiled functions."""

    __slots__ = ("state", "facts", "program", "deriving")

    def __init__(self, state: State, facts: dict, program: Any):  # program: the interpreter's Program
        self.state = state
        self.facts = facts
        self.program = program
        self.deriving = False


class _Return:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _describe_key(key) -> str:
    return repr(key) if isinstance(key, str) else str(key)


class _PathWalker:
    """Copies the path from a row down to the updated spot (field, list index or map key)."""

    def __init__(self, steps, where: str, may_create: bool):
        self.steps = steps
        self.where = where
        self.may_create = may_create

    def walk(self, obj, i, keys, leaf):
        if i == len(self.steps):
            return leaf(obj)
        kind, fname, _ = self.steps[i]
        key = fname if kind == StepKind.FIELD else keys[i]
        if kind == StepKind.INDEX:
            if not isinstance(key, int) or not -len(obj) <= key < len(obj):
                raise EigRuntimeError(f"index {key} is out of range in {self.where}")
            new = list(obj)
            new[key] = self.walk(obj[key], i + 1, keys, leaf)
            return new
        last = i == len(self.steps) - 1
        if key in obj:
            child = obj[key]
        elif last and self.may_create and kind == StepKind.KEY:
            child = MISSING
        else:
            raise EigRuntimeError(f"{_describe_key(key)} is not a key of {self.where}")
        new = dict(obj)
        new[key] = self.walk(child, i + 1, keys, leaf)
        return new


def _reads(node: Any, bodies: dict, seen: set, roots: set) -> bool:
    """Whether IR code reads a task fact, directly or through the functions it calls; the
    state roots it reads are added to `roots`."""
    if isinstance(node, ir.Fact):
        return True
    facts = False
    if isinstance(node, (ir.StateRoot, ir.Place)) and (isinstance(node, ir.StateRoot) or node.root == PlaceRoot.STATE):
        roots.add(node.name)
    if isinstance(node, ir.CallFn) and node.name not in seen:
        seen.add(node.name)
        facts = _reads(bodies.get(node.name, ()), bodies, seen, roots)
    if isinstance(node, (tuple, list)):
        items = node
    elif isinstance(node, (ir.Expr, ir.Stmt, ir.Place, ir.Step)):
        items = [getattr(node, f.name) for f in fields(node)]
    else:
        return facts
    for x in items:
        facts = _reads(x, bodies, seen, roots) or facts
    return facts


def _set_path(obj: dict, path: tuple[str, ...], value: Any) -> dict:
    new = dict(obj)
    if len(path) == 1:
        new[path[0]] = value
    else:
        new[path[0]] = _set_path(obj[path[0]], path[1:], value)
    return new


def _source_name(e: ir.Expr) -> str:
    if isinstance(e, ir.Local):
        return e.name
    if isinstance(e, ir.GetField):
        return f"{_source_name(e.obj)}.{e.name}"
    if isinstance(e, ir.StateRoot):
        return e.name
    if isinstance(e, ir.GetIndex):
        return f"{_source_name(e.obj)}[...]"
    return "the value"


def _member(a, b) -> bool:
    """`a in b`: a key of a map (or map table), an element of a list (or a list table's rows)."""
    if isinstance(b, TableView) and b.kind == "list":
        return a in b.values()
    return a in b


BINARY: dict[BinaryOperator, Callable[[Any, Any], Any]] = {  # the operator module's: no Python frame each
    BinaryOperator.ADD: operator.add,
    BinaryOperator.SUB: operator.sub,
    BinaryOperator.MUL: operator.mul,
    BinaryOperator.DIV: operator.truediv,
    BinaryOperator.FLOORDIV: operator.floordiv,
    BinaryOperator.MOD: operator.mod,
    BinaryOperator.EQ: operator.eq,
    BinaryOperator.NE: operator.ne,
    BinaryOperator.LT: operator.lt,
    BinaryOperator.LE: operator.le,
    BinaryOperator.GT: operator.gt,
    BinaryOperator.GE: operator.ge,
    BinaryOperator.IN: _member,
    BinaryOperator.NOT_IN: lambda a, b: not _member(a, b),
}
DIVISIONS = frozenset({BinaryOperator.DIV, BinaryOperator.FLOORDIV, BinaryOperator.MOD})  # may divide by zero
# `and` and `or` evaluate their right side only when needed: closures over the compiled sides.
SHORT_CIRCUIT: dict[BinaryOperator, Callable[[Fn, Fn], Fn]] = {
    BinaryOperator.AND: lambda left, right: lambda slots, ctx: left(slots, ctx) and right(slots, ctx),
    BinaryOperator.OR: lambda left, right: lambda slots, ctx: left(slots, ctx) or right(slots, ctx),
}
ASSIGNMENTS: dict[AssignOperator, Callable[[Any, Any], Any]] = {  # the new value from the old and the assigned one
    AssignOperator.SET: lambda old, new: new,
    AssignOperator.ADD: operator.add,
    AssignOperator.SUB: operator.sub,
}

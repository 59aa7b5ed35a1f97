"""The typed IR: the single source of truth that every backend and the runtime read.

Every expression node carries its resolved type; names are resolved to local slots, state
roots, facts, functions or builtins. The IR round-trips through JSON (`ir.json` in a compiled
folder) with `to_json` / `from_json`, so the runtime never needs the source.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .types import Type, TypeKinds, parse_type
from .syntax.spans import NOWHERE, Span

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Expr:
    type: Type
    span: Span


@dataclass(frozen=True)
class Const(Expr):
    value: Any  # a JSON value


@dataclass(frozen=True)
class Local(Expr):
    slot: int
    name: str


@dataclass(frozen=True)
class StateRoot(Expr):
    """A top-level state field: a table (map/list) or a singleton record."""

    side: str  # agent | user
    name: str


@dataclass(frozen=True)
class Fact(Expr):
    name: str


@dataclass(frozen=True)
class GetField(Expr):
    obj: Expr
    name: str


@dataclass(frozen=True)
class GetIndex(Expr):
    """list[int], map[key] or str[int]; a missing key is a runtime error."""

    obj: Expr
    key: Expr


@dataclass(frozen=True)
class GetSlice(Expr):
    obj: Expr
    lo: Expr | None
    hi: Expr | None


@dataclass(frozen=True)
class CallBuiltin(Expr):
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class CallFn(Expr):
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Construct(Expr):
    """A record or union-variant value; every field given (defaults filled in by the checker)."""

    record: str
    variant: str | None  # variant name for unions
    fields: tuple[tuple[str, Expr], ...]


@dataclass(frozen=True)
class ListExpr(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class MapExpr(Expr):
    entries: tuple[tuple[Expr, Expr], ...]


@dataclass(frozen=True)
class UnaryOp(Expr):
    op: str
    operand: Expr


@dataclass(frozen=True)
class BinaryOp(Expr):
    """Arithmetic, comparison, and/or (short-circuit), in / not in."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class IsVariant(Expr):
    obj: Expr
    tags: tuple[str, ...]  # JSON tag values
    negated: bool


@dataclass(frozen=True)
class IfExpr(Expr):
    cond: Expr
    then: Expr
    else_: Expr


@dataclass(frozen=True)
class Coalesce(Expr):
    left: Expr
    right: Expr


@dataclass(frozen=True)
class OrFail(Expr):
    """Unwrap a lookup (mode "lookup") or optional ("optional"), or check a bool ("check")."""

    expr: Expr
    message: Expr
    mode: str


@dataclass(frozen=True)
class Comprehension(Expr):
    elem: Expr
    slot: int
    iter: Expr
    cond: Expr | None


@dataclass(frozen=True)
class Quantified(Expr):
    kind: str  # any | all | count | find | sum
    slot: int
    iter: Expr
    body: Expr


@dataclass(frozen=True)
class ToFloat(Expr):
    """Implicit widening of an int where a float is expected."""

    operand: Expr


@dataclass(frozen=True)
class Format(Expr):
    """String interpolation."""

    parts: tuple[Any, ...]  # str or Expr


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Step:
    """One step of a place path: a record field, a list index or a map key."""

    kind: str  # field | index | key
    name: str | None = None
    expr: Expr | None = None


@dataclass(frozen=True)
class Place:
    """Where a write lands: a local variable or a state root, then a path into it."""

    root: str  # local | state
    slot: int | None
    side: str | None
    name: str
    steps: tuple[Step, ...]
    type: Type
    span: Span


@dataclass(frozen=True)
class Stmt:
    span: Span


@dataclass(frozen=True)
class Let(Stmt):
    slot: int
    name: str
    value: Expr


@dataclass(frozen=True)
class Assign(Stmt):
    target: Place
    op: str  # = | += | -=
    value: Expr


@dataclass(frozen=True)
class Mutate(Stmt):
    """In-place collection update: append, extend, insert, remove, remove_at, delete, clear."""

    target: Place
    method: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: tuple[Stmt, ...]
    else_: tuple[Stmt, ...]


@dataclass(frozen=True)
class For(Stmt):
    slot: int
    slot2: int | None  # value slot when iterating a map's items
    iter: Expr
    body: tuple[Stmt, ...]
    mode: str  # list | keys | items


@dataclass(frozen=True)
class Return(Stmt):
    value: Expr | None


@dataclass(frozen=True)
class Fail(Stmt):
    message: Expr


@dataclass(frozen=True)
class Eval(Stmt):
    expr: Expr


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: Type
    default: Any = None  # JSON value; meaningful when has_default
    has_default: bool = False
    doc: str | None = None
    span: Span = NOWHERE


@dataclass(frozen=True)
class EnumDef:
    name: str
    members: tuple[tuple[str, str], ...]  # (name, JSON value)
    doc: str | None = None
    span: Span = NOWHERE

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(v for _, v in self.members)


class HasFields:
    fields: tuple[FieldDef, ...]

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class RecordDef(HasFields):
    name: str
    fields: tuple[FieldDef, ...]
    doc: str | None = None
    span: Span = NOWHERE


@dataclass(frozen=True)
class VariantDef(HasFields):
    name: str
    tag: str
    fields: tuple[FieldDef, ...]
    span: Span = NOWHERE


@dataclass(frozen=True)
class UnionDef:
    name: str
    tag_field: str
    variants: tuple[VariantDef, ...]
    doc: str | None = None
    span: Span = NOWHERE

    def variant(self, name_or_tag: str) -> VariantDef | None:
        for v in self.variants:
            if v.name == name_or_tag or v.tag == name_or_tag:
                return v
        return None


@dataclass(frozen=True)
class StateField:
    side: str
    name: str
    type: Type
    doc: str | None = None
    span: Span = NOWHERE


@dataclass(frozen=True)
class ParamDef:
    name: str
    type: Type
    default: Any = None
    has_default: bool = False
    doc: str | None = None
    span: Span = NOWHERE


@dataclass(frozen=True)
class Function:
    """Shared shape of fns, tools, setups, assertions and guards: params and a body."""

    kind: str  # fn | tool | setup | assertion | guard | derive | const
    name: str
    params: tuple[ParamDef, ...]
    ret: Type | None
    effect: str  # pure | reads | writes
    body: tuple[Stmt, ...]
    nslots: int
    actor: str = "agent"
    doc: str | None = None
    span: Span = NOWHERE


@dataclass(frozen=True)
class GuardDef:
    policy: str
    tool: str
    enforce: bool
    function: Function
    span: Span = NOWHERE


@dataclass(frozen=True)
class PolicyDef:
    name: str
    text: str
    guards: tuple[GuardDef, ...]
    span: Span = NOWHERE


@dataclass(frozen=True)
class DeriveDef:
    side: str
    root: str
    path: tuple[str, ...]
    function: Function
    span: Span = NOWHERE


@dataclass(frozen=True)
class ConstDef:
    name: str
    type: Type
    function: Function
    span: Span = NOWHERE


@dataclass(frozen=True)
class CallSpec:
    """A call with literal arguments: a task's gold action, setup step or env assertion."""

    actor: str
    kind: str  # tool | setup | assertion
    name: str
    args: dict  # JSON object, parameter name -> value, in parameter order
    compare: tuple[str, ...] | None = None  # arguments a checker compares (None: all given)
    expected: Any = True  # what an assertion must return
    message: str | None = None  # what a failed assertion means
    span: Span = NOWHERE


@dataclass(frozen=True)
class TaskDef:
    id: str
    texts: dict  # purpose, notes, ticket, policies
    user: dict  # {"texts": {...}, "knows": {...}, "facts": {...}}
    setup: tuple  # CallSpec | Function (state assignments), in order
    gold: tuple[CallSpec, ...] | None
    goals: tuple[Function, ...]
    communicate: tuple[str, ...]
    assertions: tuple[CallSpec, ...]
    judge: tuple[str, ...]
    reward: tuple[str, ...]
    span: Span = NOWHERE


@dataclass(frozen=True)
class Domain:
    name: str
    title: str
    settings: dict
    source: str
    enums: tuple[EnumDef, ...]
    records: tuple[RecordDef, ...]
    unions: tuple[UnionDef, ...]
    state: tuple[StateField, ...]
    facts: tuple[FieldDef, ...]
    consts: tuple[ConstDef, ...]
    functions: tuple[Function, ...]  # fns
    tools: tuple[Function, ...]
    setups: tuple[Function, ...]
    assertions: tuple[Function, ...]
    policies: tuple[PolicyDef, ...]
    derives: tuple[DeriveDef, ...]
    tasks: tuple[TaskDef, ...] = ()

    def tool(self, name: str, actor: str | None = None) -> Function | None:
        for t in self.tools:
            if t.name == name and (actor is None or t.actor == actor):
                return t
        return None

    def type_kinds(self) -> dict[str, str]:
        kinds = {e.name: "enum" for e in self.enums}
        kinds.update({u.name: "union" for u in self.unions})
        kinds.update({r.name: "record" for r in self.records})
        return kinds


# ---------------------------------------------------------------- constants


class _NotConstant:
    def __repr__(self) -> str:
        return "NOT_CONSTANT"


NOT_CONSTANT: Any = _NotConstant()


def constant_value(x: Expr, unions: dict[str, "UnionDef"]) -> Any:
    """The JSON value of an expression built only from literals, or NOT_CONSTANT."""
    if isinstance(x, Const):
        return x.value
    if isinstance(x, ToFloat):
        v = constant_value(x.operand, unions)
        return v if v is NOT_CONSTANT else float(v)
    if isinstance(x, UnaryOp) and x.op == "neg":
        v = constant_value(x.operand, unions)
        return v if v is NOT_CONSTANT else -v
    if isinstance(x, ListExpr):
        items = [constant_value(i, unions) for i in x.items]
        return NOT_CONSTANT if any(i is NOT_CONSTANT for i in items) else items
    if isinstance(x, MapExpr):
        pairs = [(constant_value(k, unions), constant_value(v, unions)) for k, v in x.entries]
        if any(k is NOT_CONSTANT or v is NOT_CONSTANT or not isinstance(k, str) for k, v in pairs):
            return NOT_CONSTANT  # map keys are strings (an ill-typed key was already reported)
        return dict(pairs)
    if isinstance(x, Construct):
        out = {}
        if x.variant is not None:
            union = unions[x.record]
            out[union.tag_field] = union.variant(x.variant).tag
        for name, v in x.fields:
            value = constant_value(v, unions)
            if value is NOT_CONSTANT:
                return NOT_CONSTANT
            out[name] = value
        return out
    return NOT_CONSTANT


# ---------------------------------------------------------------- JSON form

_CLASSES = {
    cls.__name__: cls
    for cls in [
        Const, Local, StateRoot, Fact, GetField, GetIndex, GetSlice, CallBuiltin, CallFn,
        Construct, ListExpr, MapExpr, UnaryOp, BinaryOp, IsVariant, IfExpr, Coalesce, OrFail,
        Comprehension, Quantified, ToFloat, Format, Step, Place, Let, Assign, Mutate, If, For,
        Return, Fail, Eval, FieldDef, EnumDef, RecordDef, VariantDef, UnionDef, StateField,
        ParamDef, Function, GuardDef, PolicyDef, DeriveDef, ConstDef, CallSpec, TaskDef, Domain,
    ]
}


def to_json(obj: Any) -> Any:
    """IR to plain JSON: nodes become {"@": ClassName, field: ...}; spans become [l, c, l2, c2]."""
    if isinstance(obj, Type):
        return {"@t": str(obj)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, Span):
        out: dict[str, Any] = {"@": type(obj).__name__}
        for f in dataclasses.fields(obj):
            out[f.name] = to_json(getattr(obj, f.name))
        return out
    if isinstance(obj, Span):
        return obj.to_json()
    if isinstance(obj, tuple | list):
        return [to_json(x) for x in obj]
    if isinstance(obj, dict):
        return {k: to_json(v) for k, v in obj.items()}
    return obj


def domain_from_json(data: dict) -> Domain:
    """Rebuild a Domain from its JSON form (the inverse of to_json)."""
    kinds = {}
    for d in data["enums"]:
        kinds[d["name"]] = "enum"
    for d in data["unions"]:
        kinds[d["name"]] = "union"
    for d in data["records"]:
        kinds[d["name"]] = "record"
    source = data["source"]
    with TypeKinds(kinds):
        return _from_json(data, source)


_SPAN_FIELDS = {"span"}
# Fields whose value is a JSON payload (data, arguments, texts), never IR to rebuild.
_RAW_FIELDS = {"value": (Const, FieldDef, ParamDef), "default": (FieldDef, ParamDef), "settings": (Domain,),
               "args": (CallSpec,), "expected": (CallSpec,), "texts": (TaskDef,), "user": (TaskDef,)}


def _from_json(obj: Any, source: str, field_name: str | None = None) -> Any:
    if isinstance(obj, dict):
        if "@t" in obj:
            return parse_type(obj["@t"])
        if "@" in obj:
            cls = _CLASSES[obj["@"]]
            kwargs = {}
            for f in dataclasses.fields(cls):
                if f.name not in obj:
                    continue
                value = obj[f.name]
                if f.name in _SPAN_FIELDS and isinstance(value, list):
                    kwargs[f.name] = Span.from_json(source, value)
                elif cls in _RAW_FIELDS.get(f.name, ()):
                    kwargs[f.name] = value
                else:
                    kwargs[f.name] = _from_json(value, source, f.name)
            return cls(**kwargs)
        return {k: _from_json(v, source) for k, v in obj.items()}
    if isinstance(obj, list):
        if field_name in ("members",):
            return tuple(tuple(x) for x in obj)
        if field_name in ("fields", "entries") and obj and isinstance(obj[0], list):
            return tuple(tuple(_from_json(x, source) for x in pair) for pair in obj)
        return tuple(_from_json(x, source) for x in obj)
    return obj


def walk_exprs(node: Any):
    """Every Expr reachable from an IR node (statements, places, functions)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Expr):
            yield n
        if dataclasses.is_dataclass(n) and not isinstance(n, (Span, Type)):
            for f in dataclasses.fields(n):
                stack.append(getattr(n, f.name))
        elif isinstance(n, tuple | list):
            stack.extend(n)


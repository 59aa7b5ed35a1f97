"""The IR's node classes: expressions, statements, places and declarations, all frozen dataclasses.

Every expression node carries its resolved type; names are resolved to local slots, state
roots, facts, functions or builtins. Each field's annotation is also its JSON form (see
`json_form.py`): `Type`, `Span`, the enums of `kinds.py`, nodes, tuples, optionals, and
`Json` for payloads (data, arguments, texts) that are kept as they are.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any

from ..types import Type
from ..syntax.spans import NOWHERE, Span
from .kinds import (
    AssignOperator, BinaryOperator, CallKind, Effect, FunctionKind, Iteration, MutateMethod, PlaceRoot, Quantifier,
    Outcome, RewardComponent, Side, StepKind, UnaryOperator, Unwrap,
)

JSON_PAYLOAD = "json payload"
Json = Annotated[Any, JSON_PAYLOAD]  # a JSON value kept as is: data, arguments, texts

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Expr:
    type: Type
    span: Span


@dataclass(frozen=True)
class Const(Expr):
    value: Json


@dataclass(frozen=True)
class Local(Expr):
    slot: int
    name: str


@dataclass(frozen=True)
class StateRoot(Expr):
    """A top-level state field: a table (map/list) or a singleton record."""

    side: Side
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
    op: UnaryOperator
    operand: Expr


@dataclass(frozen=True)
class BinaryOp(Expr):
    """Arithmetic, comparison, and/or (short-circuit), in / not in."""

    op: BinaryOperator
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
    mode: Unwrap


@dataclass(frozen=True)
class Comprehension(Expr):
    elem: Expr
    slot: int
    iter: Expr
    cond: Expr | None


@dataclass(frozen=True)
class Quantified(Expr):
    kind: Quantifier
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

    parts: tuple[str | Expr, ...]


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Step:
    """One step of a place path: a record field, a list index or a map key."""

    kind: StepKind
    name: str | None = None
    expr: Expr | None = None


@dataclass(frozen=True)
class Place:
    """Where a write lands: a local variable or a state root, then a path into it."""

    root: PlaceRoot
    slot: int | None
    side: Side | None
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
    op: AssignOperator
    value: Expr


@dataclass(frozen=True)
class Mutate(Stmt):
    """In-place collection update (a `MutateMethod`)."""

    target: Place
    method: MutateMethod
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
    mode: Iteration


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
class Typed:
    """A typed name with an optional default: the shape fields and parameters share."""

    name: str
    type: Type
    default: Json = None  # meaningful when has_default
    has_default: bool = False
    doc: str | None = None
    span: Span = NOWHERE


@dataclass(frozen=True)
class FieldDef(Typed):
    """A field of a record or union variant, or a task fact."""


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
    # Under lax arguments an open record ignores keys it does not have (pydantic's default);
    # a closed one refuses them (values.py). Under strict arguments every record refuses them.
    closed: bool = False


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
    side: Side
    name: str
    type: Type
    doc: str | None = None
    span: Span = NOWHERE


@dataclass(frozen=True)
class ParamDef(Typed):
    """A parameter of a function, tool, setup or assertion."""


@dataclass(frozen=True)
class Function:
    """Shared shape of fns, tools, setups, assertions and guards: params and a body."""

    kind: FunctionKind
    name: str
    params: tuple[ParamDef, ...]
    ret: Type | None
    effect: Effect
    body: tuple[Stmt, ...]
    nslots: int
    actor: Side = Side.AGENT
    doc: str | None = None
    span: Span = NOWHERE


@dataclass(frozen=True)
class GuardDef:
    policy: str
    tool: str
    enforce: bool
    function: Function
    outcome: Outcome = Outcome.REFUSE  # what the agent must do when the guard is violated
    reason: str | None = None  # the reason the agent gives, in words (`else transfer "..."`)
    span: Span = NOWHERE


@dataclass(frozen=True)
class PolicyDef:
    name: str
    text: str
    guards: tuple[GuardDef, ...]
    span: Span = NOWHERE


@dataclass(frozen=True)
class DeriveDef:
    side: Side
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

    actor: Side
    kind: CallKind
    name: str
    args: Json  # an object, parameter name -> value, in parameter order
    compare: tuple[str, ...] | None = None  # arguments a checker compares (None: all given)
    expected: Json = True  # what an assertion must return
    message: str | None = None  # what a failed assertion means
    span: Span = NOWHERE


@dataclass(frozen=True)
class UserScenario:
    """What a task tells the simulated user: texts (persona, reason, ...), the values it knows, the task's facts.

    Its JSON form is a plain object `{"texts": ..., "knows": ..., "facts": ...}`, without a class tag."""

    texts: dict[str, str] = dataclasses.field(default_factory=dict)
    knows: dict[str, Any] = dataclasses.field(default_factory=dict)  # JSON values by name
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)  # JSON values by fact name

    def to_json(self) -> dict:
        return {"texts": self.texts, "knows": self.knows, "facts": self.facts}

    @classmethod
    def from_json(cls, data: Any) -> "UserScenario":
        if not isinstance(data, dict) or set(data) != {"texts", "knows", "facts"}:
            raise ValueError('a user scenario is an object with "texts", "knows" and "facts"')
        if not all(isinstance(data[k], dict) for k in data):
            raise ValueError("a user scenario's texts, knows and facts are objects")
        if not all(isinstance(t, str) for t in data["texts"].values()):
            raise ValueError("a user scenario's texts are strings")
        return cls(dict(data["texts"]), dict(data["knows"]), dict(data["facts"]))


@dataclass(frozen=True)
class TaskDef:
    id: str
    texts: Json  # purpose, notes, ticket, policies
    user: UserScenario
    setup: tuple[CallSpec | Function, ...]  # calls and state assignments, in order
    gold: tuple[CallSpec, ...] | None
    goals: tuple[Function, ...]
    communicate: tuple[str, ...]
    assertions: tuple[CallSpec, ...]
    judge: tuple[str, ...]
    reward: tuple[RewardComponent, ...]
    span: Span = NOWHERE


@dataclass(frozen=True)
class Domain:
    name: str
    title: str
    settings: Json
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

    def tool(self, name: str, actor: Side | None = None) -> Function | None:
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
    if isinstance(x, UnaryOp) and x.op == UnaryOperator.NEG:
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


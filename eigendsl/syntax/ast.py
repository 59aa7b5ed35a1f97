"""The abstract syntax tree: what was written, with spans, before any checking."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Iterator, Union

from .spans import Span


@dataclass(frozen=True)
class Node:
    span: Span

    def children(self) -> Iterator["Node"]:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, tuple):
                for item in value:
                    if isinstance(item, Node):
                        yield item

    def walk(self) -> Iterator["Node"]:
        """This node and all nodes below it, depth first."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(list(node.children())))


# ---------------------------------------------------------------- types


@dataclass(frozen=True)
class TypeRef(Node):
    name: str
    args: tuple["TypeRef", ...] = ()
    optional: bool = False
    variant: str | None = None  # `Union.variant`: a value known to be that variant


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Expr(Node):
    pass


@dataclass(frozen=True)
class Name(Expr):
    id: str


@dataclass(frozen=True)
class Literal(Expr):
    """int, float, str, bool, none, date ("2024-05-15") or datetime literal."""

    kind: str  # int | float | str | bool | none | date | datetime
    value: object


@dataclass(frozen=True)
class Interpolation(Expr):
    """A string with `{expr}` holes; parts are str or Expr."""

    parts: tuple[Union[str, Expr], ...]


@dataclass(frozen=True)
class Attribute(Expr):
    obj: Expr
    name: str
    name_span: Span


@dataclass(frozen=True)
class Index(Expr):
    obj: Expr
    key: Expr


@dataclass(frozen=True)
class Slice(Expr):
    obj: Expr
    lo: Expr | None
    hi: Expr | None


@dataclass(frozen=True)
class Arg(Node):
    name: str | None
    value: Expr


@dataclass(frozen=True)
class Call(Expr):
    func: Expr
    args: tuple[Arg, ...]


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # "-" | "not"
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    """Arithmetic (+ - * / // %), comparison (== != < <= > >=), and/or, in/not in."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Is(Expr):
    obj: Expr
    variant: str
    variant_span: Span
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
    """`expr or fail "message"`: unwrap a lookup or optional, or check a condition."""

    expr: Expr
    message: Expr


@dataclass(frozen=True)
class ListLit(Expr):
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class MapLit(Expr):
    entries: tuple[tuple[Expr, Expr], ...]

    def children(self) -> Iterator[Node]:
        for k, v in self.entries:
            yield k
            yield v


@dataclass(frozen=True)
class Comprehension(Expr):
    elem: Expr
    var: str
    iter: Expr
    cond: Expr | None


@dataclass(frozen=True)
class Quantified(Expr):
    """any/all/count/find/sum(x in xs: body)."""

    kind: str
    var: str
    iter: Expr
    body: Expr


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Stmt(Node):
    pass


@dataclass(frozen=True)
class Block(Node):
    stmts: tuple[Stmt, ...]


@dataclass(frozen=True)
class Let(Stmt):
    name: str
    type: TypeRef | None
    value: Expr


@dataclass(frozen=True)
class Assign(Stmt):
    target: Expr
    op: str  # "=" | "+=" | "-="
    value: Expr


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: Block
    else_: Union[Block, "If", None]


@dataclass(frozen=True)
class For(Stmt):
    var: str
    var2: str | None  # `for k, v in map`
    iter: Expr
    body: Block


@dataclass(frozen=True)
class Return(Stmt):
    value: Expr


@dataclass(frozen=True)
class Fail(Stmt):
    message: Expr


@dataclass(frozen=True)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(frozen=True)
class ExprBlock(Node):
    """`{ let ...  expr }`: the body of guards and assertions."""

    lets: tuple[Let, ...]
    result: Expr


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Decl(Node):
    pass


@dataclass(frozen=True)
class Setting(Node):
    name: str
    value: Literal


@dataclass(frozen=True)
class DomainDecl(Decl):
    name: str
    title: str | None
    settings: tuple[Setting, ...]


@dataclass(frozen=True)
class ImportDecl(Decl):
    path: str


@dataclass(frozen=True)
class EnumMember(Node):
    name: str
    value: str


@dataclass(frozen=True)
class EnumDecl(Decl):
    name: str
    doc: str | None
    members: tuple[EnumMember, ...]


@dataclass(frozen=True)
class Field(Node):
    name: str
    type: TypeRef
    default: Expr | None
    doc: str | None


@dataclass(frozen=True)
class RecordDecl(Decl):
    name: str
    doc: str | None
    fields: tuple[Field, ...]
    closed: bool = False  # takes no keys beyond its fields, even under lax arguments


@dataclass(frozen=True)
class Variant(Node):
    name: str
    tag: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class UnionDecl(Decl):
    name: str
    tag_field: str
    doc: str | None
    variants: tuple[Variant, ...]


@dataclass(frozen=True)
class StateDecl(Decl):
    actor: str  # "agent" | "user"
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class FactsDecl(Decl):
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class ConstDecl(Decl):
    name: str
    type: TypeRef | None
    value: Expr


@dataclass(frozen=True)
class Param(Node):
    name: str
    type: TypeRef
    default: Expr | None
    doc: str | None


@dataclass(frozen=True)
class FnDecl(Decl):
    name: str
    params: tuple[Param, ...]
    ret: TypeRef | None
    effect: str  # "reads" | "writes" | "pure"
    body: Block


@dataclass(frozen=True)
class ToolDecl(Decl):
    actor: str
    name: str
    params: tuple[Param, ...]
    ret: TypeRef | None
    effect: str
    doc: str
    body: Block


@dataclass(frozen=True)
class SetupDecl(Decl):
    actor: str
    name: str
    params: tuple[Param, ...]
    ret: TypeRef | None
    body: Block


@dataclass(frozen=True)
class AssertionDecl(Decl):
    actor: str
    name: str
    params: tuple[Param, ...]
    body: ExprBlock


@dataclass(frozen=True)
class DeriveDecl(Decl):
    target: Expr
    value: Expr


@dataclass(frozen=True)
class Guard(Node):
    enforce: bool
    tool: str
    tool_span: Span
    body: ExprBlock
    outcome: str | None = None  # `else refuse` / `else transfer`: what follows a violation
    outcome_span: Span | None = None
    reason: str | None = None  # the reason the agent gives, in words


@dataclass(frozen=True)
class PolicyDecl(Decl):
    name: str
    text: str
    guards: tuple[Guard, ...]


# ---------------------------------------------------------------- tasks


@dataclass(frozen=True)
class GoldCall(Node):
    """A call in a task: a gold action, a setup step or an env assertion."""

    actor: str
    name: str
    name_span: Span
    args: tuple[Arg, ...]
    compare: tuple[str, ...] | None = None  # argument names a checker compares (None: all)


@dataclass(frozen=True)
class AssertCall(Node):
    call: GoldCall
    expected: Expr | None  # the value the assertion must return (default true)
    message: str | None  # what a failure means, for reports


@dataclass(frozen=True)
class TaskUser(Node):
    texts: tuple[tuple[str, str], ...]  # (persona|reason|known|unknown|instructions|..., text)
    knows: tuple[tuple[str, Expr], ...]
    facts: tuple[tuple[str, Expr], ...]

    def children(self) -> Iterator[Node]:
        for _, e in self.knows + self.facts:
            yield e


@dataclass(frozen=True)
class TaskDecl(Decl):
    name: str
    texts: tuple[tuple[str, str, Span], ...]  # purpose, notes, ticket, policies
    user: TaskUser | None
    setup: tuple[Node, ...] | None  # GoldCall | Assign
    gold: tuple[GoldCall, ...] | None
    goals: tuple[Expr, ...]
    communicate: tuple[str, ...]
    assertions: tuple[AssertCall, ...]
    judge: tuple[str, ...]
    reward: tuple[tuple[str, Span], ...] | None


@dataclass(frozen=True)
class Module(Node):
    path: str
    decls: tuple[Decl, ...]

"""The type language of eig: primitives, enums, records, tagged unions, lists, maps, optionals."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar


@dataclass(frozen=True, slots=True)
class Type:
    def __str__(self) -> str:  # canonical text form, also used in the IR's JSON
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Prim(Type):
    name: str  # str | int | float | bool | date | datetime | none

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class EnumType(Type):
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class RecordType(Type):
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class UnionType(Type):
    """A tagged union, or (with `variants`) a value known to be one of those variants."""

    name: str
    variants: tuple[str, ...] | None = None

    def __str__(self) -> str:
        if self.variants is None:
            return self.name
        return f"{self.name}[{'|'.join(self.variants)}]"

    @property
    def whole(self) -> "UnionType":
        return UnionType(self.name)


@dataclass(frozen=True, slots=True)
class ListType(Type):
    elem: Type

    def __str__(self) -> str:
        return f"list<{self.elem}>"


@dataclass(frozen=True, slots=True)
class MapType(Type):
    key: Type
    value: Type

    def __str__(self) -> str:
        return f"map<{self.key}, {self.value}>"


@dataclass(frozen=True, slots=True)
class OptionalType(Type):
    inner: Type

    def __str__(self) -> str:
        return f"{self.inner}?"


@dataclass(frozen=True, slots=True)
class ErrorType(Type):
    """The type of an expression that already produced a diagnostic; silences cascades."""

    def __str__(self) -> str:
        return "<error>"


@dataclass(frozen=True, slots=True)
class AnyElem(Type):
    """Element type of an empty list or map literal with nothing to infer from."""

    def __str__(self) -> str:
        return "<empty>"


STR, INT, FLOAT, BOOL = Prim("str"), Prim("int"), Prim("float"), Prim("bool")
DATE, DATETIME, NONE = Prim("date"), Prim("datetime"), Prim("none")
ERROR = ErrorType()
PRIMITIVES = {t.name: t for t in (STR, INT, FLOAT, BOOL, DATE, DATETIME)}
NUMERIC = (INT, FLOAT)


def optional(t: Type) -> Type:
    if isinstance(t, (OptionalType, ErrorType)) or t == NONE:
        return t
    return OptionalType(t)


def strip_optional(t: Type) -> Type:
    return t.inner if isinstance(t, OptionalType) else t


def is_error(t: Type) -> bool:
    return isinstance(t, ErrorType)


def is_numeric(t: Type) -> bool:
    return t in NUMERIC


def is_stringlike(t: Type) -> bool:
    """Values whose JSON form is a string: str, enums, dates."""
    return t in (STR, DATE, DATETIME) or isinstance(t, EnumType)


_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|<|>|,|\?|\[|\]|\|)")
_NAMED = {"enum": EnumType, "record": RecordType}


def parse_type(text: str, kinds: Mapping[str, str]) -> Type:
    """Inverse of str(Type), for types stored in the IR's JSON.

    Named types are nominal, so the text alone does not say whether `Cabin` is an enum, a record
    or a union: `kinds` maps each declared name to "enum", "record" or "union" (a name it lacks
    reads as a record, which the compiled folder's check then refuses as unknown)."""
    tokens = _TOKEN.findall(text)
    pos = 0

    def take() -> str:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        return tok

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def one() -> Type:
        name = take()
        if name == "list":
            take()  # <
            elem = one()
            take()  # >
            t: Type = ListType(elem)
        elif name == "map":
            take()
            k = one()
            take()  # ,
            v = one()
            take()
            t = MapType(k, v)
        elif name in PRIMITIVES or name == "none":
            t = Prim(name)
        elif kinds.get(name) == "union":
            variants = None
            if peek() == "[":
                take()
                vs = [take()]
                while peek() == "|":
                    take()
                    vs.append(take())
                take()  # ]
                variants = tuple(vs)
            t = UnionType(name, variants)
        else:
            t = _NAMED.get(kinds.get(name, "record"), RecordType)(name)
        while peek() == "?":
            take()
            t = OptionalType(t)
        return t

    return one()


# ---------------------------------------------------------------- computations by cases over types

R = TypeVar("R")


class TypeFold(Generic[R]):
    """A computation by cases over the kinds of type: `fold(t, *args)` calls the case for t's class.

    Validation (values.py), tool schemas (backends/schemas.py), the compiled folder's data check,
    the checker and the Z3 encoding each subclass it and implement the cases they meet; a case a
    subclass lacks raises a TypeError that names it, never a silent default."""

    def fold(self, t: Type, *args) -> R:
        return getattr(self, _CASES[type(t)])(t, *args)

    def on_prim(self, t: Prim, *args) -> R:
        raise self.missing(t)

    def on_enum(self, t: EnumType, *args) -> R:
        raise self.missing(t)

    def on_record(self, t: RecordType, *args) -> R:
        raise self.missing(t)

    def on_union(self, t: UnionType, *args) -> R:
        raise self.missing(t)

    def on_list(self, t: ListType, *args) -> R:
        raise self.missing(t)

    def on_map(self, t: MapType, *args) -> R:
        raise self.missing(t)

    def on_optional(self, t: OptionalType, *args) -> R:
        raise self.missing(t)

    def on_error(self, t: ErrorType, *args) -> R:
        raise self.missing(t)

    def on_empty(self, t: AnyElem, *args) -> R:
        raise self.missing(t)

    def missing(self, t: Type) -> TypeError:
        return TypeError(f"{type(self).__name__} has no case {_CASES[type(t)]} (for {t})")


_CASES = {Prim: "on_prim", EnumType: "on_enum", RecordType: "on_record", UnionType: "on_union", ListType: "on_list",
          MapType: "on_map", OptionalType: "on_optional", ErrorType: "on_error", AnyElem: "on_empty"}


def parts(t: Type) -> tuple[Type, ...]:
    """The types a type is built from: a list's element, a map's key and value, an optional's inner type."""
    if isinstance(t, ListType):
        return (t.elem,)
    if isinstance(t, MapType):
        return (t.key, t.value)
    if isinstance(t, OptionalType):
        return (t.inner,)
    return ()


def named_types(t: Type):
    """Every enum, record and union type a type mentions (itself included)."""
    if isinstance(t, (EnumType, RecordType, UnionType)):
        yield t
    for p in parts(t):
        yield from named_types(p)

"""The IR's JSON form (`ir.json`), read from each node class's field annotations.

A node is `{"@": ClassName, field: ...}` with its fields in declaration order; a `Type` is
`{"@t": text}`; a `Span` is `[line, col, end_line, end_col]`; an enum member is its text; a
class with its own `to_json`/`from_json` (`UserScenario`) writes itself; a `Json` field is
kept as it is. `FORMS` says, for every node class, how each of its fields round-trips; the
loader here and the compiled folder's check (runtime/folder_check.py) both read it, so the
two cannot drift from the dataclasses.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import StrEnum
from typing import Any, Callable

from ..syntax.spans import Span
from ..types import Type, parse_type
from . import nodes

# ---------------------------------------------------------------- forms: what a field's JSON is


@dataclasses.dataclass(frozen=True)
class Scalar:
    kind: type  # str | int | bool


@dataclasses.dataclass(frozen=True)
class TypeText:
    """A `Type`, as `{"@t": text}`."""


@dataclasses.dataclass(frozen=True)
class SpanList:
    """A `Span`, as `[line, col, end_line, end_col]` (the file is the domain's source)."""


@dataclasses.dataclass(frozen=True)
class Payload:
    """A JSON value kept as it is."""


@dataclasses.dataclass(frozen=True)
class Member:
    enum: type[StrEnum]


@dataclasses.dataclass(frozen=True)
class Node:
    """A node of one of `bases` (or of a subclass), tagged with its class name."""

    bases: tuple[type, ...]

    @property
    def name(self) -> str:
        return " or ".join(b.__name__ for b in self.bases)


@dataclasses.dataclass(frozen=True)
class Own:
    """A class that writes and reads its own JSON form (`to_json`, `from_json`)."""

    cls: type


@dataclasses.dataclass(frozen=True)
class Maybe:
    inner: Form


@dataclasses.dataclass(frozen=True)
class TextOrNode:
    """A string or a node (the parts of a string interpolation)."""

    node: Node


@dataclasses.dataclass(frozen=True)
class Sequence:
    item: Form


@dataclasses.dataclass(frozen=True)
class Fixed:
    items: tuple[Form, ...]


Form = Scalar | TypeText | SpanList | Payload | Member | Node | Own | Maybe | TextOrNode | Sequence | Fixed


def form_of(hint: Any) -> Form:
    """The JSON form of a field annotated `hint`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated and nodes.JSON_PAYLOAD in hint.__metadata__:
        return Payload()
    if hint in (str, int, bool):
        return Scalar(hint)
    if hint is Type:
        return TypeText()
    if hint is Span:
        return SpanList()
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return Member(hint)
    if isinstance(hint, type) and hasattr(hint, "from_json"):
        return Own(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return Node((hint,))
    if origin in (types.UnionType, typing.Union):
        options = [a for a in args if a is not type(None)]
        if len(options) < len(args):
            return Maybe(form_of(options[0] if len(options) == 1 else typing.Union[tuple(options)]))
        if str in options:
            return TextOrNode(Node(tuple(o for o in options if o is not str)))
        return Node(tuple(options))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return Sequence(form_of(args[0]))
    if origin is tuple:
        return Fixed(tuple(form_of(a) for a in args))
    raise TypeError(f"no JSON form for {hint!r}")


def _concrete(cls: type) -> bool:
    return (isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == nodes.__name__
            and not hasattr(cls, "from_json") and not cls.__subclasses__())


CLASSES: dict[str, type] = {name: cls for name, cls in vars(nodes).items() if _concrete(cls)}


@dataclasses.dataclass(frozen=True)
class FieldForm:
    name: str
    form: Form
    required: bool  # no default: the JSON object must have it


def _fields(cls: type) -> tuple[FieldForm, ...]:
    hints = typing.get_type_hints(cls, vars(nodes), include_extras=True)
    return tuple(FieldForm(f.name, form_of(hints[f.name]),
                           f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
                 for f in dataclasses.fields(cls))


FORMS: dict[str, tuple[FieldForm, ...]] = {name: _fields(cls) for name, cls in CLASSES.items()}


# ---------------------------------------------------------------- writing


def to_json(obj: Any) -> Any:
    """IR to plain JSON: nodes become {"@": ClassName, field: ...}; spans become [l, c, l2, c2]."""
    if isinstance(obj, Type):
        return {"@t": str(obj)}
    if isinstance(obj, StrEnum):
        return obj.value
    if hasattr(obj, "to_json"):  # Span, UserScenario
        return obj.to_json()
    if dataclasses.is_dataclass(obj):
        out: dict[str, Any] = {"@": type(obj).__name__}
        for f in dataclasses.fields(obj):
            out[f.name] = to_json(getattr(obj, f.name))
        return out
    if isinstance(obj, tuple | list):
        return [to_json(x) for x in obj]
    if isinstance(obj, dict):
        return {k: to_json(v) for k, v in obj.items()}
    return obj


# ---------------------------------------------------------------- reading


class _Reading:
    """What decoding one domain needs besides the JSON: its source file and its named types."""

    def __init__(self, source: str, kinds: dict[str, str]):
        self.source = source
        self.kinds = kinds
        self.types: dict[str, Type] = {}

    def type(self, text: str) -> Type:
        t = self.types.get(text)
        if t is None:
            t = self.types[text] = parse_type(text, self.kinds)
        return t


Decode = Callable[[Any, _Reading], Any]
_DECODERS: dict[Form, Decode] = {}


def _decoder(form: Form) -> Decode:
    """The function that reads a value of `form` (built once per form)."""
    found = _DECODERS.get(form)
    if found is not None:
        return found
    match form:
        case Scalar() | Payload():
            def decode(v, r):
                return v
        case TypeText():
            def decode(v, r):
                return r.type(v["@t"])
        case SpanList():
            def decode(v, r):
                return Span.from_json(r.source, v)
        case Member(enum=enum):
            def decode(v, r):
                try:
                    return enum(v)
                except ValueError:
                    raise ValueError(f"unknown {enum.__name__} {v!r} (known: {', '.join(repr(m.value) for m in enum)})") from None
        case Own(cls=cls):
            def decode(v, r):
                return cls.from_json(v)
        case Node():
            def decode(v, r):
                return _node(v, r, form)
        case Maybe(inner=inner):
            inner_decode = _decoder(inner)

            def decode(v, r):
                return None if v is None else inner_decode(v, r)
        case TextOrNode(node=node):
            def decode(v, r):
                return v if isinstance(v, str) else _node(v, r, node)
        case Sequence(item=item):
            item_decode = _decoder(item)

            def decode(v, r):
                return tuple(item_decode(x, r) for x in v)
        case Fixed(items=items):
            decoders = tuple(_decoder(i) for i in items)

            def decode(v, r):
                if len(v) != len(decoders):
                    raise ValueError(f"expected a list of {len(decoders)}, got {len(v)}")
                return tuple(d(x, r) for d, x in zip(decoders, v))
        case _:
            raise TypeError(f"no decoder for {form!r}")
    _DECODERS[form] = decode
    return decode


_NODE_FIELDS: dict[str, tuple[tuple[str, Decode], ...]] = {
    name: tuple((f.name, _decoder(f.form)) for f in forms) for name, forms in FORMS.items()}


def _node(value: dict, r: _Reading, form: Node) -> Any:
    name = value["@"]
    cls = CLASSES.get(name)
    if cls is None or not issubclass(cls, form.bases):
        raise ValueError(f"expected {form.name}, got {name!r}")
    return cls(**{f: decode(value[f], r) for f, decode in _NODE_FIELDS[name] if f in value})


def domain_from_json(data: dict) -> nodes.Domain:
    """Rebuild a Domain from its JSON form (the inverse of to_json)."""
    kinds = {d["name"]: "enum" for d in data["enums"]}
    kinds.update({d["name"]: "union" for d in data["unions"]})
    kinds.update({d["name"]: "record" for d in data["records"]})
    return _node(data, _Reading(data["source"], kinds), Node((nodes.Domain,)))

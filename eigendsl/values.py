"""JSON values against eig types: validation with exact paths, and the int-to-float widening.

Used wherever JSON comes in from outside: a domain's initial data, tool-call arguments from an
agent, task data. A validator is built once per type and reused, so checking a large db is a
tight loop rather than a tree of isinstance tests.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any, Callable, Protocol

from .semantics.types import (
    AnyElem, EnumType, ListType, MapType, OptionalType, Prim, RecordType, Type, UnionType,
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


class InvalidValue(Exception):
    """A JSON value that does not fit its type; `path` says where (e.g. `flights[0].date`)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class Schema(Protocol):
    def enum_def(self, name: str): ...
    def record_def(self, name: str): ...
    def union_def(self, name: str): ...


Validator = Callable[[Any, str], Any]


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {text!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def join(path: str, part: str) -> str:
    if part.startswith("["):
        return path + part
    return f"{path}.{part}" if path else part


class Validators:
    """Builds and caches one validator per type for a schema."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.cache: dict[Type, Validator] = {}

    def validate(self, t: Type, value: Any, path: str = "") -> Any:
        return self.get(t)(value, path)

    def get(self, t: Type) -> Validator:
        v = self.cache.get(t)
        if v is None:
            # Placeholder first so recursive lookups during construction resolve lazily.
            self.cache[t] = lambda value, path: self.cache[t](value, path)
            v = self.cache[t] = self._build(t)
        return v

    def _build(self, t: Type) -> Validator:
        if isinstance(t, Prim):
            return _PRIM[t.name]
        if isinstance(t, OptionalType):
            inner = self.get(t.inner)

            def v_opt(value, path):
                return None if value is None else inner(value, path)

            return v_opt
        if isinstance(t, EnumType):
            members = self.schema.enum_def(t.name).values
            allowed = frozenset(members)
            listing = ", ".join(members)

            def v_enum(value, path):
                if isinstance(value, str) and value in allowed:
                    return value
                raise InvalidValue(path, f"expected one of {listing}; got {describe(value)}")

            return v_enum
        if isinstance(t, ListType):
            if isinstance(t.elem, AnyElem):
                return _v_empty_list
            elem = self.get(t.elem)

            def v_list(value, path):
                if not isinstance(value, list):
                    raise InvalidValue(path, f"expected a list; got {describe(value)}")
                return [elem(x, f"{path}[{i}]") for i, x in enumerate(value)]

            return v_list
        if isinstance(t, MapType):
            key = self.get(t.key)
            val = self.get(t.value)

            def v_map(value, path):
                if not isinstance(value, dict):
                    raise InvalidValue(path, f"expected an object; got {describe(value)}")
                out = {}
                for k, x in value.items():
                    key(k, join(path, f"[{k!r}]"))
                    out[k] = val(x, join(path, str(k)))
                return out

            return v_map
        if isinstance(t, RecordType):
            record = self.schema.record_def(t.name)
            return self._fields_validator(t.name, record.fields, None)
        if isinstance(t, UnionType):
            union = self.schema.union_def(t.name)
            allowed = [v for v in union.variants if t.variants is None or v.name in t.variants]
            by_tag = {
                v.tag: self._fields_validator(f"{t.name}.{v.name}", v.fields, (union.tag_field, v.tag))
                for v in allowed
            }
            tag_field = union.tag_field
            tags = ", ".join(by_tag)

            def v_union(value, path):
                if not isinstance(value, dict):
                    raise InvalidValue(path, f"expected an object; got {describe(value)}")
                tag = value.get(tag_field)
                fn = by_tag.get(tag) if isinstance(tag, str) else None
                if fn is None:
                    raise InvalidValue(join(path, tag_field), f"expected one of {tags}; got {describe(tag)}")
                return fn(value, path)

            return v_union
        raise TypeError(f"no validator for {t}")

    def _fields_validator(self, name: str, fields, tag: tuple[str, str] | None) -> Validator:
        specs = [(f.name, self.get(f.type), f.has_default, f.default, isinstance(f.type, OptionalType)) for f in fields]
        known = {f.name for f in fields}
        if tag is not None:
            known.add(tag[0])

        def v_record(value, path):
            if not isinstance(value, dict):
                raise InvalidValue(path, f"expected an object ({name}); got {describe(value)}")
            out = {} if tag is None else {tag[0]: tag[1]}
            for fname, fv, has_default, default, is_opt in specs:
                if fname in value:
                    out[fname] = fv(value[fname], join(path, fname))
                elif has_default:
                    out[fname] = copy.deepcopy(default)
                elif is_opt:
                    out[fname] = None
                else:
                    raise InvalidValue(path, f"missing field '{fname}' ({name})")
            if len(value) > len(out) or any(k not in known for k in value):
                extra = sorted(k for k in value if k not in known)
                if extra:
                    raise InvalidValue(join(path, extra[0]), f"unknown field '{extra[0]}' ({name})")
            return out

        return v_record


def _v_str(value, path):
    if isinstance(value, str):
        return value
    raise InvalidValue(path, f"expected a string; got {describe(value)}")


def _v_int(value, path):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise InvalidValue(path, f"expected an integer; got {describe(value)}")


def _v_float(value, path):
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise InvalidValue(path, f"expected a finite number; got {value}")
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise InvalidValue(path, f"expected a number; got {describe(value)}")


def _v_bool(value, path):
    if isinstance(value, bool):
        return value
    raise InvalidValue(path, f"expected true or false; got {describe(value)}")


def _v_date(value, path):
    if isinstance(value, str) and _DATE.match(value):
        return value
    raise InvalidValue(path, f"expected a date YYYY-MM-DD; got {describe(value)}")


def _v_datetime(value, path):
    if isinstance(value, str) and _DATETIME.match(value):
        return value
    raise InvalidValue(path, f"expected a datetime YYYY-MM-DDTHH:MM:SS; got {describe(value)}")


def _v_none(value, path):
    if value is None:
        return None
    raise InvalidValue(path, f"expected null; got {describe(value)}")


def _v_empty_list(value, path):
    if value == []:
        return []
    raise InvalidValue(path, "expected an empty list")


_PRIM = {
    "str": _v_str,
    "int": _v_int,
    "float": _v_float,
    "bool": _v_bool,
    "date": _v_date,
    "datetime": _v_datetime,
    "none": _v_none,
}

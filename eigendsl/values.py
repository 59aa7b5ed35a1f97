"""JSON values against eig types: validation with exact paths, and the int-to-float widening.

Two argument rules (a domain's `arguments` setting): `strict` checks every value against its
type (integral floats become ints, ints widen to floats); `lax` is the benchmark's: a value
outside any record reaches the tool as sent (a number stays the number it was, `2.0` included),
and a record's fields are coerced as the benchmark's pydantic models coerce them (`"348"` and
`2.0` become the int 348 and 2; `"2.5"` the float 2.5; `"yes"` true); keys a record does not have
are dropped, as those models drop them, unless the record is declared `closed` (a model that
forbids extra keys). Under `strict` every record refuses them.

Used wherever JSON comes in from outside: a domain's initial data, tool-call arguments from an
agent, task data. A validator is built once per type and reused, so checking a large db is a
tight loop rather than a tree of isinstance tests.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any, Callable, Protocol

from .types import AnyElem, EnumType, ListType, MapType, OptionalType, Prim, RecordType, Type, TypeFold, UnionType

# A date is YYYY-MM-DD (JSON Schema's `date` format). A datetime has no time zone, seconds are
# optional, and date and time are separated by `T` or a space (the benchmark's data uses the
# space): JSON Schema's `date-time` format refuses most of these, so tool schemas give this
# pattern instead (backends/schemas.py).
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(DATETIME_PATTERN)


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


class Validators(TypeFold[Validator]):
    """Builds and caches one validator per type for a schema (by cases over the type)."""

    def __init__(self, schema: Schema, lax: bool = False):
        self.schema = schema
        self.lax = lax
        self.cache: dict[tuple[Type, bool], Validator] = {}

    def validate(self, t: Type, value: Any, path: str = "") -> Any:
        return self.get(t)(value, path)

    def get(self, t: Type, in_record: bool = False) -> Validator:
        key = (t, in_record)
        v = self.cache.get(key)
        if v is None:
            # Placeholder first so recursive lookups during construction resolve lazily.
            self.cache[key] = lambda value, path: self.cache[key](value, path)
            v = self.cache[key] = self._build(t, in_record)
        return v

    def _build(self, t: Type, in_record: bool) -> Validator:
        return self.fold(t, in_record)

    def on_prim(self, t: Prim, in_record: bool) -> Validator:
        if self.lax:
            return (_LAX_FIELD if in_record else _LAX_RAW).get(t.name, _PRIM[t.name])
        return _PRIM[t.name]

    def on_optional(self, t: OptionalType, in_record: bool) -> Validator:
        inner = self.get(t.inner, in_record)

        def v_opt(value, path):
            return None if value is None else inner(value, path)

        return v_opt

    def on_enum(self, t: EnumType, in_record: bool) -> Validator:
        members = self.schema.enum_def(t.name).values
        allowed = frozenset(members)
        listing = ", ".join(members)

        def v_enum(value, path):
            if isinstance(value, str) and value in allowed:
                return value
            raise InvalidValue(path, f"expected one of {listing}; got {describe(value)}")

        return v_enum

    def on_list(self, t: ListType, in_record: bool) -> Validator:
        if isinstance(t.elem, AnyElem):
            return _v_empty_list
        elem = self.get(t.elem, in_record)

        def v_list(value, path):
            if not isinstance(value, list):
                raise InvalidValue(path, f"expected a list; got {describe(value)}")
            return [elem(x, f"{path}[{i}]") for i, x in enumerate(value)]

        return v_list

    def on_map(self, t: MapType, in_record: bool) -> Validator:
        key = self.get(t.key, in_record)
        val = self.get(t.value, in_record)

        def v_map(value, path):
            if not isinstance(value, dict):
                raise InvalidValue(path, f"expected an object; got {describe(value)}")
            out = {}
            for k, x in value.items():
                key(k, join(path, f"[{k!r}]"))
                out[k] = val(x, join(path, str(k)))
            return out

        return v_map

    def on_record(self, t: RecordType, in_record: bool) -> Validator:
        record = self.schema.record_def(t.name)
        return self._fields_validator(t.name, record.fields, None, record.closed)

    def on_union(self, t: UnionType, in_record: bool) -> Validator:
        union = self.schema.union_def(t.name)
        allowed = [v for v in union.variants if t.variants is None or v.name in t.variants]
        by_tag = {
            v.tag: self._fields_validator(f"{t.name}.{v.name}", v.fields, (union.tag_field, v.tag), False)
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

    def _fields_validator(self, name: str, fields, tag: tuple[str, str] | None, closed: bool) -> Validator:
        # Keys a record does not have: refused, except under the lax rule, where an open record
        # ignores them as the benchmark's pydantic models do by default (a `closed` record is
        # one whose model forbids them).
        refuse_extra = closed or not self.lax
        specs = [(f.name, self.get(f.type, True), f.has_default, f.default, isinstance(f.type, OptionalType)) for f in fields]
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
                elif is_opt and not self.lax:  # a pydantic Optional without a default is required
                    out[fname] = None
                else:
                    raise InvalidValue(path, f"missing field '{fname}' ({name})")
            if refuse_extra and (len(value) > len(out) or any(k not in known for k in value)):
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


# ---------------------------------------------------------------- the benchmark's lax rules

def _raw_number(kind: str) -> Validator:
    """A number outside any record, passed on as sent (the benchmark stores `2.0` as `2.0`)."""

    def v(value, path):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidValue(path, f"expected a finite number; got {value}")
            return value
        raise InvalidValue(path, f"expected {'an integer' if kind == 'int' else 'a number'}; got {describe(value)}")

    return v


_INT_TEXT = re.compile(r"^\s*[-+]?\d+(\.\d+)?\s*$")
_NUMBER_TEXT = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


def _field_int(value, path):
    """An int field of a pydantic model in lax mode: ints, integral floats and their texts, booleans."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and _INT_TEXT.match(value):
        number = float(value)
        if number.is_integer():
            return int(number)
        raise InvalidValue(path, f"expected an integer; got {describe(value)}")
    return _v_int(value, path)


def _field_float(value, path):
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _NUMBER_TEXT.match(value):
        return float(value)
    return _v_float(value, path)


def _field_bool(value, path):
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return _v_bool(value, path)


_LAX_RAW = {"int": _raw_number("int"), "float": _raw_number("float")}
_LAX_FIELD = {"int": _field_int, "float": _field_float, "bool": _field_bool}

"""The fixed library of pure built-in functions: each one's type rule and implementation.

Domains cannot add Python code; what they need beyond the language is here, documented in
docs/language.md, and available to every domain. Dates and datetimes are ISO strings at run
time, exactly as they appear in JSON.

Each entry also says what the built-in means to the verifier: `encode(enc, *args)` builds its
Z3 meaning when an argument is unknown (enc is the verify.symbolic.Encoder), or `not_analysed`
says why there is none. A test holds every entry to one of the two.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date as _date
from datetime import datetime as _datetime
from datetime import timedelta
from typing import Any, Callable

import z3

from . import arith
from .errors import EigRuntimeError
from .types import (
    BOOL, DATE, DATETIME, FLOAT, INT, STR, AnyElem, ListType, MapType, Type,
    is_error, is_numeric, is_stringlike, optional,
)


class BuiltinTypeError(Exception):
    """A call to a builtin with arguments of the wrong number or type."""


@dataclass(frozen=True)
class Builtin:
    name: str
    signature: str  # for documentation and error messages
    doc: str
    rule: Callable[[list[Type]], Type]
    impl: Callable[..., Any]
    encode: Callable[..., Any] | None = None  # the Z3 meaning, for unknown arguments
    not_analysed: str | None = None  # why there is no encode: the verifier says "not analysed"


BUILTINS: dict[str, Builtin] = {}


def builtin(signature: str, doc: str, rule: Callable[[list[Type]], Type], encode=None, not_analysed: str | None = None):
    def register(fn):
        name = signature.split("(")[0]
        BUILTINS[name] = Builtin(name, signature, doc, rule, fn, encode, not_analysed)
        return fn

    return register


# ---------------------------------------------------------------- type-rule helpers


def fixed(*params: Type, result: Type, optional_tail: int = 0):
    """A rule for a monomorphic signature; the last `optional_tail` params may be omitted."""

    def rule(args: list[Type]) -> Type:
        if not (len(params) - optional_tail <= len(args) <= len(params)):
            raise BuiltinTypeError(f"takes {len(params)} argument(s), got {len(args)}")
        for i, (a, p) in enumerate(zip(args, params)):
            if not accepts(p, a):
                raise BuiltinTypeError(f"argument {i + 1} must be {p}, got {a}")
        return result

    return rule


def accepts(param: Type, arg: Type) -> bool:
    if is_error(arg) or arg == param:
        return True
    if param == FLOAT and arg == INT:
        return True
    if param == STR and is_stringlike(arg):
        return True
    return False


def arity(args: list[Type], n: int, name: str = "") -> None:
    if len(args) != n:
        raise BuiltinTypeError(f"takes {n} argument(s), got {len(args)}")


def orderable(t: Type) -> bool:
    return is_error(t) or is_numeric(t) or is_stringlike(t) or isinstance(t, AnyElem)


def _len_rule(args):
    arity(args, 1)
    if not (isinstance(args[0], (ListType, MapType)) or args[0] == STR or is_error(args[0])):
        raise BuiltinTypeError(f"needs a list, map or str, got {args[0]}")
    return INT


def _map_part(part):
    def rule(args):
        arity(args, 1)
        m = args[0]
        if is_error(m):
            return m
        if not isinstance(m, MapType):
            raise BuiltinTypeError(f"needs a map, got {m}")
        return ListType(m.key if part == "key" else m.value)

    return rule


def _list_same(args):
    arity(args, 1)
    t = args[0]
    if is_error(t):
        return t
    if not isinstance(t, ListType):
        raise BuiltinTypeError(f"needs a list, got {t}")
    return t


def _sorted_rule(args):
    t = _list_same(args)
    if isinstance(t, ListType) and not orderable(t.elem):
        raise BuiltinTypeError(f"cannot sort a list of {t.elem}")
    return t


def _minmax_rule(args):
    if len(args) == 1:
        t = args[0]
        if is_error(t):
            return t
        if not isinstance(t, ListType) or not orderable(t.elem):
            raise BuiltinTypeError(f"needs a list of numbers or strings, or two or more values; got {t}")
        return t.elem
    if len(args) < 2:
        raise BuiltinTypeError("needs a list, or two or more values")
    if all(is_numeric(a) or is_error(a) for a in args):
        return FLOAT if FLOAT in args else INT
    first = args[0]
    if all(a == first or is_error(a) for a in args) and orderable(first):
        return first
    raise BuiltinTypeError("values must all be numbers, or all of one orderable type")


def _abs_rule(args):
    arity(args, 1)
    if not (is_numeric(args[0]) or is_error(args[0])):
        raise BuiltinTypeError(f"needs a number, got {args[0]}")
    return args[0]


def _round_rule(args):
    if len(args) not in (1, 2):
        raise BuiltinTypeError("takes a number and optionally a number of digits")
    if not (is_numeric(args[0]) or is_error(args[0])):
        raise BuiltinTypeError(f"needs a number, got {args[0]}")
    if len(args) == 2:
        if not accepts(INT, args[1]):
            raise BuiltinTypeError(f"digits must be int, got {args[1]}")
        return FLOAT if args[0] == FLOAT else args[0]
    return INT


def _str_rule(args):
    arity(args, 1)
    return STR


def _to_int_rule(args):
    arity(args, 1)
    if not (args[0] in (STR, INT, FLOAT) or is_error(args[0])):
        raise BuiltinTypeError(f"converts a str or number, got {args[0]}")
    return INT


def _to_float_rule(args):
    arity(args, 1)
    if not (args[0] in (STR, INT, FLOAT) or is_error(args[0])):
        raise BuiltinTypeError(f"converts a str or number, got {args[0]}")
    return FLOAT


def _join_rule(args):
    arity(args, 2)
    xs, sep = args
    if not is_error(xs) and not (isinstance(xs, ListType) and (is_stringlike(xs.elem) or isinstance(xs.elem, AnyElem))):
        raise BuiltinTypeError(f"needs a list of strings, got {xs}")
    if not accepts(STR, sep):
        raise BuiltinTypeError(f"separator must be str, got {sep}")
    return STR


# ---------------------------------------------------------------- collections


@builtin("len(x: list | map | str) -> int", "Number of elements, entries or characters.", _len_rule,
         encode=lambda enc, x: enc.length(x))
def _len(x):
    return len(x)


def _get_rule(args):
    arity(args, 2)
    m, k = args
    if is_error(m):
        return m
    if not isinstance(m, MapType):
        raise BuiltinTypeError(f"needs a map, got {m}")
    if not (accepts(m.key, k) or (m.key != STR and k == STR)):
        raise BuiltinTypeError(f"keys of {m} are {m.key}, not {k}")
    return optional(m.value)


@builtin("get(m: map<K, V>, key: K) -> V?", "The value under key, or none when the key is absent.", _get_rule,
         encode=lambda enc, m, key: enc.get(m, key))
def _get(m, key):
    return m.get(key)


@builtin("keys(m: map<K, V>) -> list<K>", "The keys of a map, in insertion order.", _map_part("key"),
         encode=lambda enc, m: list(enc.entries(m).keys()))
def _keys(m):
    return list(m.keys())


@builtin("values(m: map<K, V>) -> list<V>", "The values of a map, in insertion order.", _map_part("value"),
         encode=lambda enc, m: list(enc.entries(m).values()))
def _values(m):
    return list(m.values())


@builtin("sorted(xs: list<T>) -> list<T>", "The elements in ascending order.", _sorted_rule,
         not_analysed="sorting unknown values")
def _sorted(xs):
    try:
        return sorted(xs)
    except TypeError:
        raise EigRuntimeError("cannot sort values of different kinds") from None


def _reversed_z3(enc, xs):
    items = enc.items(xs)
    if any(present is not True for present, _ in items):
        enc.unsupported("reversing a list of unknown length")
    return [x for _, x in reversed(items)]


@builtin("reversed(xs: list<T>) -> list<T>", "The elements in reverse order.", _list_same, encode=_reversed_z3)
def _reversed(xs):
    return list(reversed(xs))


@builtin("unique(xs: list<T>) -> list<T>", "The elements without repeats, first occurrence kept.", _list_same,
         not_analysed="removing repeats among unknown values")
def _unique(xs):
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out


def _extreme(pick, *args):
    values = args[0] if len(args) == 1 else args
    if not values:
        raise EigRuntimeError(f"{pick.__name__}() of an empty list")
    value = pick(values)
    # The type rule makes min(1, 2.5) a float; Python would give the int 1.
    return float(value) if isinstance(value, int) and any(isinstance(v, float) for v in values) else value


def _extreme_z3(smaller: bool):
    def encode(enc, *args):
        items = enc.items(args[0]) if len(args) == 1 else [(True, a) for a in args]
        if not items:
            enc.fail_if(True)
            return None
        enc.fail_if(z3.Not(enc.condition(items[0][0])))  # presence is a prefix: empty iff the first is absent
        value = items[0][1]
        for present, other in items[1:]:
            a, b = enc.comparable(value, other)
            better = z3.If((b < a) if smaller else (b > a), b, a)
            value = better if present is True else z3.If(enc.condition(present), better, a)
        return enc.scalar(value)

    return encode


@builtin("min(xs: list<T>) | min(a, b, ...) -> T", "The smallest value; an empty list is an error.", _minmax_rule,
         encode=_extreme_z3(True))
def _min(*args):
    return _extreme(min, *args)


@builtin("max(xs: list<T>) | max(a, b, ...) -> T", "The largest value; an empty list is an error.", _minmax_rule,
         encode=_extreme_z3(False))
def _max(*args):
    return _extreme(max, *args)


# ---------------------------------------------------------------- numbers


def _abs_z3(enc, x):
    x = enc.scalar(x)
    return z3.If(x >= 0, x, -x)


@builtin("abs(x: int | float) -> int | float", "Absolute value.", _abs_rule, encode=_abs_z3)
def _abs(x):
    return abs(x)


@builtin(
    "round(x: int | float, digits: int = none) -> int | float",
    "Rounds half to even, as Python does; with digits the result keeps the argument's type, without it is an int.",
    _round_rule,
    not_analysed="rounding half to even",
)
def _round(x, digits=None):
    if digits is None:
        return round(x)
    return round(x, digits)


@builtin("floor(x: float) -> int", "Largest int not above x.", fixed(FLOAT, result=INT),
         encode=lambda enc, x: z3.ToInt(enc.real(x)))
def _floor(x):
    return math.floor(x)


@builtin("ceil(x: float) -> int", "Smallest int not below x.", fixed(FLOAT, result=INT),
         encode=lambda enc, x: -z3.ToInt(-enc.real(x)))
def _ceil(x):
    return math.ceil(x)


def _to_int_z3(enc, x):
    x = enc.scalar(x)
    if z3.is_int(x):
        return x
    if z3.is_real(x):  # truncation toward zero
        return z3.If(x >= 0, z3.ToInt(x), -z3.ToInt(-x))
    enc.unsupported("parsing unknown text as an int")


@builtin("int(x: str | int | float) -> int", "Parses or truncates to an int; bad text is an error.", _to_int_rule,
         encode=_to_int_z3)
def _to_int(x):
    try:
        return int(x)
    except (ValueError, OverflowError):
        raise EigRuntimeError(f"invalid literal for int() with base 10: {x!r}") from None


def _to_float_z3(enc, x):
    x = enc.scalar(x)
    if z3.is_arith(x):
        return enc.real(x)
    enc.unsupported("parsing unknown text as a float")


@builtin("float(x: str | int | float) -> float", "Parses or widens to a float; bad text is an error.", _to_float_rule,
         encode=_to_float_z3)
def _to_float(x):
    try:
        return float(x)
    except ValueError:
        raise EigRuntimeError(f"could not convert string to float: {x!r}") from None


@builtin(
    "calculate(expression: str) -> float",
    "Evaluates arithmetic text (digits, + - * / // **, parentheses, spaces) safely; invalid text is an error.",
    fixed(STR, result=FLOAT),
    not_analysed="evaluating arithmetic text",
)
def _calculate(expression):
    value = arith.evaluate(expression)
    try:
        return float(value)
    except OverflowError:
        raise EigRuntimeError("int too large to convert to float") from None


# ---------------------------------------------------------------- text


def format_value(v: Any) -> str:
    """How a value prints inside a string: numbers as Python prints them, JSON for the rest."""
    if isinstance(v, str):
        return v
    if v is True:
        return "True"
    if v is False:
        return "False"
    if v is None:
        return "None"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v)


def _str_z3(enc, x):
    x = enc.scalar(x)
    if z3.is_string(x):
        return x
    if z3.is_bool(x):
        return z3.If(x, z3.StringVal("True"), z3.StringVal("False"))
    if z3.is_int(x):  # Z3's int.to.str is empty for negative numbers
        return z3.If(x >= 0, z3.IntToStr(x), z3.Concat(z3.StringVal("-"), z3.IntToStr(-x)))
    enc.unsupported("the text form of an unknown float")


@builtin("str(x: any) -> str", "The text form of a value, as string interpolation prints it.", _str_rule, encode=_str_z3)
def _str(x):
    return format_value(x)


@builtin("lower(s: str) -> str", "Lower-case copy.", fixed(STR, result=STR), not_analysed="changing the case of unknown text")
def _lower(s):
    return s.lower()


@builtin("upper(s: str) -> str", "Upper-case copy.", fixed(STR, result=STR), not_analysed="changing the case of unknown text")
def _upper(s):
    return s.upper()


@builtin("strip(s: str) -> str", "Copy without leading and trailing white space.", fixed(STR, result=STR),
         not_analysed="stripping unknown text")
def _strip(s):
    return s.strip()


@builtin("startswith(s: str, prefix: str) -> bool", "Whether s starts with prefix.", fixed(STR, STR, result=BOOL),
         encode=lambda enc, s, prefix: z3.PrefixOf(enc.scalar(prefix), enc.scalar(s)))
def _startswith(s, prefix):
    return s.startswith(prefix)


@builtin("endswith(s: str, suffix: str) -> bool", "Whether s ends with suffix.", fixed(STR, STR, result=BOOL),
         encode=lambda enc, s, suffix: z3.SuffixOf(enc.scalar(suffix), enc.scalar(s)))
def _endswith(s, suffix):
    return s.endswith(suffix)


@builtin("replace(s: str, old: str, new: str) -> str", "Every occurrence of old replaced by new.", fixed(STR, STR, STR, result=STR),
         not_analysed="replacing every occurrence in unknown text")
def _replace(s, old, new):
    return s.replace(old, new)


@builtin("split(s: str, sep: str) -> list<str>", "The pieces of s between occurrences of sep.", fixed(STR, STR, result=ListType(STR)),
         not_analysed="splitting unknown text")
def _split(s, sep):
    if sep == "":
        raise EigRuntimeError("empty separator")
    return s.split(sep)


@builtin("join(xs: list<str>, sep: str) -> str", "The strings joined with sep between them.", _join_rule,
         not_analysed="joining unknown lists")
def _join(xs, sep):
    return sep.join(xs)


# ---------------------------------------------------------------- dates


def _parse_date(s: str) -> _date:
    try:
        return _date.fromisoformat(s)
    except (TypeError, ValueError):
        raise EigRuntimeError(f"invalid date {s!r} (expected YYYY-MM-DD)") from None


def _parse_datetime(s: str) -> _datetime:
    try:
        value = _datetime.fromisoformat(s)
    except (TypeError, ValueError):
        raise EigRuntimeError(f"invalid datetime {s!r} (expected YYYY-MM-DDTHH:MM:SS)") from None
    return value.replace(tzinfo=None)


def _two(first: str, second: str):
    """Two-digit texts whose digits lie in the given ranges, as "lo-hi" (or one digit)."""
    return z3.Concat(*[z3.Range(r[0], r[-1]) for r in (first, second)])


def _lit(text: str):
    return z3.Re(z3.StringVal(text))


# The plain ISO forms, where the Z3 meaning of the date built-ins is exact: year 1000-9999, a
# day that every year has (29 February is left out), a time without fractions or offset.
_YEAR = z3.Concat(_two("1-9", "0-9"), _two("0-9", "0-9"))
_MONTH_DAY = z3.Union(
    z3.Concat(z3.Union(_two("0", "1-9"), _two("1", "0-2")), _lit("-"), z3.Union(_two("0", "1-9"), _two("1", "0-9"), _two("2", "0-8"))),
    z3.Concat(z3.Union(_lit("01"), _two("0", "3-9"), _two("1", "0-2")), _lit("-"), z3.Union(_lit("29"), _lit("30"))),
    z3.Union(*[_lit(f"{m}-31") for m in ("01", "03", "05", "07", "08", "10", "12")]),
)
_PLAIN_DATE = z3.Concat(_YEAR, _lit("-"), _MONTH_DAY)
_PLAIN_TIME = z3.Concat(z3.Union(_two("0-1", "0-9"), _two("2", "0-3")), _lit(":"), _two("0-5", "0-9"), _lit(":"), _two("0-5", "0-9"))
_PLAIN_DATETIME = z3.Concat(_PLAIN_DATE, _lit("T"), _PLAIN_TIME)


def _date_z3(enc, s):
    """date(s) and date_of(s): s itself for a plain date, its first ten characters for a plain datetime."""
    s = enc.scalar(s)
    is_date, is_datetime = z3.InRe(s, _PLAIN_DATE), z3.InRe(s, _PLAIN_DATETIME)
    return enc.exact_where(z3.Or(is_date, is_datetime), z3.If(is_date, s, z3.SubString(s, 0, 10)), DATE, "a date in another form")


def _datetime_z3(enc, s):
    s = enc.scalar(s)
    is_date, is_datetime = z3.InRe(s, _PLAIN_DATE), z3.InRe(s, _PLAIN_DATETIME)
    midnight = z3.Concat(s, z3.StringVal("T00:00:00"))
    return enc.exact_where(z3.Or(is_date, is_datetime), z3.If(is_datetime, s, midnight), DATETIME, "a datetime in another form")


@builtin("date(s: str) -> date", "Checks that s is a YYYY-MM-DD date (or takes the date of a datetime).", fixed(STR, result=DATE),
         encode=_date_z3)
def _to_date(s):
    if len(s) > 10 and "T" in s or " " in s.strip():
        return _parse_datetime(s).date().isoformat()
    return _parse_date(s).isoformat()


@builtin("datetime(s: str) -> datetime", "Checks that s is a YYYY-MM-DDTHH:MM:SS datetime (a date means midnight).", fixed(STR, result=DATETIME),
         encode=_datetime_z3)
def _to_datetime(s):
    return _parse_datetime(s).isoformat()


@builtin("hours_between(a: datetime, b: datetime) -> float", "Hours from a to b (negative when b is earlier).", fixed(DATETIME, DATETIME, result=FLOAT),
         not_analysed="calendar arithmetic")
def _hours_between(a, b):
    return (_parse_datetime(b) - _parse_datetime(a)).total_seconds() / 3600.0


@builtin("days_between(a: date, b: date) -> int", "Whole days from a to b.", fixed(DATE, DATE, result=INT),
         not_analysed="calendar arithmetic")
def _days_between(a, b):
    return (_parse_date(b[:10]) - _parse_date(a[:10])).days


@builtin("add_days(d: date, n: int) -> date", "The date n days after d.", fixed(DATE, INT, result=DATE),
         not_analysed="calendar arithmetic")
def _add_days(d, n):
    return (_parse_date(d[:10]) + timedelta(days=n)).isoformat()


@builtin("add_hours(t: datetime, hours: float) -> datetime", "The datetime the given hours after t.", fixed(DATETIME, FLOAT, result=DATETIME),
         not_analysed="calendar arithmetic")
def _add_hours(t, hours):
    return (_parse_datetime(t) + timedelta(hours=hours)).isoformat()


def _date_part_rule(args):
    arity(args, 1)
    if not (args[0] in (DATETIME, DATE, STR) or is_error(args[0])):
        raise BuiltinTypeError(f"needs a datetime, got {args[0]}")
    return DATE


@builtin("date_of(t: datetime) -> date", "The calendar date of a datetime.", _date_part_rule, encode=_date_z3)
def _date_of(t):
    return _parse_datetime(t).date().isoformat()


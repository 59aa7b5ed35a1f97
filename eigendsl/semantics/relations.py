"""Type relations: coercion with int widening, unification of branches, and comparability."""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from ..syntax.spans import Span
from .context import Context
from ..types import (
    DATE, DATETIME, ERROR, FLOAT, INT, NONE, STR, AnyElem, EnumType, ListType, MapType,
    OptionalType, Type, UnionType, is_error, is_numeric, is_stringlike, optional, strip_optional,
)


class RelationsPass(Context):
    """`coerce` and `unify` report a mismatch at a span; `same` and `comparable` only answer."""

    def coerce(self, x: ir.Expr, target: Type, span: Span) -> ir.Expr:
        """x as a value of `target`, with int widening; a diagnostic if it does not fit."""
        src = x.type
        if is_error(src) or is_error(target) or src == target:
            return x
        if target == FLOAT and src == INT:
            if isinstance(x, ir.Const):
                return ir.Const(FLOAT, x.span, float(x.value))
            return ir.ToFloat(FLOAT, x.span, x)
        if isinstance(target, OptionalType):
            if src == NONE:
                return replace(x, type=target)
            inner = strip_optional(src)
            coerced = self.coerce(replace(x, type=inner) if isinstance(src, OptionalType) else x, target.inner, span)
            if is_error(coerced.type) and not is_error(inner):
                return coerced
            if isinstance(coerced, ir.ToFloat) and isinstance(src, OptionalType):
                self.sink.error(f"expected {target}, got {src}", span, code="E172")
            return replace(coerced, type=target) if not isinstance(coerced, ir.ToFloat) else coerced
        if isinstance(target, EnumType) and isinstance(x, ir.Const) and src == STR:
            values = self.enums[target.name].values
            if x.value in values:
                return ir.Const(target, x.span, x.value)
            self.sink.error(f"'{x.value}' is not a member of enum {target.name} ({', '.join(values)})", span, code="E173")
            return ir.Const(ERROR, x.span, x.value)
        if target == STR and is_stringlike(src):
            return x
        if target in (DATE, DATETIME) and src == STR and isinstance(x, ir.Const):
            return ir.Const(target, x.span, x.value)
        if isinstance(target, UnionType) and isinstance(src, UnionType) and target.name == src.name:
            if target.variants is None or set(src.variants or ()) <= set(target.variants):
                return x
        if isinstance(target, ListType) and isinstance(src, ListType) and (isinstance(src.elem, AnyElem) or same(src.elem, target.elem)):
            return replace(x, type=target)
        if isinstance(target, MapType) and isinstance(src, MapType) and same(src.key, target.key) and (
            isinstance(src.value, AnyElem) or same(src.value, target.value)
        ):
            return replace(x, type=target)
        self.sink.error(f"expected {target}, got {src}", span, code="E172")
        return replace(x, type=ERROR) if not isinstance(x, ir.Place) else x

    def unify(self, a: Type, b: Type, span: Span) -> Type:
        if is_error(a):
            return b
        if is_error(b) or a == b:
            return a
        if {a, b} == {INT, FLOAT}:
            return FLOAT
        if a == NONE:
            return optional(b)
        if b == NONE:
            return optional(a)
        if isinstance(a, OptionalType) and same(strip_optional(b), a.inner):
            return a
        if isinstance(b, OptionalType) and same(strip_optional(a), b.inner):
            return b
        if isinstance(a, UnionType) and isinstance(b, UnionType) and a.name == b.name:
            return UnionType(a.name)
        if isinstance(a, ListType) and isinstance(b, ListType):
            if isinstance(a.elem, AnyElem):
                return b
            if isinstance(b.elem, AnyElem):
                return a
            return ListType(self.unify(a.elem, b.elem, span))
        if isinstance(a, EnumType) and b == STR or isinstance(b, EnumType) and a == STR:
            return STR
        self.sink.error(f"mixed types {a} and {b}", span, code="E175")
        return ERROR


def same(a: Type, b: Type) -> bool:
    """Whether a value of type a can stand where b is expected without conversion."""
    if a == b or is_error(a) or is_error(b):
        return True
    if isinstance(a, UnionType) and isinstance(b, UnionType) and a.name == b.name and b.variants is None:
        return True
    if isinstance(a, ListType) and isinstance(b, ListType):
        return isinstance(a.elem, AnyElem) or same(a.elem, b.elem)
    if isinstance(a, OptionalType) and isinstance(b, OptionalType):
        return same(a.inner, b.inner)
    return False


def comparable(a: Type, b: Type) -> bool:
    """Whether `==` between values of types a and b can ever be true (so the comparison makes sense)."""
    if is_error(a) or is_error(b) or a == b:
        return True
    if a == NONE and isinstance(b, OptionalType) or b == NONE and isinstance(a, OptionalType):
        return True
    sa, sb = strip_optional(a), strip_optional(b)
    if sa == sb:
        return True
    if is_numeric(sa) and is_numeric(sb):
        return True
    if is_stringlike(sa) and is_stringlike(sb) and (STR in (sa, sb) or sa == sb):
        return True
    if isinstance(sa, UnionType) and isinstance(sb, UnionType) and sa.name == sb.name:
        return True
    if isinstance(sa, ListType) and isinstance(sb, ListType):
        return isinstance(sa.elem, AnyElem) or isinstance(sb.elem, AnyElem) or comparable(sa.elem, sb.elem)
    if isinstance(sa, MapType) and isinstance(sb, MapType):
        return comparable(sa.value, sb.value) or isinstance(sa.value, AnyElem) or isinstance(sb.value, AnyElem)
    return False

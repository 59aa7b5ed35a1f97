"""The Z3 encoder's expressions: one method per IR expression, lookups, and what the built-ins' encodings use."""

from __future__ import annotations

import json
import operator

import z3
from typing import Callable

from .. import ir
from ..ir import BinaryOperator as Op, Quantifier
from ..builtins import BUILTINS, format_value
from ..errors import ToolFailure
from ..types import BOOL, DATE, DATETIME, FLOAT, INT, STR, MapType, Type
from ..runtime.environment import TableView


from .symvalues import (
    _MISSING, ROUNDING, SMALL_TABLE, SUBNORMAL, OverriddenTable, SymList, SymMap, SymOpt, Unsupported, container_kind,
    equal, fresh_name, get_field, has_sym, is_sym, list_items, merge, numeric_pair, presence, to_bool, to_z3,
    with_field,
)


# The operators that mean the same on concrete values and on z3 terms; the encoding of the
# others (and, or, in, not in, equality of structures, division) is spelled out in e_BinaryOp.
BINARY: dict[Op, Callable] = {
    Op.ADD: operator.add, Op.SUB: operator.sub, Op.MUL: operator.mul, Op.DIV: operator.truediv,
    Op.FLOORDIV: operator.floordiv, Op.MOD: operator.mod, Op.EQ: operator.eq, Op.NE: operator.ne,
    Op.LT: operator.lt, Op.LE: operator.le, Op.GT: operator.gt, Op.GE: operator.ge,
}


class ExpressionEncoding:
    """The expression half of the Encoder (verify/symbolic.py): reads `self`'s domain tables, world and failures."""

    EXPRESSIONS: dict[type, str]  # IR class -> its encoding's name (filled, and checked complete, in symbolic.py)

    def expr(self, e: ir.Expr, slots: list):
        return getattr(self, self.EXPRESSIONS[type(e)])(e, slots)

    def e_Const(self, e, slots):
        return e.value

    def e_Local(self, e, slots):
        return slots[e.slot]

    def e_StateRoot(self, e, slots):
        value = self.world.root(e.name)
        derives = self.derives.get(e.name)
        if not derives or self.deriving:
            return value
        self.deriving = True
        try:  # as at run time: derived fields are computed on every read of the record
            for d in derives:
                value = with_field(value, d.path, self.call(d.function, []))
        finally:
            self.deriving = False
        return value

    def e_Fact(self, e, slots):
        return self.world.fact(e.name)

    def e_GetField(self, e, slots):
        return get_field(self.expr(e.obj, slots), e.name)

    def lookup(self, container, key, missing_fails: bool):
        """(present, value) of container[key] for maps and lists, concrete or symbolic."""
        if isinstance(container, SymOpt):
            container = container.value
        if isinstance(container, SymMap):
            entry = container.lookup(key)
            return entry.present, entry.value
        if isinstance(container, (TableView, OverriddenTable)) and container_kind(container) == "list":
            if is_sym(key):
                if len(container) > SMALL_TABLE:
                    raise Unsupported("indexing a large list table with an unknown position")
                container = list(container.values())
            elif key < 0:
                key += len(container)
        if isinstance(container, (dict, TableView, OverriddenTable)):
            if not is_sym(key):
                value = container.get(key, _MISSING)
                return (False, None) if value is _MISSING else (True, value)
            if len(container) > SMALL_TABLE:
                raise Unsupported("a lookup with an unknown key in a large table")
            present, value = z3.BoolVal(False), None
            for k, v in container.items():
                hit = to_bool(equal(key, k))
                value = v if value is None else merge(hit, v, value)
                present = z3.Or(present, hit)
            return present, value
        if isinstance(container, SymList) and not is_sym(key) and key >= 0:
            container.ensure(key + 1)
        if isinstance(container, (list, SymList)):
            items = list_items(container)
            if not is_sym(key) and all(p is True for p, _ in items):
                return (True, items[key][1]) if -len(items) <= key < len(items) else (False, None)
            if not is_sym(key) and 0 <= key < len(items):
                return items[key]
            if not is_sym(key) and -len(items) <= key < 0:
                # Counting from the end of a list whose length is unknown: pick by length.
                length = SymList(items).length()
                value, present = None, z3.BoolVal(False)
                for n in range(-key, len(items) + 1):
                    at = length == n
                    value = items[n + key][1] if value is None else merge(at, items[n + key][1], value)
                    present = z3.Or(present, at)
                return present, value
            if is_sym(key) and len(items) <= 16:
                value, present = None, z3.BoolVal(False)
                k, length = to_z3(key), SymList(items).length()
                for i, (p, item) in enumerate(items):  # a negative position counts from the end
                    at = z3.And(to_bool(p), z3.Or(k == i, z3.And(k < 0, k + length == i)))
                    value = item if value is None else merge(at, item, value)
                    present = z3.Or(present, at)
                return present, value
            raise Unsupported("indexing a list with an unknown position")
        if isinstance(container, str) and not is_sym(key):
            return (True, container[key]) if -len(container) <= key < len(container) else (False, None)
        raise Unsupported("indexing this value")

    def e_GetIndex(self, e, slots):
        present, value = self.lookup(self.expr(e.obj, slots), self.expr(e.key, slots), True)
        if present is not True:
            self.fail_if(z3.Not(to_bool(present)))
        return self.failed(e.type) if value is None and present is not True else value

    def e_CallFn(self, e, slots):
        fn = self.functions[e.name]
        return self.call(fn, [self.expr(a, slots) for a in e.args])

    def e_CallBuiltin(self, e, slots):
        args = [self.expr(a, slots) for a in e.args]
        entry = BUILTINS[e.name]
        if not any(has_sym(a) or (isinstance(a, OverriddenTable) and a.symbolic) for a in args):
            try:
                return entry.impl(*args)
            except ToolFailure:
                self.fail_if(True)
                return self.failed(e.type)
        try:
            if entry.encode is None:
                raise Unsupported(f"{e.name}() of unknown values ({entry.not_analysed})", e.span)
            return entry.encode(self, *args)
        except Unsupported as u:
            if self.approximate and e.type in (INT, FLOAT, BOOL, STR, DATE, DATETIME):
                self.fail_if(z3.Bool(fresh_name(f"{e.name}()!fails")))
                return self.fresh(e.type, f"{e.name}()")
            raise Unsupported(u.what, u.span or e.span) from None

    # ------------------------------------------------------------ what built-ins' encodings use
    scalar = staticmethod(to_z3)
    condition = staticmethod(to_bool)
    comparable = staticmethod(lambda a, b: numeric_pair(a, b) if not isinstance(to_z3(a), z3.SeqRef) else (to_z3(a), to_z3(b)))
    items = staticmethod(list_items)

    @staticmethod
    def real(x):
        x = to_z3(x)
        return z3.ToReal(x) if z3.is_int(x) else x

    @staticmethod
    def unsupported(what: str):
        raise Unsupported(what)

    @staticmethod
    def length(v):
        if isinstance(v, SymOpt):
            v = v.value
        if isinstance(v, z3.SeqRef):
            return z3.Length(v)
        if isinstance(v, (str, dict)) or (isinstance(v, (TableView, OverriddenTable)) and v.kind == "map"):
            return len(v)
        items = list_items(v)
        return len(items) if all(p is True for p, _ in items) else SymList(items).length()

    @staticmethod
    def entries(m) -> dict:
        """A map's entries, where its keys are known (its values may not be)."""
        if isinstance(m, SymOpt):
            m = m.value
        if isinstance(m, dict):
            return m
        if isinstance(m, (TableView, OverriddenTable)) and m.kind == "map":
            return dict(m.items())
        raise Unsupported("the entries of a map whose keys are unknown")

    def get(self, m, key):
        present, value = self.lookup(m, key, False)
        if present is True:
            return value
        return SymOpt(to_bool(present), value) if value is not None else None

    def exact_where(self, region, value, t: Type, outside: str):
        """`value` where `region` holds. Outside it the encoding does not say: an approximating
        encoder gives an unconstrained value that may also fail; an exact one refuses."""
        if z3.is_true(z3.simplify(region)):
            return value
        if not self.approximate:
            raise Unsupported(outside)
        self.fail_if(z3.And(z3.Not(region), z3.Bool(fresh_name("outside!fails"))))
        return z3.If(region, value, to_z3(self.fresh(t, "outside")))

    def e_Construct(self, e, slots):
        out = {}
        if e.variant is not None:
            union = self.unions[e.record]
            out[union.tag_field] = union.variant(e.variant).tag
        for name, v in e.fields:
            out[name] = self.expr(v, slots)
        return out

    def e_ListExpr(self, e, slots):
        return [self.expr(i, slots) for i in e.items]

    def e_MapExpr(self, e, slots):
        out = {}
        for k, v in e.entries:
            key = self.expr(k, slots)
            if is_sym(key):
                raise Unsupported("a map literal with an unknown key", e.span)
            out[key] = self.expr(v, slots)
        return out

    def e_UnaryOp(self, e, slots):
        x = self.expr(e.operand, slots)
        if e.op == ir.UnaryOperator.NOT:
            return (not x) if not is_sym(x) else z3.Not(to_bool(x))
        return -x if not is_sym(x) else -to_z3(x)

    def e_ToFloat(self, e, slots):
        x = self.expr(e.operand, slots)
        if not is_sym(x):
            return None if x is None else float(x)
        x = to_z3(x)
        return z3.ToReal(x) if z3.is_int(x) else x

    def e_IfExpr(self, e, slots):
        c = self.expr(e.cond, slots)
        if not is_sym(c):
            return self.expr(e.then if c else e.else_, slots)
        with self.under(c):
            a = self.expr(e.then, slots)
        with self.under(z3.Not(to_bool(c))):
            b = self.expr(e.else_, slots)
        return merge(to_bool(c), a, b)

    def e_BinaryOp(self, e, slots):
        op = e.op
        if op in (Op.AND, Op.OR):
            left = self.expr(e.left, slots)
            if not is_sym(left):
                if (op == Op.AND and not left) or (op == Op.OR and left):
                    return left
                return self.expr(e.right, slots)
            left = to_bool(left)
            with self.under(left if op == Op.AND else z3.Not(left)):
                right = self.expr(e.right, slots)
            right = right if is_sym(right) else bool(right)
            return z3.And(left, to_bool(right)) if op == Op.AND else z3.Or(left, to_bool(right))
        a, b = self.expr(e.left, slots), self.expr(e.right, slots)
        if op in (Op.IN, Op.NOT_IN):
            result = self.member(a, b)
            if op == Op.NOT_IN:
                return (not result) if not is_sym(result) else z3.Not(result)
            return result
        if not has_sym(a) and not has_sym(b) and not isinstance(a, (TableView, OverriddenTable)):
            if op in (Op.DIV, Op.FLOORDIV, Op.MOD) and b == 0:
                self.fail_if(True)
                return self.failed(e.type)
            return BINARY[op](a, b)
        if op == Op.EQ:
            return equal(a, b)
        if op == Op.NE:
            return z3.Not(to_bool(equal(a, b)))
        if op == Op.ADD and (isinstance(to_z3(a), z3.SeqRef)):
            return z3.Concat(to_z3(a), to_z3(b))
        x, y = numeric_pair(a, b) if op not in (Op.LT, Op.LE, Op.GT, Op.GE) or not isinstance(to_z3(a), z3.SeqRef) else (to_z3(a), to_z3(b))
        if op in (Op.DIV, Op.FLOORDIV, Op.MOD):
            self.fail_if(y == 0)
        if op == Op.DIV:
            x, y = (z3.ToReal(x) if z3.is_int(x) else x), (z3.ToReal(y) if z3.is_int(y) else y)
            return self.rounded(x / y, e.span)
        if op in (Op.FLOORDIV, Op.MOD):
            if not z3.is_int(x) or not z3.is_int(y):
                raise Unsupported(f"{op} on unknown floats", e.span)
            # Python floors the quotient; Z3's integer division is Euclidean (the remainder is
            # never negative). They agree for a positive divisor; for a negative one, negate both.
            q = z3.If(y > 0, x / y, (-x) / (-y))
            return q if op == Op.FLOORDIV else x - y * q
        if op in (Op.ADD, Op.SUB, Op.MUL):
            return self.arith(op, x, y, e.span)
        return BINARY[op](x, y)  # an order on numbers or strings: z3's operators

    def arith(self, op: Op, x, y, span=None):
        """x op y (+, - or *) for numbers, at least one unknown: exact for ints, rounded for floats."""
        x, y = numeric_pair(x, y)
        exact = BINARY[op](x, y)
        return self.rounded(exact, span) if z3.is_real(exact) else exact

    def rounded(self, exact, span=None):
        """The double nearest to an exact real result, which the encoding does not compute: the
        approximating encoder bounds it by the rounding error; the exact one refuses."""
        if not self.approximate:
            raise Unsupported("arithmetic on unknown floats (the runtime rounds to doubles)", span)
        r = z3.Real(fresh_name("rounded"))
        size = z3.If(exact >= 0, exact, -exact)
        self.axioms.append(z3.And(r - exact <= size * ROUNDING + SUBNORMAL, exact - r <= size * ROUNDING + SUBNORMAL))
        return r

    def member(self, a, b):
        if isinstance(b, (TableView, OverriddenTable)) and b.kind == "list":
            b = list_items(b)  # membership among a list table's rows, as for any list
            return z3.Or([to_bool(equal(a, x)) for _, x in b]) if has_sym(a) or has_sym([x for _, x in b]) else any(a == x for _, x in b)
        if isinstance(b, (TableView, OverriddenTable, SymMap, dict)):
            present, _ = self.lookup(b, a, False)
            return present
        if isinstance(b, (list, SymList)):
            if not has_sym(a) and isinstance(b, list) and not has_sym(b):
                return a in b
            return self.among(a, list_items(b))
        if isinstance(b, str) or isinstance(b, z3.SeqRef):
            if not is_sym(a) and not is_sym(b):
                return a in b
            return z3.Contains(to_z3(b), to_z3(a))
        raise Unsupported("membership in this value")

    @staticmethod
    def among(a, items):
        """Whether a is one of the present items: a disjunction with one term per distinct
        element (large known lists repeat values; an item known present needs no And)."""
        parts, seen = [], set()
        for p, x in items:
            if p is False:
                continue
            if p is True and not has_sym(x):
                key = json.dumps(x, sort_keys=True, default=str) if isinstance(x, (dict, list)) else (type(x), x)
                if key in seen:
                    continue
                seen.add(key)
            eq = equal(a, x)
            if eq is True and p is True:
                return True
            if eq is False:
                continue
            parts.append(to_bool(eq) if p is True else z3.And(to_bool(p), to_bool(eq)))
        return z3.Or(parts) if parts else False

    def e_IsVariant(self, e, slots):
        obj = self.expr(e.obj, slots)
        if isinstance(obj, SymOpt):
            obj = obj.value
        union = self.unions[e.obj.type.name]
        tag = get_field(obj, union.tag_field)
        if not is_sym(tag):
            result = tag in e.tags
            return (not result) if e.negated else result
        result = z3.Or([tag == z3.StringVal(t) for t in e.tags]) if e.tags else z3.BoolVal(False)
        return z3.Not(result) if e.negated else result

    def e_Coalesce(self, e, slots):
        if isinstance(e.left, ir.GetIndex) and isinstance(e.left.obj.type, MapType):
            present, value = self.lookup(self.expr(e.left.obj, slots), self.expr(e.left.key, slots), False)
        else:
            present, value = presence(self.expr(e.left, slots))
        if present is True:
            return value
        right = self.expr(e.right, slots)
        if present is False:
            return right
        return merge(to_bool(present), value, right)

    def e_OrFail(self, e, slots):
        if e.mode == ir.Unwrap.CHECK:
            c = self.expr(e.expr, slots)
            if not is_sym(c):
                if not c:
                    self.fail_if(True)
                return True
            self.fail_if(z3.Not(to_bool(c)))
            return True
        if e.mode == ir.Unwrap.LOOKUP and isinstance(e.expr, ir.GetIndex):
            present, value = self.lookup(self.expr(e.expr.obj, slots), self.expr(e.expr.key, slots), True)
        else:
            present, value = presence(self.expr(e.expr, slots))
        if present is not True:
            self.fail_if(z3.Not(to_bool(present)))
        return self.failed(e.type) if value is None and present is not True else value

    def quantified_items(self, e, slots):
        return list_items(self.expr(e.iter, slots))

    def e_Quantified(self, e, slots):
        items = self.quantified_items(e, slots)
        results = []
        for present, value in items:
            local = list(slots)
            local[e.slot] = value
            with self.under(present):
                results.append((present, self.expr(e.body, local), value))
        if not any(is_sym(p) or is_sym(r) for p, r, _ in results):
            live = [(r, v) for p, r, v in results if p]
            if e.kind == Quantifier.ANY:
                return any(r for r, _ in live)
            if e.kind == Quantifier.ALL:
                return all(r for r, _ in live)
            if e.kind == Quantifier.COUNT:
                return sum(1 for r, _ in live if r)
            if e.kind == Quantifier.SUM:  # in order from zero, as the runtime adds
                total = 0.0 if e.type == FLOAT else 0
                for r, _ in live:
                    total = total + r
                return total
            return next((v for r, v in live if r), None)
        if e.kind == Quantifier.ANY:
            return z3.Or([z3.And(to_bool(p), to_bool(r)) for p, r, _ in results]) if results else False
        if e.kind == Quantifier.ALL:
            return z3.And([z3.Implies(to_bool(p), to_bool(r)) for p, r, _ in results]) if results else True
        if e.kind == Quantifier.COUNT:
            return z3.Sum([z3.If(z3.And(to_bool(p), to_bool(r)), 1, 0) for p, r, _ in results]) if results else 0
        if e.kind == Quantifier.SUM:
            total = 0.0 if e.type == FLOAT else 0
            for p, r, _ in results:
                total = merge(to_bool(p), total + r if not has_sym(total) and not has_sym(r) else self.arith(Op.ADD, total, r, e.span), total)
            return total
        value = None
        found = z3.BoolVal(False)
        for p, r, v in reversed(results):
            hit = z3.And(to_bool(p), to_bool(r))
            value = v if value is None else merge(hit, v, value)
            found = z3.Or(found, hit)
        return SymOpt(found, value) if value is not None else None

    def e_Comprehension(self, e, slots):
        out = []
        symbolic = False
        for present, value in self.quantified_items(e, slots):
            local = list(slots)
            local[e.slot] = value
            keep = present
            if e.cond is not None:
                with self.under(present):
                    c = self.expr(e.cond, local)
                keep = c if present is True else (z3.And(to_bool(present), to_bool(c)) if is_sym(c) or is_sym(present) else (present and c))
            with self.under(keep):
                elem = self.expr(e.elem, local)
            symbolic |= is_sym(keep)
            out.append((keep, elem))
        if not symbolic:
            return [elem for keep, elem in out if keep]
        return SymList(out)

    def e_Format(self, e, slots):
        parts = [p if isinstance(p, str) else self.expr(p, slots) for p in e.parts]
        if any(is_sym(p) for p in parts):
            raise Unsupported("string interpolation of unknown values", e.span)

        return "".join(p if isinstance(p, str) else format_value(p) for p in parts)

    def e_GetSlice(self, e, slots):
        obj = self.expr(e.obj, slots)
        lo = self.expr(e.lo, slots) if e.lo else None
        hi = self.expr(e.hi, slots) if e.hi else None
        if not any(is_sym(x) for x in (obj, lo, hi)):
            return obj[lo:hi]
        if not isinstance(obj, (str, z3.SeqRef)):
            raise Unsupported("slicing unknown values", e.span)
        # Python's bounds: negative counts from the end, and both are clipped to the text.
        text = to_z3(obj)
        n = z3.Length(text)

        def bound(x, default):
            if x is None:
                return default
            x = to_z3(x)
            x = z3.If(x < 0, x + n, x)
            return z3.If(x < 0, 0, z3.If(x > n, n, x))

        start, end = bound(lo, z3.IntVal(0)), bound(hi, n)
        return z3.SubString(text, start, z3.If(end > start, end - start, 0))

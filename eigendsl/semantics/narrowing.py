"""Conditions and narrowing: what a bool condition tells about local variables on each branch."""

from __future__ import annotations

from .. import ir
from ..ir import BinaryOperator, UnaryOperator
from ..syntax import ast
from .context import Body, Context
from ..types import BOOL, OptionalType, Type, UnionType, is_error


class NarrowingPass(Context):
    """`facts_of` gives the narrowed types that statements and expressions push with `Body.narrow`."""

    def condition(self, e: ast.Expr, body: Body) -> ir.Expr:
        c = self.expr(e, body, BOOL)
        if c.type != BOOL and not is_error(c.type):
            self.sink.error(f"a condition must be bool, got {c.type}", e.span, code="E170")
        return c

    def facts_of(self, c: ir.Expr) -> tuple[dict[str, Type], dict[str, Type]]:
        """What a condition tells about local variables when true, and when false."""
        if isinstance(c, ir.IsVariant) and isinstance(c.obj, ir.Local) and isinstance(c.obj.type, UnionType):
            t = c.obj.type
            u = self.unions[t.name]
            current = [v.name for v in u.variants if t.variants is None or v.name in t.variants]
            chosen = [v.name for v in u.variants if v.tag in c.tags and v.name in current]
            rest = [v for v in current if v not in chosen]
            yes = {c.obj.name: UnionType(t.name, tuple(chosen))}
            no = {c.obj.name: UnionType(t.name, tuple(rest))}
            return (no, yes) if c.negated else (yes, no)
        if isinstance(c, ir.BinaryOp) and c.op in (BinaryOperator.EQ, BinaryOperator.NE) and isinstance(c.left, ir.Local) and isinstance(c.right, ir.Const) and c.right.value is None:
            t = c.left.type
            if isinstance(t, OptionalType):
                some, none = {c.left.name: t.inner}, {}
                return (none, some) if c.op == BinaryOperator.EQ else (some, none)
        if isinstance(c, ir.UnaryOp) and c.op == UnaryOperator.NOT:
            pos, neg = self.facts_of(c.operand)
            return neg, pos
        if isinstance(c, ir.BinaryOp) and c.op == BinaryOperator.AND:
            lp, _ = self.facts_of(c.left)
            rp, _ = self.facts_of(c.right)
            return {**lp, **rp}, {}
        if isinstance(c, ir.BinaryOp) and c.op == BinaryOperator.OR:
            _, ln = self.facts_of(c.left)
            _, rn = self.facts_of(c.right)
            lp, _ = self.facts_of(c.left)
            rp, _ = self.facts_of(c.right)
            pos = {}
            for name in lp.keys() & rp.keys():
                a, b = lp[name], rp[name]
                if isinstance(a, UnionType) and isinstance(b, UnionType) and a.name == b.name:
                    names = [v.name for v in self.unions[a.name].variants if v.name in (a.variants or ()) or v.name in (b.variants or ())]
                    pos[name] = UnionType(a.name, tuple(names))
            return pos, {**ln, **rn}
        return {}, {}

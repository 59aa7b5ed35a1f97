"""Failure explanations people can read: an IR expression as eig text, and what a failed goal saw.

    explain_goal(program, env, goal)
    -> {"at": "domains/airline.eig:844:5", "goal": 'reservations["VE6OG5"].status == cancelled',
        "saw": "active", "expected": "cancelled"}

A goal that is a comparison reports both sides' values on the final state; any other goal
reports its own value (false) or the error that stopped it.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from .. import ir
from ..errors import ToolFailure
from ..runtime.environment import INTERNAL_ERRORS

COMPARISONS = ir.COMPARISONS | {ir.BinaryOperator.IN, ir.BinaryOperator.NOT_IN}
SHORT = 200


def eig_value(value: Any, limit: int = SHORT) -> str:
    """A runtime value as eig writes it (none, true, "text", [..], {k: v}), cut to `limit` characters."""
    if value is None:
        text = "none"
    elif value is True or value is False:
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(eig_value(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {eig_value(v, limit)}" for k, v in value.items()) + "}"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slot_names(node: Any) -> dict[int, str]:
    return {e.slot: e.name for e in ir.walk_exprs(node) if isinstance(e, ir.Local)}


def expr_text(e: ir.Expr, names: dict[int, str] | None = None) -> str:
    """The expression in eig syntax (fully parenthesised where operators nest)."""
    names = names if names is not None else slot_names(e)
    return TEXT[type(e)](e, _Writer(names))


class _Writer:
    """What the TEXT entries need: the local variables' names, and sub-expressions as text."""

    def __init__(self, names: dict[int, str]):
        self.names = names

    def __call__(self, x: ir.Expr) -> str:
        return expr_text(x, self.names)

    def sub(self, x: ir.Expr) -> str:
        """An operand: parenthesised when it is itself an operator expression."""
        text = self(x)
        return f"({text})" if isinstance(x, (ir.BinaryOp, ir.IfExpr, ir.Coalesce, ir.OrFail, ir.IsVariant)) else text

    def var(self, slot: int) -> str:
        return self.names.get(slot, "x")


def _const_text(e: ir.Const, w: _Writer) -> str:
    if type(e.type).__name__ == "EnumType" and isinstance(e.value, str):
        return e.value
    return eig_value(e.value, 10_000)


def _slice_text(e: ir.GetSlice, w: _Writer) -> str:
    lo = w(e.lo) if e.lo is not None else ""
    hi = w(e.hi) if e.hi is not None else ""
    return f"{w.sub(e.obj)}[{lo}:{hi}]"


def _comprehension_text(e: ir.Comprehension, w: _Writer) -> str:
    cond = f" if {w(e.cond)}" if e.cond is not None else ""
    return f"[{w(e.elem)} for {w.var(e.slot)} in {w(e.iter)}{cond}]"


def _call_text(e: ir.CallBuiltin | ir.CallFn, w: _Writer) -> str:
    return f"{e.name}({', '.join(w(a) for a in e.args)})"


# One entry per IR expression class (tests/test_dispatch.py checks that none is missing).
TEXT: dict[type, Callable[[Any, _Writer], str]] = {
    ir.Const: _const_text,
    ir.Local: lambda e, w: e.name,
    ir.StateRoot: lambda e, w: e.name,
    ir.Fact: lambda e, w: f"fact.{e.name}",
    ir.GetField: lambda e, w: f"{w.sub(e.obj)}.{e.name}",
    ir.GetIndex: lambda e, w: f"{w.sub(e.obj)}[{w(e.key)}]",
    ir.GetSlice: _slice_text,
    ir.CallBuiltin: _call_text,
    ir.CallFn: _call_text,
    ir.Construct: lambda e, w: f"{e.variant or e.record}{{{', '.join(f'{k}: {w(v)}' for k, v in e.fields)}}}",
    ir.ListExpr: lambda e, w: f"[{', '.join(w(x) for x in e.items)}]",
    ir.MapExpr: lambda e, w: "{" + ", ".join(f"{w(k)}: {w(v)}" for k, v in e.entries) + "}",
    ir.UnaryOp: lambda e, w: f"not {w.sub(e.operand)}" if e.op == ir.UnaryOperator.NOT else f"-{w.sub(e.operand)}",
    ir.BinaryOp: lambda e, w: f"{w.sub(e.left)} {e.op} {w.sub(e.right)}",
    ir.IsVariant: lambda e, w: f"{w.sub(e.obj)} is {'not ' if e.negated else ''}{' | '.join(e.tags)}",
    ir.IfExpr: lambda e, w: f"if {w(e.cond)} then {w(e.then)} else {w(e.else_)}",
    ir.Coalesce: lambda e, w: f"{w.sub(e.left)} ?? {w.sub(e.right)}",
    ir.OrFail: lambda e, w: f"{w.sub(e.expr)} or fail {w(e.message)}",
    ir.Comprehension: _comprehension_text,
    ir.Quantified: lambda e, w: f"{e.kind}({w.var(e.slot)} in {w(e.iter)}: {w(e.body)})",
    ir.ToFloat: lambda e, w: w(e.operand),
    ir.Format: lambda e, w: json.dumps("".join(p if isinstance(p, str) else "{" + w(p) + "}" for p in e.parts)),
}


def goal_text(goal: ir.Function) -> str:
    """The goal's predicate: the expression its body returns."""
    last = goal.body[-1] if goal.body else None
    if isinstance(last, ir.Return) and last.value is not None:
        return expr_text(last.value, slot_names(goal))
    return goal.name


def location(span) -> str:
    return f"{span.file}:{span.line}:{span.col}"


def explain_goal(program, env, goal: ir.Function, error: str | None = None) -> dict:
    """Where a failed goal is, what it says, and the values it saw on the final state."""
    out: dict[str, Any] = {"at": location(goal.span), "goal": goal_text(goal)}
    if error is not None:
        out["error"] = error
        return out
    last = goal.body[-1] if goal.body else None
    value = last.value if isinstance(last, ir.Return) else None
    if isinstance(value, ir.UnaryOp) and value.op == ir.UnaryOperator.NOT:
        value = value.operand
    if isinstance(value, ir.BinaryOp) and value.op in COMPARISONS:
        out["saw"] = side_value(program, env, goal, value.left)
        out["expected"] = side_value(program, env, goal, value.right) if not isinstance(value.right, ir.Const) \
            else expr_text(value.right)
        if value.op != ir.BinaryOperator.EQ:
            out["expected"] = f"{value.op} {out['expected']}"
    else:
        out["saw"] = "false"
    return out


def side_value(program, env, goal: ir.Function, expr: ir.Expr) -> str:
    part = ir.Function(ir.FunctionKind.FN, f"{goal.name}_part", goal.params, None, ir.Effect.READS,
                       goal.body[:-1] + (ir.Return(expr.span, expr),), goal.nslots, goal.actor, None, goal.span)
    try:
        return eig_value(env.evaluate(program.function(part)))
    except (ToolFailure, *INTERNAL_ERRORS) as e:  # a missing key, say: worth saying
        return f"(error: {getattr(e, 'message', None) or e})"

"""Failure explanations people can read: an IR expression as eig text, and what a failed goal saw.

    explain_goal(program, env, goal)
    -> {"at": "domains/airline.eig:844:5", "goal": 'reservations["VE6OG5"].status == cancelled',
        "saw": "active", "expected": "cancelled"}

A goal that is a comparison reports both sides' values on the final state; any other goal
reports its own value (false) or the error that stopped it.
"""

from __future__ import annotations

import json
from typing import Any

from .. import ir
from ..errors import ToolFailure
from ..runtime.environment import INTERNAL_ERRORS

COMPARISONS = {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}
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

    def sub(x: ir.Expr) -> str:
        text = expr_text(x, names)
        return f"({text})" if isinstance(x, (ir.BinaryOp, ir.IfExpr, ir.Coalesce, ir.OrFail, ir.IsVariant)) else text

    if isinstance(e, ir.Const):
        if type(e.type).__name__ == "EnumType" and isinstance(e.value, str):
            return e.value
        return eig_value(e.value, 10_000)
    if isinstance(e, ir.Local):
        return e.name
    if isinstance(e, ir.StateRoot):
        return e.name
    if isinstance(e, ir.Fact):
        return f"fact.{e.name}"
    if isinstance(e, ir.GetField):
        return f"{sub(e.obj)}.{e.name}"
    if isinstance(e, ir.GetIndex):
        return f"{sub(e.obj)}[{expr_text(e.key, names)}]"
    if isinstance(e, ir.GetSlice):
        lo = expr_text(e.lo, names) if e.lo is not None else ""
        hi = expr_text(e.hi, names) if e.hi is not None else ""
        return f"{sub(e.obj)}[{lo}:{hi}]"
    if isinstance(e, (ir.CallBuiltin, ir.CallFn)):
        return f"{e.name}({', '.join(expr_text(a, names) for a in e.args)})"
    if isinstance(e, ir.Construct):
        head = e.variant or e.record
        return f"{head}{{{', '.join(f'{k}: {expr_text(v, names)}' for k, v in e.fields)}}}"
    if isinstance(e, ir.ListExpr):
        return f"[{', '.join(expr_text(x, names) for x in e.items)}]"
    if isinstance(e, ir.MapExpr):
        return "{" + ", ".join(f"{expr_text(k, names)}: {expr_text(v, names)}" for k, v in e.entries) + "}"
    if isinstance(e, ir.UnaryOp):
        return f"not {sub(e.operand)}" if e.op == "not" else f"-{sub(e.operand)}"
    if isinstance(e, ir.BinaryOp):
        return f"{sub(e.left)} {e.op} {sub(e.right)}"
    if isinstance(e, ir.IsVariant):
        return f"{sub(e.obj)} is {'not ' if e.negated else ''}{' | '.join(e.tags)}"
    if isinstance(e, ir.IfExpr):
        return f"if {expr_text(e.cond, names)} then {expr_text(e.then, names)} else {expr_text(e.else_, names)}"
    if isinstance(e, ir.Coalesce):
        return f"{sub(e.left)} ?? {sub(e.right)}"
    if isinstance(e, ir.OrFail):
        return f"{sub(e.expr)} or fail {expr_text(e.message, names)}"
    if isinstance(e, ir.Comprehension):
        var = names.get(e.slot, "x")
        cond = f" if {expr_text(e.cond, names)}" if e.cond is not None else ""
        return f"[{expr_text(e.elem, names)} for {var} in {expr_text(e.iter, names)}{cond}]"
    if isinstance(e, ir.Quantified):
        return f"{e.kind}({names.get(e.slot, 'x')} in {expr_text(e.iter, names)}: {expr_text(e.body, names)})"
    if isinstance(e, ir.ToFloat):
        return expr_text(e.operand, names)
    if isinstance(e, ir.Format):
        return json.dumps("".join(p if isinstance(p, str) else "{" + expr_text(p, names) + "}" for p in e.parts))
    return f"<{type(e).__name__}>"


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
    if isinstance(value, ir.UnaryOp) and value.op == "not":
        value = value.operand
    if isinstance(value, ir.BinaryOp) and value.op in COMPARISONS:
        out["saw"] = side_value(program, env, goal, value.left)
        out["expected"] = side_value(program, env, goal, value.right) if not isinstance(value.right, ir.Const) \
            else expr_text(value.right)
        if value.op != "==":
            out["expected"] = f"{value.op} {out['expected']}"
    else:
        out["saw"] = "false"
    return out


def side_value(program, env, goal: ir.Function, expr: ir.Expr) -> str:
    part = ir.Function("fn", f"{goal.name}_part", goal.params, None, "reads",
                       goal.body[:-1] + (ir.Return(expr.span, expr),), goal.nslots, goal.actor, None, goal.span)
    try:
        return eig_value(env.evaluate(program.function(part)))
    except (ToolFailure, *INTERNAL_ERRORS) as e:  # a missing key, say: worth saying
        return f"(error: {getattr(e, 'message', None) or e})"

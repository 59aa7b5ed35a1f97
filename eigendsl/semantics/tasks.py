"""Pass 4, tasks: texts, user scenario, setup, gold actions, goals, assertions and reward components."""

from __future__ import annotations

from dataclasses import replace

from .. import ir
from ..ir import CallKind, Effect, FunctionKind, Side
from ..syntax import ast
from .context import NOT_CONST, Body, Context, suggest
from ..types import BOOL, Type

TASK_TEXTS = ("purpose", "notes", "ticket", "policies")
USER_TEXTS = ("persona", "reason", "known", "unknown", "instructions", "wants")
REWARDS = tuple(ir.RewardComponent)
CONTRADICTS = "the user's scenario contradicts itself"


class TasksPass(Context):
    """Needs every body checked (task calls name tools, setups and assertions); produces `ir.TaskDef`s
    whose arguments are literal values."""

    def check_tasks(self, decls) -> list[ir.TaskDef]:
        return [self.check_task(d) for d in self.each_once(decls, ast.TaskDecl, lambda d: d.name, "task", "E180")]

    def check_task(self, d: ast.TaskDecl) -> ir.TaskDef:
        texts = {}
        for key, text, span in d.texts:
            if key not in TASK_TEXTS:
                self.sink.error(f"unknown task text '{key}' (known: {', '.join(TASK_TEXTS)})", span, code="E181")
            elif key in texts:
                self.sink.error(f"'{key}' is given twice", span, code="E182")
            texts[key] = text
        user = ir.UserScenario()
        if d.user is not None:
            for key, text in d.user.texts:
                if key not in USER_TEXTS:
                    self.sink.error(f"unknown user text '{key}' (known: {', '.join(USER_TEXTS)})", d.user.span, code="E183")
                user.texts[key] = text
            for key, e in d.user.knows:
                self.state_once(user.knows, "known value", key, self.literal_value(e, None), e.span)
            for key, e in d.user.facts:
                f = self.facts.get(key)
                if f is None:
                    self.sink.error(f"unknown fact '{key}'{suggest(key, list(self.facts))} (declare it in `facts {{ ... }}`)", e.span, code="E107")
                    continue
                self.state_once(user.facts, "fact", key, self.literal_value(e, f.type), e.span)
        setup = []
        for item in d.setup or ():
            if isinstance(item, ast.GoldCall):
                spec = self.call_spec(item, ("setup", "tool"))
                if spec is not None:
                    setup.append(spec)
            else:
                body = Body(FunctionKind.SETUP, f"task {d.name}", Effect.WRITES, Side.AGENT, None)
                stmt = self.assign(item, body)
                setup.append(ir.Function(FunctionKind.SETUP, f"task:{d.name}", (), None, Effect.WRITES, (stmt,), body.nslots,
                                         span=item.span))
        gold = None
        if d.gold is not None:
            gold = tuple(spec for spec in (self.call_spec(g, ("tool",)) for g in d.gold) if spec is not None)
        goals = []
        for e in d.goals:
            body = Body(FunctionKind.GOAL, f"task {d.name}", Effect.READS, Side.AGENT, BOOL)
            x = self.condition(e, body)
            goals.append(ir.Function(FunctionKind.GOAL, f"task:{d.name}", (), BOOL, Effect.READS, (ir.Return(e.span, x),),
                                     body.nslots, span=e.span))
        assertions = []
        for a in d.assertions:
            spec = self.call_spec(a.call, ("assertion",))
            if spec is not None:
                expected = self.literal_value(a.expected, BOOL) if a.expected is not None else True
                assertions.append(replace(spec, expected=expected, message=a.message))
        reward = []
        if d.reward is not None:
            for name, span in d.reward:
                if name not in REWARDS:
                    self.sink.error(f"unknown reward component '{name}' (known: {', '.join(REWARDS)})", span, code="E185")
                    continue
                needs = {"DB": gold is not None, "ACTION": bool(gold), "GOAL": bool(goals), "ENV_ASSERTION": bool(assertions)}
                if not needs.get(name, True):
                    what = {"DB": "gold actions", "ACTION": "gold actions", "GOAL": "goals", "ENV_ASSERTION": "env assertions"}[name]
                    self.sink.error(f"reward component {name} needs {what}, and this task has none", span, code="E186")
                reward.append(ir.RewardComponent(name))
        else:
            R = ir.RewardComponent
            reward = [name for name, present in (
                (R.DB, gold is not None), (R.GOAL, bool(goals)), (R.ENV_ASSERTION, bool(assertions)),
                (R.COMMUNICATE, bool(d.communicate)), (R.POLICY, True)) if present]
        return ir.TaskDef(
            d.name, texts, user, tuple(setup), gold, tuple(goals), tuple(d.communicate), tuple(assertions),
            tuple(d.judge), tuple(reward), d.span,
        )


    def state_once(self, stated: dict, what: str, key: str, value, span) -> None:
        """A user's fact or known value, which a scenario may repeat but not contradict."""
        if key in stated and stated[key] != value:
            self.sink.error(f"{CONTRADICTS}: {what} {key} is stated twice with different values", span, code="E191")
        stated.setdefault(key, value)
    def call_spec(self, g: ast.GoldCall, kinds: tuple[str, ...]) -> ir.CallSpec | None:
        """A call in a task: a known tool / setup / assertion of that actor, with literal arguments."""
        target, kind = None, None
        for k in kinds:
            if k == "tool":
                decl = self.tool_decls.get((g.actor, g.name))
                if decl is not None:
                    target, kind = self.tool_params[(g.actor, g.name)], k
            elif k == "setup" and (g.actor, g.name) in self.setups_by_key:
                target, kind = self.setups_by_key[(g.actor, g.name)].params, k
            elif k == "assertion" and (g.actor, g.name) in self.assertions_by_key:
                target, kind = self.assertions_by_key[(g.actor, g.name)].params, k
            if target is not None:
                break
        if target is None:
            names = [n for (a, n) in list(self.tool_decls) + list(self.setups_by_key) + list(self.assertions_by_key) if a == g.actor]
            what = " or ".join(kinds)
            self.sink.error(f"unknown {g.actor} {what} '{g.name}'{suggest(g.name, names)}", g.name_span, code="E187")
            return None
        body = Body(FunctionKind.TASK, g.name, Effect.PURE, Side(g.actor), None)
        args = self.bind_args(g, target, body, f"{kind} {g.name}")
        values = {}
        positional = sum(1 for a in g.args if a.name is None)
        named = {a.name for a in g.args if a.name is not None}
        for index, (p, a) in enumerate(zip(target, args)):
            value = self.fold(a)
            if value is NOT_CONST:
                self.sink.error(f"argument '{p.name}' of a task call must be a literal value", a.span, code="E188")
                continue
            if index < positional or p.name in named:
                values[p.name] = value
        compare = None
        if g.compare is not None:
            names = {p.name for p in target}
            for c in g.compare:
                if c not in names:
                    self.sink.error(f"compare names '{c}', which is not a parameter of {g.name}", g.span, code="E189")
            compare = tuple(g.compare)
        return ir.CallSpec(Side(g.actor), CallKind(kind), g.name, values, compare, True, None, g.span)

    def literal_value(self, e: ast.Expr, t: Type | None):
        body = Body(FunctionKind.TASK, "literal", Effect.PURE, Side.AGENT, None)
        x = self.expr(e, body, t)
        if t is not None:
            x = self.coerce(x, t, e.span)
        value = self.fold(x)
        if value is NOT_CONST:
            self.sink.error("this must be a literal value", e.span, code="E190")
            return None
        return value

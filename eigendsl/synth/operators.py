"""Offline task writers: operators over the domain's own tasks (seeds) and its data.

Every operator ends the same way: the new gold actions are replayed on the compiled domain
from the task's initial state, the guard verdicts of its writes decide the branch (allowed,
or forbidden and so a refusal or a transfer, as the violated guards declare: outcomes.py),
and the goals are recomputed from the replay's diff. Nothing is asserted that the runtime did not compute.

- retarget:   the seed's request on another entity of the same table; ids that hang off the
              entity (its owner, the owner's payment methods) follow it by their place in the row
- vary:       another amount, count or enum member for a numeric or enum argument of the write,
              or a list argument grown by other things of its kind the agent reads (vary.py)
- flip_fact:  another value of a fact the write's guards read (a health reason becomes a change
              of plan, and the cancellation becomes a refusal)
- compose:    two requests of one user in one task (multi-intent)
- distractor: the user also asks about another entity of theirs (an extra read)
- fresh:      no seed: a write tool's arguments filled by name from a random row of the table
              that names most of them (and the rows its ids point to), after the read that
              feeds it; enums drawn from their members; a user-side call that changes nothing
              on the default phone is preceded by a user setup that makes it change something;
              a refusal plan may name another customer as the owner (the ownership guard)
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace

from .. import ir
from ..runtime.environment import CompiledDomain
from ..types import FLOAT, INT, STR, EnumType, ListType, OptionalType, RecordType
from . import outcomes, vary
from .render import Call, Draft, Typed
from ..verify.choices import plain
from ..verify.forbidden import forbidden_note
from .identify import identified
from .scenario import ScenarioWriter
from .world import World, strings, substitute

OPERATORS = ("retarget", "vary", "flip_fact", "compose", "distractor", "fresh")
NOT_ALLOWED = "Not allowed by policy"
QUOTED = re.compile(r"'([^']+)'")
ONE_OF = re.compile(r"^One of ([\w ,-]+)\.")


@dataclass
class Seed:
    """A task of the domain, taken apart for the operators (computed once per seed)."""

    task: ir.TaskDef
    gold: list[Call]
    setup: list[Call]
    assertions: list[ir.CallSpec]
    main: int  # index in gold of the write the task is about
    anchor: tuple[str, object] | None
    owner: tuple[str, object] | None
    entities: list[str] = field(default_factory=list)


class Writer:
    """The offline writer: turns (plan, operator, rng) into Drafts over one loaded domain."""

    def __init__(self, domain: CompiledDomain, seeds: list[ir.TaskDef] | None = None):
        self.domain = domain
        self.world = World(domain)
        self.typed = Typed(domain.ir)
        self.tools = {(t.actor, t.name): t for t in domain.ir.tools}
        self.guard_facts: dict[str, set[str]] = {}
        for p in domain.ir.policies:
            for g in p.guards:
                self.guard_facts.setdefault(g.tool, set()).update(
                    x.name for x in ir.walk_exprs(g.function) if isinstance(x, ir.Fact))
        self.fact_types = {f.name: (f.type.inner if isinstance(f.type, OptionalType) else f.type) for f in domain.ir.facts}
        self.transfer = outcomes.transfer_tool(domain)
        self.seeds = [s for s in (self.take_apart(t) for t in (seeds if seeds is not None else domain.ir.tasks)) if s is not None]
        self.owned_cache: dict[tuple, object] = {}
        self.owned_index: dict[tuple, dict] = {}
        self.by_id = {s.task.id: s for s in self.seeds}
        self.last_anchor = None
        self.user_setups = [f for f in getattr(domain.ir, "setups", []) if getattr(f, "actor", None) == ir.Side.USER]
        self.scenario = ScenarioWriter(domain, self.world, {t.name for t in domain.ir.tools if t.effect == ir.Effect.WRITES})
        self.parts = 0  # > 0 while drafting the parts of a pair: compose writes their scenario

    # ------------------------------------------------------------ seeds
    def is_write(self, call: Call) -> bool:
        tool = self.tools.get((call.actor, call.name))
        return tool is not None and tool.effect == ir.Effect.WRITES

    def take_apart(self, task: ir.TaskDef) -> Seed | None:
        if not task.gold or any(not isinstance(s, ir.CallSpec) for s in task.setup):
            return None
        gold = [Call(c.actor, c.name, dict(c.args), c.compare) for c in task.gold]
        writes = [i for i, c in enumerate(gold) if self.is_write(c)]
        main = writes[0] if writes else None
        if main is None:  # a refusal seed: its request is not in the gold; use it only through its entities
            return None
        found = []
        for v in strings(gold[main].args, []) + strings(task.user.knows, []) + strings([c.args for c in gold], []):
            e = self.world.entity(v)
            if e is not None and e not in found:
                found.append(e)
        anchor = found[0] if found else None
        owner = None
        if anchor is not None:  # the row the anchor points to (a reservation's or an order's user)
            row = self.world.row(*anchor)
            pointed = [self.world.entity(v) for v in row.values() if isinstance(v, str)] if isinstance(row, dict) else []
            owner = next((e for e in pointed if e is not None and e[0] != anchor[0]), None)
            owner = owner or next((e for e in found[1:] if e[0] != anchor[0]), None)
        return Seed(task, gold, [Call(s.actor, s.name, dict(s.args)) for s in task.setup], list(task.assertions), main, anchor, owner,
                    [v for v in strings([c.args for c in gold], []) if self.world.entity(v)])

    def seeds_for(self, tool: str) -> list[Seed]:
        return [s for s in self.seeds if s.gold[s.main].name == tool]

    # ------------------------------------------------------------ replay and drafts
    def play(self, facts: dict, setup: list[Call], gold: list[Call]):
        start = self.domain.environment(facts)
        for s in setup:
            if not start.run_setup(s.name, s.args, s.actor).ok:
                return None, None, "setup step fails"
        start.trace = []
        env = self.domain.environment(facts)
        env.state.overlay = start.checkpoint()  # the setups' state, not the setups run again
        for c in gold:
            env.call(c.name, c.args, c.actor)
        return start, env, None

    def outcome(self, env, gold: list[Call]) -> tuple[str, list[str], str | None]:
        """allow | forbid | fail, the guard branches exercised, and why a call failed."""
        branches, forbidden = [], False
        for c, entry in zip(gold, env.trace):
            for v in entry.guards:
                if v.verdict == "error":
                    return "fail", branches, f"guard {v.policy} cannot be evaluated"
                branches.append(f"{v.policy}/{c.name}:{'allow' if v.verdict == 'ok' else 'forbid'}")
                forbidden |= v.verdict == "violated"
            if not entry.ok:
                if (entry.error and entry.error.startswith(NOT_ALLOWED)) or any(v.verdict == "violated" for v in entry.guards):
                    forbidden = True  # the policy forbids it (the tool refuses too)
                    continue
                return "fail", branches, f"gold action {c.name} fails: {entry.error}"
        return ("forbid" if forbidden else "allow"), branches, None

    def draft(self, plan: str, operator: str, seed: Seed | str, facts: dict, setup: list[Call], gold: list[Call],
              knows: dict, assertions: list[ir.CallSpec], rng: random.Random, want: str, extra_reason: str = "") -> Draft | str:
        start, env, problem = self.play(facts, setup, gold)
        if problem:
            return problem
        initial = start.checkpoint()

        def fork():  # a fresh environment in the task's initial state, for the scenario writer's lookups and trials
            e = self.domain.environment(facts)
            e.state.overlay = initial.copy()
            return e

        branch, branches, problem = self.outcome(env, gold)
        if problem:
            return problem
        if branch == "allow":
            for a in assertions:
                r = env.run_assertion(a.name, a.args, a.actor, record=False)
                if not r.ok or r.content != a.expected:
                    return f"assertion {a.name} does not hold after the gold actions"
        said, judge, notes = (), (), None
        knows = self.scenario.customer_knows(knows)
        results = [plain(e.content) if e.ok else None for e in env.trace]
        asked = gold  # the customer's requests, forbidden ones included: the scenario is written from them
        if branch == "forbid":
            first_bad = next(i for i, (c, e) in enumerate(zip(gold, env.trace))
                             if (not e.ok) or any(v.verdict == "violated" for v in e.guards))
            kept = [c for c in gold[:first_bad] if not self.is_write(c)]
            if len(kept) != first_bad or not kept:
                return "forbidden request after other writes"
            # refuse or transfer: what the violated guards declare, never what the plan wanted; the
            # first write's description is the request in the judge's and the transfer summary's words
            write = next((c for c in gold if self.is_write(c)), None)
            tool = self.tools[(write.actor, write.name)] if write is not None else None
            ask = sentence(tool.doc) if tool is not None and tool.doc else "make a change to your account"
            told = outcomes.no_write(self.domain, env.trace[first_bad], ask)
            if isinstance(told, str):
                return told
            if told.transfer_call is not None:
                kept.append(Call("agent", told.transfer_call["name"], told.transfer_call["args"], ()))
            notes = forbidden_note(gold[first_bad].actor, gold[first_bad].name, gold[first_bad].args)
            gold, branch, said, judge = kept, told.branch, told.communicate, told.judge
            start, env, problem = self.play(facts, setup, gold)
            assertions = [a for a in assertions if (lambda r: r.ok and r.content == a.expected)(env.run_assertion(a.name, a.args, a.actor, record=False))]
            goals: list[str] = []
            reward = ("DB", "ACTION", "POLICY") + (("ENV_ASSERTION",) if assertions else ()) + told.reward
        else:
            goals = self.typed.goals_from(start, env)
            if not goals and not assertions:
                return "the gold actions change nothing"
            reward = ("DB",) + (("GOAL",) if goals else ()) + (("ENV_ASSERTION",) if assertions else ()) + ("ACTION", "POLICY")
        texts = self.scenario.write(asked, results, knows, facts, branch, rng, [extra_reason], fork) if not self.parts else {}
        if notes is not None:
            texts["notes"] = notes
        seed_id = seed if isinstance(seed, str) else seed.task.id
        texts["purpose"] = f"{plan}: {branch}, written by {operator}" + (f" from seed {seed_id}." if seed_id != "-" else " from the tool graph and the data.")
        asserts = []
        for a in assertions:
            text = Call(a.actor, a.name, dict(a.args)).text()
            if a.expected is not True:
                from ..interop.tau2_tasks import literal

                text += f" == {literal(a.expected)}"
            asserts.append(text)
        return Draft(plan, operator, seed_id, branch, texts, knows, facts, tuple(s.text() for s in setup), tuple(gold),
                     tuple(goals), tuple(asserts), said, reward, sum(1 for c in gold if self.is_write(c)), tuple(sorted(set(branches))),
                     tuple(c.name for c in gold), meta={"setup": list(setup), "asserts": list(assertions), "note": extra_reason.strip()},
                     judge=judge)

    # ------------------------------------------------------------ operators
    def retargeted(self, seed: Seed, rng: random.Random, new=None):
        """(subst, knows) moving the seed onto another entity of its anchor's table, or a reason."""
        if seed.anchor is None:
            return {}, dict(seed.task.user.knows)
        table, old = seed.anchor
        new = rng.choice(self.world.keys(table)) if new is None else new
        self.last_anchor = (table, new)
        old_nb, new_nb = self.world.neighbourhood(table, old), self.world.neighbourhood(table, new)
        where = {}
        for p, v in old_nb.items():
            where.setdefault(v, p)
        subst = {}
        values = strings([c.args for c in seed.gold] + [c.args for c in seed.setup] + [a.args for a in seed.assertions]
                         + [dict(seed.task.user.knows), dict(seed.task.user.facts)], [])
        for v in values:
            if v in subst or v not in where:
                continue
            nv = new_nb.get(where[v])
            if nv is None:
                if self.world.entity(v) is not None:
                    return f"retarget: no counterpart of {v}", None
                continue
            subst[v] = nv
        return subst, substitute(dict(seed.task.user.knows), subst)

    def base(self, seed: Seed, rng: random.Random, retarget: bool = True, anchor=None):
        self.last_anchor = seed.anchor
        if retarget:
            subst, knows = self.retargeted(seed, rng, anchor)
            if isinstance(subst, str):
                return subst
        else:
            subst, knows = {}, dict(seed.task.user.knows)
        gold = [replace(c, args=substitute(c.args, subst)) for c in seed.gold]
        setup = [replace(c, args=substitute(c.args, subst)) for c in seed.setup]
        asserts = [replace(a, args=substitute(dict(a.args), subst)) for a in seed.assertions]
        facts = substitute(dict(seed.task.user.facts), subst)
        return gold, setup, asserts, facts, knows

    def write_plan(self, plan, rng: random.Random, tries: int = 8) -> Draft | str:
        """A draft for a plan: up to `tries` entities until one lands on the plan's branch."""
        seed = self.by_id.get(plan.seed)
        if plan.operator == "fresh":
            seed = plan.write
        elif seed is None:
            return f"plan names no usable seed task {plan.seed!r}"
        problem = "no attempt"
        for _ in range(tries):
            if plan.operator == "fresh":
                d = self.fresh(plan.id, plan.write, plan.workflow[:-1], rng, plan.branch)
            elif plan.operator == "compose":
                d = self.write_pair(plan, seed, rng)
            else:
                d = self.write(plan.id, plan.operator, seed, rng, plan.branch)
            if isinstance(d, str):
                problem = d
                continue
            if d.branch == plan.branch:
                return d
            problem = f"no entity tried lands on the {plan.branch} branch"
        return problem

    def write_pair(self, plan, seed: Seed, rng: random.Random) -> Draft | str:
        """Two allowed requests of one owner: the seed's on some entity, the partner's on
        another entity of the same owner (or on the owner itself). The two parts are drafts
        without scenario text (compose writes the pair's); writing theirs cost as much as the
        rest of drafting."""
        self.parts += 1
        try:
            parts = self.pair_parts(plan, seed, rng)
        finally:
            self.parts -= 1
        return parts if isinstance(parts, str) else self.compose(plan.id, *parts, seed, rng)

    def pair_parts(self, plan, seed: Seed, rng: random.Random) -> tuple[Draft, Draft] | str:
        if (plan.partner or "").startswith("fresh:"):
            # the seed's request, and a phone-side change on the same phone (no table to share)
            a = self.write_plan(plan.model_copy(update={"operator": "retarget", "intents": "single", "branch": "allow"}), rng)
            if isinstance(a, str):
                return a
            b = self.fresh(plan.id, plan.partner[len("fresh:"):], [], rng, "allow")
            if isinstance(b, str):
                return b
            return a, b
        partner = self.by_id.get(plan.partner or "")
        if partner is None:
            return f"plan names no usable partner seed {plan.partner!r}"
        for _ in range(8):
            a = self.write(plan.id, "retarget", seed, rng, "allow")
            if isinstance(a, Draft) and a.branch == "allow":
                break
        else:
            return a if isinstance(a, str) else "compose: the first request is not allowed"
        anchor = a.meta.get("anchor")
        pool = [None]
        if partner.anchor and anchor:
            owner_table = (partner.owner or seed.owner or (None,))[0]
            row = self.world.row(*anchor)
            owner_id = next((v for v in row.values() if isinstance(v, str) and (self.world.entity(v) or (None,))[0] == owner_table),
                            None) if isinstance(row, dict) and owner_table else None
            if partner.anchor[0] == anchor[0]:
                pool = [k for k in self.owned(anchor[0], owner_table, owner_id) if k != anchor[1]] if owner_id else [anchor[1]]
            elif partner.anchor[0] == owner_table and owner_id:
                pool = [owner_id]
            else:
                return "compose: the two seeds share no entity"
            if not pool:
                return "compose: the user has no other such entity"
        for _ in range(8):
            b = self.write(plan.id, "retarget", partner, rng, "allow", anchor=rng.choice(pool))
            if isinstance(b, Draft) and b.branch == "allow":
                break
        else:
            return b if isinstance(b, str) else "compose: the second request is not allowed"
        return a, b

    def owned(self, table: str, owner_table: str | None, owner_id: str | None) -> list:
        """Keys of `table` whose rows point to owner_id (a user's reservations or orders)."""
        if owner_table is None or owner_id is None:
            return []
        key = ("owned", table, owner_table)
        if key not in self.owned_index:
            index: dict[str, list] = {}
            for k in self.world.keys(table):
                row = self.world.row(table, k)
                if isinstance(row, dict):
                    o = next((v for v in row.values() if isinstance(v, str) and (self.world.entity(v) or (None,))[0] == owner_table), None)
                    if o is not None:
                        index.setdefault(o, []).append(k)
            self.owned_index[key] = index
        return self.owned_index[key].get(owner_id, [])

    def write(self, plan, operator: str, seed: Seed, rng: random.Random, want: str = "any", anchor=None) -> Draft | str:
        b = self.base(seed, rng, retarget=operator != "flip_fact" or rng.random() < 0.5, anchor=anchor)
        if isinstance(b, str):
            return b
        gold, setup, asserts, facts, knows = b
        main = gold[seed.main]
        extra = ""
        if operator == "vary":
            _, played, problem = self.play(facts, setup, gold)
            if problem:
                return problem
            results = [plain(e.content) if e.ok else None for e in played.trace]
            options = vary.options(self.domain, self.tools[(main.actor, main.name)], main.args, results)
            if not options:
                return "vary: the write has no numeric, enum or growable list argument"
            grown = [o for o in options if isinstance(o[1], list)]
            if want in ("forbid", "transfer") and grown and rng.random() < 0.5:
                options = grown  # a refusal plan: a larger party or more items than the policy allows
            name, value = rng.choice(options)
            gold = list(gold)
            gold[seed.main] = replace(main, args={**main.args, name: value})
            old = main.args.get(name)
            if isinstance(old, (int, float)) and not isinstance(old, bool):
                asserts = [replace(a, args={k: (float(value) if isinstance(x, float) else value) if x == old and not isinstance(x, bool) else x
                                            for k, x in a.args.items()}) for a in asserts]
            if not isinstance(value, list):  # a grown list is named element by element in the need
                knows = {**knows, name: value}
        elif operator == "flip_fact":
            read = sorted(self.guard_facts.get(main.name, ()))
            choices = []
            for f in read:
                t = self.fact_types.get(f)
                if isinstance(t, EnumType):
                    choices += [(f, m) for m in self.domain.schema.enum_def(t.name).values if m != facts.get(f)]
            if not choices:
                return "flip_fact: the write's guards read no enum fact"
            f, value = rng.choice(choices)
            facts = {**facts, f: value}  # the scenario states it (in the domain's words where it has them)
        elif operator == "distractor":
            reads = [c for c in gold[:seed.main] if not self.is_write(c) and c.args]
            if not reads:
                return "distractor: no read to repeat"
            r = rng.choice(reads)
            name, value = next(iter(r.args.items()))
            e = self.world.entity(value)
            if e is None:
                return "distractor: the read takes no entity"
            row = self.world.row(*seed_anchor) if (seed_anchor := self.last_anchor) else None
            owner_table = seed.owner[0] if seed.owner else None
            owner_id = next((v for v in row.values() if isinstance(v, str) and (self.world.entity(v) or (None,))[0] == owner_table),
                            None) if isinstance(row, dict) and owner_table else None
            if e[0] == owner_table:
                return "distractor: the read is of the owner itself"
            others = [k for k in self.owned(e[0], owner_table, owner_id) if k != e[1]]
            if not others:
                return "distractor: the user has no other such entity"
            other = rng.choice(others)
            if isinstance(other, int):
                return "distractor: rows of list tables have no id to ask about"
            gold = list(gold)
            gold.insert(seed.main, replace(r, args={**r.args, name: other}))
            knows = {**knows, f"other_{name}": other}
            extra = f" Before that, you also want to hear about {other}, but change nothing there."
        knows = self.stated(knows, gold)
        anchor_now = self.last_anchor
        d = self.draft(plan, operator, seed, facts, setup, gold, knows, asserts, rng, want, extra)
        if isinstance(d, Draft):
            d.meta["anchor"] = anchor_now
        return d

    def fresh(self, plan: str, name: str, feeders: list[str], rng: random.Random, want: str) -> Draft | str:
        tool = next((t for t in self.domain.ir.tools if t.name == name), None)
        if tool is None:
            return f"fresh: no tool {name}"
        args, knows, gold = {}, {}, []
        if tool.params:
            table = self.table_for(tool)
            if table is None and tool.actor != ir.Side.USER:
                return f"fresh: no table names the arguments of {name}"
            key = rng.choice(self.world.keys(table)) if table is not None else None
            named = self.world.named(table, key) if table is not None else {}
            if table is not None and want != "allow" and rng.random() < 0.5:
                # another customer's row: the policy's ownership guard forbids acting on it. Only
                # where the tool takes the owner's id beside the row (a line and its customer),
                # so that the request can be the wrong pairing; otherwise the customer would be
                # a stranger claiming someone else's order and card as their own.
                owner = self.world.owner_of(table, key)
                owner_param = owner[0][:-1] + "_id" if owner is not None and owner[0].endswith("s") else \
                    (owner[0] + "_id" if owner is not None else None)
                if owner is not None and any(p.name == owner_param for p in tool.params):
                    others = [v for v in self.world.owner_ids(owner[0]) if v != owner[1]]
                    if others:
                        named[owner_param] = rng.choice(others)
            for p in tool.params:
                t = p.type.inner if isinstance(p.type, OptionalType) else p.type
                listed = ONE_OF.search(p.doc or "")
                if isinstance(t, EnumType):
                    args[p.name] = rng.choice(self.domain.schema.enum_def(t.name).values)
                elif p.name in named:
                    args[p.name] = named[p.name]
                elif isinstance(t, ListType) and p.name.endswith("s") and p.name[:-1] in named:
                    args[p.name] = [named[p.name[:-1]]]  # item_ids from an item_id of the row
                elif t == STR and p.doc and QUOTED.search(p.doc):
                    args[p.name] = QUOTED.search(p.doc).group(1)  # the first example the schema gives
                elif t == STR and listed:
                    args[p.name] = rng.choice([x.strip() for x in listed.group(1).split(",")])  # "One of sms, storage, ..."
                elif t == STR and self.domain.words.values.get(p.name):
                    args[p.name] = rng.choice(self.domain.words.values[p.name])  # what customers give for it
                elif t in (INT, FLOAT) and not p.has_default:
                    args[p.name] = rng.choice((1, 2, 3)) if t == INT else float(rng.choice((1, 2, 3)))  # a small amount the user names
                elif isinstance(t, RecordType) and not p.has_default:
                    args[p.name] = {}  # the record's defaults (the carrier's APN settings)
                elif p.has_default:
                    continue
                else:
                    return f"fresh: no value for {name}.{p.name} in {table}"
            owner = self.world.owner_of(table, key) if table is not None else None
            if owner is not None:  # the read of the row's owner first (a customer's lines show whose a line is)
                mark = owner[0][:-1] if owner[0].endswith("s") else owner[0]
                feeders = sorted(feeders, key=lambda f: not f.startswith(f"get_{mark}_"))
            # The first read that opens a record the write's arguments name (the owner's
            # profile), then each read of a record by a held id the write itself takes (the
            # order, the reservation): the agent sees what the write depends on before it acts, or before
            # it says why it will not.
            for f in feeders:
                read = self.tools.get(("agent", f))
                if read is not None and read.params and all(q.name in args or q.name in named for q in read.params if not q.has_default):
                    call = Call("agent", f, {q.name: args.get(q.name, named.get(q.name)) for q in read.params if not q.has_default})
                    held = all(k in self.domain.words.holds and k in args for k in call.args)  # by the write's own held ids
                    if not gold or (held and all(c.args != call.args for c in gold)):
                        gold.append(call)
            gold = identified(self, gold)
            knows = {k: v for c in gold for k, v in c.args.items()}
            knows.update({k: v for k, v in args.items() if k not in knows and self.world.entity(v) is not None})
        gold.append(Call(tool.actor, name, args))
        knows = self.stated(knows, gold)
        if tool.actor == ir.Side.USER and tool.params:
            knows.update({k: v for k, v in args.items() if isinstance(v, str)})
            for p in tool.params:  # a record left to its defaults: the user is told each default string
                t = p.type.inner if isinstance(p.type, OptionalType) else p.type
                rec = next((r for r in self.domain.ir.records if isinstance(t, RecordType) and r.name == t.name), None)
                for f in rec.fields if rec is not None and args.get(p.name) == {} else ():
                    if isinstance(f.default, str):
                        knows.setdefault(f.name, f.default)
        d = self.draft(plan, "fresh", "-", {}, [], gold, knows, [], rng, want)
        if tool.actor != ir.Side.USER or isinstance(d, Draft):
            return d
        # a phone-side call that changes nothing on the default phone: put the phone in a
        # starting state where it does (a VPN up, the SIM out, a permission removed)
        for setup in rng.sample(self.user_setups, len(self.user_setups)):
            if not all(q.name in args for q in setup.params):
                continue
            prelude = [Call("user", setup.name, {q.name: args[q.name] for q in setup.params})]
            d2 = self.draft(plan, "fresh", "-", {}, prelude, gold, knows, [], rng, want)
            if isinstance(d2, Draft):
                return d2
        return d

    def table_for(self, tool: ir.Function) -> str | None:
        """The table whose rows (with the rows they point to) name most of the tool's parameters."""
        key = ("table_for", tool.name)
        if key not in self.owned_cache:
            wanted = {p.name for p in tool.params}
            best, score = None, 0
            for table in list(self.world.maps) + list(self.world.lists):
                keys = self.world.keys(table)
                if not keys:
                    continue
                hit = len(wanted & set(self.world.named(table, keys[0])))
                if hit > score:
                    best, score = table, hit
            self.owned_cache[key] = best
        return self.owned_cache[key]

    def stated(self, knows: dict, gold: list[Call]) -> dict:
        """What the user must say: the write arguments no earlier read returns (added to knows),
        but for those the agent works out from the policy (the words' `computed`: a customer
        does not know the compensation the policy gives)."""
        out = dict(knows)
        computed = set(self.domain.words.computed)
        for c in gold:
            if c.actor == ir.Side.AGENT:
                for k, v in c.args.items():
                    if k not in out and k not in computed and isinstance(v, (int, float, str)) and not isinstance(v, bool) and self.world.entity(v) is None:
                        out[k] = v
        return out

    def compose(self, plan: str, a: Draft, b: Draft, seed: Seed, rng: random.Random) -> Draft | str:
        """One task with both requests: the union of gold (shared reads once), knows and facts."""
        if any(k in a.facts and a.facts[k] != v for k, v in b.facts.items()):
            return "compose: the two requests need different facts"
        seen, gold = set(), []
        for c in list(a.gold) + list(b.gold):
            if c.key() not in seen:
                seen.add(c.key())
                gold.append(c)
        setup_calls = list({c.text(): c for c in a.meta["setup"] + b.meta["setup"]}.values())
        knows = dict(a.knows)
        for k, v in b.knows.items():
            if k in knows and knows[k] != v:
                k = f"second_{k}"
            knows[k] = v
        facts = {**a.facts, **b.facts}
        asserts = list({(x.actor, x.name, repr(x.args), repr(x.expected)): x for x in a.meta["asserts"] + b.meta["asserts"]}.values())
        d = self.draft(plan, "compose", seed, facts, setup_calls, gold, knows, asserts, rng, "allow",
                       " ".join(x for x in (a.meta.get("note", ""), b.meta.get("note", "")) if x))
        if isinstance(d, Draft):
            d.seed = f"{a.seed}+{b.seed}"
            if d.branch != "allow":
                return "compose: the combined requests are not all allowed"
        return d


def sentence(doc: str) -> str:
    first = doc.strip().split(". ")[0].rstrip(".")
    return first[:1].lower() + first[1:] + "."

"""Drafts of tasks and their eig text: typed literals, goals from a gold diff, provenance."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from .. import ir
from ..interop.tau2_tasks import call_text, literal, quote
from ..runtime.store import MISSING
from ..types import EnumType, ListType, MapType, OptionalType, RecordType, UnionType


@dataclass(frozen=True)
class Call:
    actor: str
    name: str
    args: dict
    compare: tuple[str, ...] | None = None

    def text(self) -> str:
        return call_text(self.actor, self.name, self.args, list(self.compare) if self.compare is not None else None)

    def key(self) -> tuple:
        return (self.actor, self.name, json.dumps(self.args, sort_keys=True))


@dataclass
class Draft:
    """A task before verification: what a writer produced, with where it came from."""

    plan: str
    operator: str
    seed: str
    branch: str  # allow | forbid | transfer
    texts: dict
    knows: dict
    facts: dict
    setup: tuple[str, ...]  # eig setup lines
    gold: tuple[Call, ...]
    goals: tuple[str, ...] = ()
    assertions: tuple[str, ...] = ()
    communicate: tuple[str, ...] = ()
    reward: tuple[str, ...] = ()
    writes: int = 0
    guards: tuple[str, ...] = ()  # policy:verdict pairs the gold exercises, e.g. "cancellation:allow"
    workflow: tuple[str, ...] = ()
    writer: str = "offline"
    text: str | None = None  # eig text written by a model writer, instead of the fields above
    meta: dict = field(default_factory=dict)
    judge: tuple[str, ...] = ()  # NL assertions: what only a judge can check

    def signature(self) -> str:
        """Canonical identity for deduplication: gold, goals, setup, facts and entities known."""
        if self.text is not None:
            if "meaning" in self.meta:  # a model's task, once compiled, is known by what it means
                return self.meta["meaning"]
            body = " ".join(self.text.split("{", 1)[-1].split())
            return hashlib.sha256(body.encode()).hexdigest()[:20]
        body = json.dumps([sorted(c.key() for c in self.gold), sorted(self.goals), list(self.setup),
                           sorted(self.facts.items()), sorted((k, json.dumps(v, sort_keys=True)) for k, v in self.knows.items()),
                           sorted(self.assertions)], sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()[:20]


def meaning(task: ir.TaskDef) -> str:
    """A compiled task's identity by what it means, whoever wrote it and in whatever words: its
    gold calls with their arguments (and what is compared), goals, setup, assertions, facts and
    the values the user holds (a refusal's gold may read only the user, so which reservation
    they ask about is told by `knows` alone). Prose, persona, the task's name and the order of
    goals and of known values play no part, so a reworded copy of a kept task is a duplicate."""
    from ..ir.json_form import to_json

    def bare(x):  # source positions say where, not what; a goal function's name is the task's id
        if isinstance(x, dict):
            return {k: bare(v) for k, v in x.items() if k != "span" and not (k == "name" and x.get("@") == "Function")}
        return [bare(v) for v in x] if isinstance(x, list) else x

    def canon(nodes) -> list[str]:
        return [json.dumps(bare(to_json(n)), sort_keys=True, default=str) for n in nodes]

    body = json.dumps([sorted(canon(task.gold or ())), sorted(canon(task.goals)), canon(task.setup),
                       sorted(canon(task.assertions)), sorted((k, json.dumps(v, sort_keys=True)) for k, v in task.user.facts.items()),
                       sorted((k, json.dumps(v, sort_keys=True)) for k, v in task.user.knows.items())])
    return hashlib.sha256(body.encode()).hexdigest()[:20]


def task_text(d: Draft, task_id: str, provenance: list[str] | None = None) -> str:
    lines = [f"# {p}" for p in provenance or []]
    if d.text is not None:
        return "\n".join(lines + [d.text])
    lines.append(f"task {quote(task_id)} {{")
    if d.texts.get("purpose"):
        lines.append(f"  purpose {quote(d.texts['purpose'])}")
    if d.texts.get("notes"):
        lines.append(f"  notes {quote(d.texts['notes'])}")
    lines.append("  user {")
    for key in ("persona", "reason", "known", "unknown", "instructions"):
        if d.texts.get(key):
            lines.append(f"    {key} {quote(d.texts[key])}")
    if d.knows:
        lines.append("    knows { " + ", ".join(f"{k}: {literal(v)}" for k, v in d.knows.items()) + " }")
    for k, v in d.facts.items():
        lines.append(f"    fact {k} = {literal(v)}")
    lines.append("  }")
    if d.setup:
        lines += ["  setup {", *[f"    {s}" for s in d.setup], "  }"]
    lines += ["  gold {", *[f"    {c.text()}" for c in d.gold], "  }"]
    if d.goals:
        lines += ["  goal {", *[f"    {g}" for g in d.goals], "  }"]
    if d.assertions:
        lines += ["  assert {", *[f"    {a}" for a in d.assertions], "  }"]
    if d.communicate:
        lines.append("  communicate { " + ", ".join(quote(s) for s in d.communicate) + " }")
    if d.judge:
        lines.append("  judge { " + ", ".join(quote(s) for s in d.judge) + " }")
    lines.append("  reward { " + ", ".join(d.reward) + " }")
    lines.append("}")
    return "\n".join(lines)


# ---------------------------------------------------------------- typed literals and goals


class Typed:
    """Eig expressions for JSON values of known types (records and variants by constructor)."""

    def __init__(self, domain: ir.Domain):
        self.records = {r.name: r for r in domain.records}
        self.unions = {u.name: u for u in domain.unions}
        self.state = {sf.name: sf for sf in domain.state}
        self.derived = {(d.root, d.path[0]) for d in domain.derives if d.path}

    def expr(self, value, t) -> str:
        if value is None:
            return "none"
        if isinstance(t, OptionalType):
            return self.expr(value, t.inner)
        if isinstance(t, RecordType) and isinstance(value, dict):
            r = self.records[t.name]
            return f"{t.name}(" + ", ".join(f"{f.name}: {self.expr(value.get(f.name), f.type)}" for f in r.fields) + ")"
        if isinstance(t, UnionType) and isinstance(value, dict):
            u = self.unions[t.name]
            v = u.variant(value.get(u.tag_field))
            if v is None:
                raise ValueError(f"no variant of {t.name} for {value!r}")
            return f"{t.name}.{v.name}(" + ", ".join(f"{f.name}: {self.expr(value.get(f.name), f.type)}" for f in v.fields) + ")"
        if isinstance(t, ListType) and isinstance(value, list):
            return "[" + ", ".join(self.expr(v, t.elem) for v in value) + "]"
        if isinstance(t, MapType) and isinstance(value, dict):
            return "{" + ", ".join(f"{literal(k)}: {self.expr(v, t.value)}" for k, v in value.items()) + "}"
        if isinstance(t, EnumType):
            return literal(value)
        if isinstance(value, float) and t is not None and getattr(t, "name", None) == "float":
            return literal(value)
        return literal(value)

    def field_type(self, t, name):
        if isinstance(t, OptionalType):
            t = t.inner
        if isinstance(t, RecordType):
            for f in self.records[t.name].fields:
                if f.name == name:
                    return f.type
        return None

    def leaf_goals(self, where: str, old, new, t, depth: int = 0) -> list[str]:
        """Goals that pin `new` where it differs from `old` (descending records and maps)."""
        if old == new:
            return []
        base = t.inner if isinstance(t, OptionalType) else t
        if depth < 3 and isinstance(base, RecordType) and isinstance(old, dict) and isinstance(new, dict):
            out = []
            for f in self.records[base.name].fields:
                if (where.split("[")[0].split(".")[0], f.name) in self.derived and depth == 0:
                    continue
                out += self.leaf_goals(f"{where}.{f.name}", old.get(f.name), new.get(f.name), f.type, depth + 1)
            return out
        if depth < 3 and isinstance(base, MapType) and isinstance(old, dict) and isinstance(new, dict):
            out = []
            for k in new:
                if k not in old:
                    out.append(f"{where}[{literal(k)}] == {self.expr(new[k], base.value)}")
                else:
                    out += self.leaf_goals(f"{where}[{literal(k)}]", old[k], new[k], base.value, depth + 1)
            out += [f"{literal(k)} not in {where}" for k in old if k not in new]
            return out
        return [f"{where} == {self.expr(new, t)}"]

    def goals_from(self, start_env, gold_env) -> list[str]:
        """Goals pinning every change the gold actions make, relative to the task's initial state."""
        goals = []
        for side in ("agent", "user"):
            before, after = start_env.diff(side=side), gold_env.diff(side=side)
            for root in sorted(set(before) | set(after)):
                sf = self.state[root]
                kind = start_env.domain.base.kinds[root]
                if kind == "row":
                    goals += self.leaf_goals(root, start_env.state.record(root), gold_env.state.record(root), sf.type)
                    continue
                row_t = sf.type.value if isinstance(sf.type, MapType) else sf.type.elem
                keys = sorted(set(before.get(root, {})) | set(after.get(root, {})), key=str)
                for k in keys:
                    key = int(k) if kind == "list" else k
                    old, new = start_env.state.row(root, key), gold_env.state.row(root, key)
                    where = f"{root}[{literal(key)}]"
                    if old == new:
                        continue
                    if new is MISSING:
                        goals.append(f"{literal(key)} not in {root}" if kind == "map" else f"len({root}) == {len(list(gold_env.state.keys(root)))}")
                    elif old is MISSING:
                        goals.append(f"{where} == {self.expr(new, row_t)}")
                    else:
                        goals += self.leaf_goals(where, old, new, row_t)
        return goals

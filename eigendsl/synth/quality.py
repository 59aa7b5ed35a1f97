"""Measures of kept tasks as a benchmark author reads them: tool language, ids a customer would not have, templated scenarios, undetermined choices, labels against the guards.

Every measure is a pure function of a task's scenario (`Scenario`) and of what the domain says
(`Lexicon`, built once from the compiled domain):

- tool language: the scenario's text (reason, known, unknown, instructions) shares 5
  consecutive words with a tool's or a parameter's description (shorter descriptions are not
  counted: `where the refund goes` is how people talk), or names a parameter of two words or
  more that is not an id, a number or a name (`nonfree baggages`, `flight type`) and that no
  hand-written task of the domain says: what the engine's templates copy from the IR;
- ids a customer would not have: a string in the text or in `knows` that is a database id (a
  key of a state table or of a nested map keyed by its rows' id field, or the first id field of
  a list table's rows) of a kind not in the held set (the kinds a customer has: the domain's
  declared ones, `held_from`, or those its own hand-written tasks hand the user, `held_kinds`);
- masked scenario: the text with ids, emails, numbers, dates and capitalised names replaced by
  placeholders; two tasks with one masked scenario are the same scenario with other values (the
  figures count it for the whole text and for the reason alone, the request the templates write);
- undetermined choices: rejections whose reason (or detail) starts with UNDETERMINED;
- label agreement: a refusal or transfer task agrees when its label is the outcome the violated
  guards declare (`declared(policy, tool)` returns "refuse", "transfer" or None); without a
  declaration, a transfer label agrees with a transfer call in the gold and a refusal label with
  a gold that neither writes nor transfers (the gold's own shape: a weaker check, and said so
  by the `basis` counts).

`new_tally()` holds the counts of a round (JSON, saved in state.json), `count` adds a kept
task's `Verdict` to it, and `figures` turns it into the shares report.json gives.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Callable

from .. import ir

SCENARIO_TEXTS = ("reason", "known", "unknown", "instructions")
UNDETERMINED = "undetermined choice"
SHINGLE = 5
WORD = re.compile(r"[a-z0-9]+")
TOKEN = re.compile(r"\w(?:[\w#@.'\-]*\w)?|#\w+|[^\w\s]")
DIGIT = re.compile(r"\d")
SENTENCE_END = {".", "!", "?", ":", ";", '"'}
ID_FIELD = re.compile(r"(^|_)ids?$")
# parameter names a customer says as they are: ids, numbers, names
NOT_JARGON = re.compile(r"(^|_)(ids?|number|name)$")

Declared = Callable[[str, str], "str | None"]


@dataclass(frozen=True)
class Scenario:
    """What the measures read of one kept task."""

    texts: dict
    knows: dict
    gold: tuple[tuple[str, str], ...]  # (actor, tool) of each gold call
    branch: str  # allow | forbid | transfer
    guards: tuple[str, ...] = ()  # "policy/tool:allow|forbid" of the gold's guard verdicts

    @classmethod
    def of(cls, task: ir.TaskDef, branch: str, guards=()) -> "Scenario":
        gold = tuple((c.actor.value if hasattr(c.actor, "value") else str(c.actor), c.name) for c in task.gold or ())
        return cls(dict(task.user.texts), dict(task.user.knows), gold, branch, tuple(guards))

    def text(self, keys: tuple[str, ...] = SCENARIO_TEXTS) -> str:
        return " ".join(str(self.texts[k]) for k in keys if self.texts.get(k))


@dataclass
class Lexicon:
    """What the measures need from a domain: phrases of the tool language, ids by kind, write and transfer tools."""

    phrases: dict[int, set[tuple[str, ...]]]  # length -> word tuples that mark tool language
    ids: dict[str, str]  # database id -> its kind
    fields: dict[str, set[str]] = field(default_factory=dict)  # id field name -> the kinds of the ids it holds
    writes: set[str] = field(default_factory=set)
    transfers: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, domain) -> "Lexicon":
        """From a CompiledDomain: its IR's tool and parameter descriptions and its agent-side data."""
        d = domain.ir
        phrases: dict[int, set] = {SHINGLE: set()}
        for tool in d.tools:
            for doc in [tool.doc] + [p.doc for p in tool.params]:
                for sentence in re.split(r"[.;:!?]\s", doc or ""):
                    w = tuple(WORD.findall(sentence.lower()))
                    phrases[SHINGLE].update(w[i:i + SHINGLE] for i in range(len(w) - SHINGLE + 1))
            for p in tool.params:
                parts = tuple(p.name.lower().split("_"))
                if len(parts) >= 2 and not NOT_JARGON.search(p.name):
                    phrases.setdefault(len(parts), set()).add(parts)
        # what the domain's own hand-written users say is customer language by definition
        own = [tuple(WORD.findall(Scenario.of(t, "allow").text().lower())) for t in d.tasks]
        for n in [n for n in phrases if n != SHINGLE]:
            phrases[n] = {p for p in phrases[n] if not any(p == w[i:i + n] for w in own for i in range(len(w) - n + 1))}
        base = domain.base
        tables = {n: base.roots[n] for n, k in base.kinds.items() if k in ("map", "list") and str(base.sides[n]).endswith("agent")}
        return cls(phrases, *database_ids(tables),
                   {t.name for t in d.tools if t.effect == ir.Effect.WRITES},
                   {t.name for t in d.tools if t.actor == ir.Side.AGENT and "transfer" in t.name})


def database_ids(tables: dict[str, dict | list]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Every id in the data, by kind: a table's keys (a list table's rows' first id field) are of
    the table's kind, a nested map keyed by its rows' id field of "table.field"; then any other
    value of an id field (`id`, `*_id`), of "table.field", where no kind claimed it first. And
    each id field's name -> the kinds of the ids it holds (`user_id` -> users)."""
    out: dict[str, str] = {}
    later: list[tuple[str, str]] = []

    def walk(value, path: str, depth: int) -> None:
        if depth > 4:
            return
        if isinstance(value, list):
            for v in value:
                walk(v, path, depth + 1)
        elif isinstance(value, dict) and id_keyed(value):  # a nested map of rows by id (a user's payment methods)
            for k, v in value.items():
                out.setdefault(k, path)
                walk(v, path, depth + 1)
        elif isinstance(value, dict):  # a record
            for k, v in value.items():
                if isinstance(v, str) and ID_FIELD.search(k):
                    later.append((v, f"{path}.{k}"))
                elif isinstance(v, (dict, list)):
                    walk(v, f"{path}.{k}", depth + 1)

    for name, rows in tables.items():
        if isinstance(rows, dict):
            for k in rows:
                out.setdefault(str(k), name)
            for v in rows.values():
                walk(v, name, 1)
        else:
            for row in rows:
                if isinstance(row, dict) and row:
                    first, v = next(iter(row.items()))
                    if isinstance(v, str) and ID_FIELD.search(first):
                        out.setdefault(v, name)
            for row in rows:
                walk(row, name, 1)
    for v, kind in later:
        out.setdefault(v, kind)
    fields: dict[str, set[str]] = {}
    for v, where in later:
        fields.setdefault(where.rpartition(".")[2], set()).add(out[v])
    return out, fields


def id_keyed(m: dict) -> bool:
    """A map whose keys are ids: its values are records that hold their own key in an id field."""
    if not m:
        return False
    k, v = next(iter(m.items()))
    return isinstance(v, dict) and any(ID_FIELD.search(f) and v[f] == k for f in v)


def strings(value, out: list) -> list:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            strings(v, out)
    elif isinstance(value, list):
        for v in value:
            strings(v, out)
    return out


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


# ---------------------------------------------------------------- the measures of one task


def tool_language(s: Scenario, lex: Lexicon) -> str | None:
    """The first phrase of the tool language the scenario's text holds, or None."""
    words = WORD.findall(s.text().lower())
    for n, phrases in sorted(lex.phrases.items(), reverse=True):
        for i in range(len(words) - n + 1):
            if tuple(words[i:i + n]) in phrases:
                return " ".join(words[i:i + n])
    return None


def ids_in(s: Scenario, lex: Lexicon) -> list[tuple[str, str]]:
    """(id, kind) of every database id in the scenario's text and knows, in order, once each."""
    found: dict[str, str] = {}
    for t in tokens(s.text()) + strings(s.knows, []):
        kind = lex.ids.get(t)
        if kind is not None:
            found.setdefault(t, kind)
    return list(found.items())


def foreign_ids(s: Scenario, lex: Lexicon, held: set[str]) -> list[str]:
    """The ids the scenario hands the user that are of a kind customers do not hold."""
    return [v for v, kind in ids_in(s, lex) if kind not in held]


def held_kinds(scenarios: list[Scenario], lex: Lexicon) -> set[str]:
    """The id kinds a set of hand-written tasks hands its users (in knows or text): the held set
    until the domain declares one."""
    return {kind for s in scenarios for _, kind in ids_in(s, lex)}


def held_from(names, lex: Lexicon) -> set[str]:
    """The id kinds a domain's declared holdings name: each a kind itself (`reservations`) or an
    id field of the data (`reservation_id`: the kinds of the ids that field holds). Any other
    name (`phone_number`, `email`) is something a customer holds that is no database id here,
    so it adds no kind."""
    kinds, out = set(lex.ids.values()), set()
    for name in names:
        if name in kinds:
            out.add(name)
        else:
            out |= lex.fields.get(name, set())
    return out


def masked(s: Scenario, lex: Lexicon, keys: tuple[str, ...] = SCENARIO_TEXTS) -> str:
    """The scenario's text with ids and emails (<id>), anything with a digit (<n>: numbers,
    dates, amounts) and capitalised words not opening a sentence (<name>) masked, lower-cased."""
    out, start = [], True
    for t in tokens(s.text(keys)):
        if t in lex.ids or "@" in t:
            out.append("<id>")
        elif DIGIT.search(t):
            out.append("<n>")
        elif t[:1].isupper() and (not start or (len(t) > 1 and t.isupper())):
            out.append("<name>")
        else:
            out.append(t.lower())
        start = t in SENTENCE_END
    return " ".join(out)


def masked_key(s: Scenario, lex: Lexicon, keys: tuple[str, ...] = SCENARIO_TEXTS) -> str:
    return hashlib.sha256(masked(s, lex, keys).encode()).hexdigest()[:16]


def label(s: Scenario, lex: Lexicon, declared: Declared | None = None) -> tuple[bool, str] | None:
    """Whether a refusal or transfer task's label agrees with the policy, and on what basis
    ("declared": the violated guards' declared outcome; "gold": the gold's shape); None for a
    task that changes something (its label is not a refusal or a transfer)."""
    if s.branch == "allow":
        return None
    if declared is not None:
        outs = []
        for g in s.guards:
            where, _, verdict = g.rpartition(":")
            if verdict == "forbid" and "/" in where:
                policy, _, tool = where.partition("/")
                outs.append(declared(policy, tool))
        outs = [o for o in outs if o is not None]
        if outs:
            return ("transfer" if "transfer" in outs else "refuse") == ("transfer" if s.branch == "transfer" else "refuse"), "declared"
    transfers = any(name in lex.transfers for _, name in s.gold)
    if s.branch == "transfer":
        return transfers, "gold"
    return not transfers and not any(name in lex.writes for _, name in s.gold), "gold"


# ---------------------------------------------------------------- counts of a round and their shares


def new_tally() -> dict:
    return {"scenarios": 0, "tool_language": 0, "foreign_ids": 0, "labelled": 0, "label_agrees": 0,
            "basis": {}, "undetermined": 0, "masked": {}, "masked_reason": {}}


@dataclass
class Verdict:
    """One kept task measured: what it counts for, and what its plan is charged with."""

    tool_phrase: str | None
    foreign: list[str]
    key: str
    reason_key: str
    label: tuple[bool, str] | None

    def flags(self, repeat: bool) -> dict[str, int]:
        return {"tool_language": int(self.tool_phrase is not None), "foreign_ids": int(bool(self.foreign)),
                "repeats": int(repeat), "label_disagrees": int(self.label is not None and not self.label[0])}


def measure(s: Scenario, lex: Lexicon, held: set[str], declared: Declared | None = None) -> Verdict:
    return Verdict(tool_language(s, lex), foreign_ids(s, lex, held), masked_key(s, lex), masked_key(s, lex, ("reason",)),
                   label(s, lex, declared))


def count(tally: dict, v: Verdict) -> None:
    """Add one kept task's verdict to a round's tally."""
    tally["scenarios"] += 1
    tally["tool_language"] += v.tool_phrase is not None
    tally["foreign_ids"] += bool(v.foreign)
    tally["masked"][v.key] = tally["masked"].get(v.key, 0) + 1
    reasons = tally.setdefault("masked_reason", {})
    reasons[v.reason_key] = reasons.get(v.reason_key, 0) + 1
    if v.label is not None:
        tally["labelled"] += 1
        tally["label_agrees"] += v.label[0]
        tally["basis"][v.label[1]] = tally["basis"].get(v.label[1], 0) + 1


def is_undetermined(reason: str, detail: str = "") -> bool:
    return reason.startswith(UNDETERMINED) or (detail or "").startswith(UNDETERMINED)


def share(n: int, of: int) -> float | None:
    return round(n / of, 4) if of else None


def figures(tally: dict) -> dict:
    """The shares of a tally: of scenarios in tool language, holding ids customers lack, whose
    masked text (all of it, and the reason alone) equals another's, of undetermined choices among
    kept tasks and such rejections, of refusal and transfer labels that agree with the policy."""
    n = tally["scenarios"]

    def identical(counts: dict[str, int]) -> float | None:
        return share(sum(c for c in counts.values() if c >= 2), n)

    return {"scenarios": n, "tool_language": share(tally["tool_language"], n), "foreign_ids": share(tally["foreign_ids"], n),
            "identical_masked": identical(tally["masked"]), "identical_masked_reason": identical(tally.get("masked_reason", {})),
            "distinct_masked": len(tally["masked"]),
            "undetermined": share(tally["undetermined"], n + tally["undetermined"]),
            "label_agreement": share(tally["label_agrees"], tally["labelled"]), "labelled": tally["labelled"],
            "label_basis": dict(tally["basis"])}


def merged(tallies: list[dict]) -> dict:
    """One tally of several rounds."""
    out = new_tally()
    for t in tallies:
        for k in ("scenarios", "tool_language", "foreign_ids", "labelled", "label_agrees", "undetermined"):
            out[k] += t.get(k, 0)
        for sub in ("basis", "masked", "masked_reason"):
            for k, v in t.get(sub, {}).items():
                out[sub][k] = out[sub].get(k, 0) + v
    return out

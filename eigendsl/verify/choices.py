"""Determinability of gold write arguments: does what the user says single out each value the agent picks?

A value of a write argument that the user neither holds nor states (a payment method, the
items of an order, a flight of a search) is a choice among the candidates the agent can read:
the values standing at the same place, in the same result, as the gold value (the other keys
of a profile's payment methods, the other flights of a search). What the agent can read is
the gold's reads plus every lookup by one id it has seen (`lookups`: a profile the gold never
opens is still one call away), and a candidate is a rival only where the write would accept it
in the gold's place (`Trial`: another variant of a product is no rival for the item a return
sends back, a card the policy refuses for a refund is no rival of the one it allows). The scenario
decides a choice when the candidates whose referring expressions (the domain's words,
`refer`) appear in its text are exactly the gold's values there; a value the text names
literally is decided. Otherwise the task is undetermined: only a user who reads the gold
could give the answer it expects. Used by synthesis (writing and verification) and by
`check` on hand-written tasks (W306).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from .. import ir
from ..words import Words, holes, lookup, render, spoken

WORDS = re.compile(r"[a-z0-9]+")

MAX_CANDIDATES = 60
MAX_LOOKUPS = 4  # ids per lookup tool and round: what an agent would plausibly open


@dataclass
class Choice:
    """The gold values of one write argument that stand at one place of one earlier result."""

    call: int  # index of the write in the gold
    tool: str
    arg: str
    key: str  # the refer entry: the argument's name, or the field of a list element
    chosen: list[str] = field(default_factory=list)
    candidates: dict[str, dict] = field(default_factory=dict)  # value -> its record there
    extra: dict = field(default_factory=dict)  # other fields of the gold element (a flight's date)
    said: bool = False  # a field the customer states (a passenger's name): decided when the text says it
    taken: set = field(default_factory=set)  # values other arguments of the call name (not rivals: an item is not its own replacement)
    accepts: Callable[[str], bool] | None = None  # would the write take this candidate in the gold value's place

    def rival(self, value: str) -> bool:
        """A candidate the agent could pick instead: not the gold's, not named by another
        argument, and accepted by the write (unknown without a trial: then every candidate)."""
        return value not in self.chosen and value not in self.taken and (self.accepts is None or self.accepts(value))


class Trial:
    """Replays the gold from the initial state once, keeping the state before each call, to try
    a write with one value swapped for another (cached): accepted means the tool runs and no
    guard of the policy is violated."""

    def __init__(self, env, gold):
        self.env, self.gold = env, list(gold)
        self.before = []
        for call in self.gold:
            self.before.append(env.checkpoint())
            env.call(call.name, call.args, call.actor)
        self.seen: dict[tuple, bool] = {}

    def accepts(self, i: int, arg: str, old: str, new: str) -> bool:
        key = (i, arg, old, new)
        if key not in self.seen:
            call = self.gold[i]
            self.env.state.overlay = self.before[i].copy()
            r = self.env.call(call.name, {**call.args, arg: swap(call.args[arg], old, new)}, call.actor)
            self.env.trace = []
            self.seen[key] = bool(r.ok) and not any(v.verdict == "violated" for v in r.guards)
        return self.seen[key]

    def judge(self, choice: "Choice") -> Callable[[str], bool]:
        """Would the write take `new` in place of one of the choice's gold values."""
        return lambda new: any(self.accepts(choice.call, choice.arg, old, new) for old in choice.chosen)


def swap(value, old: str, new: str):
    """The value with each string equal to `old` replaced by `new` (in lists and records too)."""
    if isinstance(value, str):
        return new if value == old else value
    if isinstance(value, list):
        return [swap(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: swap(v, old, new) for k, v in value.items()}
    return value


def lookups(domain, env, gold, results: list, known: dict) -> list[tuple[dict, object]]:
    """(args, result) of the reads the agent can make by one id it has seen that the gold does
    not make: every agent read tool of one parameter, called with the values standing under a
    field of that name in what the user holds, the gold's arguments and results (two rounds:
    an order names its user, whose profile lists the cards). `env` is in the initial state."""
    tools = [t for t in domain.ir.tools if t.effect == ir.Effect.READS and t.actor == ir.Side.AGENT and len(t.params) == 1]
    if not tools:
        return []
    done: set = set()  # the gold's own reads too: they may come after a write, and a customer names things as they were
    values: dict[str, list[str]] = {}
    named(dict(known), values)
    for c, r in zip(gold, results):
        named(c.args, values)
        named(r, values)
    out = []
    for _ in range(2):
        fresh = []
        for t in tools:
            p = t.params[0].name
            for v in values.get(p, ())[:MAX_LOOKUPS]:
                key = (t.name, repr([(p, v)]))
                if key in done:
                    continue
                done.add(key)
                r = env.call(t.name, {p: v}, "agent")
                if r.ok:
                    fresh.append(({p: v}, plain(r.content)))
        env.trace = []
        if not fresh:
            break
        for _, r in fresh:
            named(r, values)
        out += fresh
    return out


def named(value, out: dict, depth: int = 0) -> None:
    """field name -> the strings standing under it, in order, anywhere in a JSON value."""
    if depth > 6:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str):
                if v not in out.setdefault(k, []):
                    out[k].append(v)
            elif isinstance(v, (dict, list)):
                named(v, out, depth + 1)
    elif isinstance(value, list):
        for v in value:
            named(v, out, depth + 1)


def entries_for(words: Words, keys: tuple[str, ...], record: dict, extra: dict | None = None):
    """(the record with the gold element's other fields, the refer entries that apply to it) for
    the first refer key that has entries."""
    # the record's own fields win over the gold element's (a certificate is worth its own amount,
    # not the amount the payment takes from it); the element adds what the record lacks (a date)
    context = {**(extra or {}), **(record if isinstance(record, dict) else {})}
    for key in keys:
        entries = words.refer.get(key)
        if entries:
            return context, [e for e in entries if all(context.get(k) == v for k, v in e.when.items())]
    return context, []


def expressions(words: Words, keys: tuple[str, ...], record: dict, extra: dict | None = None) -> list[str]:
    """Every way the domain's words name this record."""
    context, entries = entries_for(words, keys, record, extra)
    return [t for entry in entries for t in (render(s, context) for s in entry.say) if t]


def places(result, value: str, path: tuple = ()):
    """(wild path, record) for each place `value` stands in a result: a map key, or a field."""
    if isinstance(result, dict):
        for k, v in result.items():
            if k == value and isinstance(v, dict):
                yield path + ("{key}",), v
            if v == value:
                yield path + (k,), result
            if isinstance(v, (dict, list)):
                yield from places(v, value, path + (k,))
    elif isinstance(result, list):
        for v in result:
            yield from places(v, value, path + ("*",))


def siblings(result, path: tuple) -> dict[str, dict]:
    """value -> record for every value at a wild path ('*': any list element; '{key}': map keys)."""
    out: dict[str, dict] = {}

    def walk(node, rest):
        if len(out) > MAX_CANDIDATES:
            return
        if not rest:
            return
        head, tail = rest[0], rest[1:]
        if head == "*":
            if isinstance(node, list):
                for v in node:
                    walk(v, tail)
            return
        if head == "{key}" and not tail:
            if isinstance(node, dict):
                for k, v in node.items():
                    if isinstance(v, dict):
                        out.setdefault(k, v)
            return
        if not isinstance(node, dict):
            return
        if not tail:
            v = node.get(head)
            if isinstance(v, str):
                out.setdefault(v, node)
            return
        walk(node.get(head), tail)

    walk(result, path)
    return out


def descriptive(words: Words, arg: str) -> set[str]:
    """Fields the argument's own referring expressions state (a passenger's name and birth date):
    a list element's field among them is said by the customer, not chosen by the agent."""
    return {h.split(".")[0] for entry in words.refer.get(arg, ()) for s in entry.say for h in holes(s)}


def leaves(arg: str, value, said: set[str] = frozenset()) -> list[tuple[str, str, dict]]:
    """(refer key, string, the rest of its list element) for each string of an argument that
    the agent may have to choose (fields in `said` of a list element are stated, not chosen)."""
    if isinstance(value, str):
        return [(arg, value, {})]
    out = []
    if isinstance(value, list):
        for v in value:
            if isinstance(v, str):
                out.append((arg, v, {}))
            elif isinstance(v, dict):
                for k, x in v.items():
                    if isinstance(x, str) and k not in said:
                        out.append((k, x, {kk: xx for kk, xx in v.items() if kk != k}))
    return out


def choices(words: Words, gold, results: list, writes: set[str], stated: set[str], said_fields: bool = False,
            reads: list = (), trial: Trial | None = None) -> list[Choice]:
    """The choices the gold's writes make among values the agent can read (with `said_fields`,
    also the fields of list elements the customer is to state, such as a passenger's name: the
    scenario must then say them).

    gold: calls with .name, .args, .compare; results: the content of each gold call when
    replayed (None where it failed); stated: strings the user holds or states; reads: (args,
    result) of the lookups the gold does not make (`lookups`); trial: tries rivals in the write."""
    held = set(words.holds) | set(words.says)
    found: dict[tuple, Choice] = {}
    for i, call in enumerate(gold):
        if call.name not in writes:
            continue
        keys = call.compare if call.compare is not None else tuple(call.args)
        for arg in keys:
            if arg in held or arg not in call.args:
                continue
            said = descriptive(words, arg)
            # what the write replaces: the argument's old values in an earlier read of the record it
            # changes (a passenger who cannot come). The text names them because they go, so they
            # are no rivals of the values that come in.
            # (same field, same shape: a profile's payment_methods map is not a booking's payment list)
            old = {s for j in range(i) if isinstance(results[j], dict) and arg in results[j]
                   and type(results[j][arg]) is type(call.args[arg])
                   and set(flat_strings(gold[j].args)) & set(flat_strings(call.args)) for s in leaf_strings(results[j][arg])}
            replaced = old - set(leaf_strings(call.args[arg]))
            for key, value, extra in leaves(arg, call.args[arg], frozenset() if said_fields else said):
                if key in held or value in stated:
                    continue
                # where the record the write changes keeps this value, in the argument's own shape
                # (a reservation's flights[*].flight_number); a field of the same name holding
                # other things (a profile's payment_methods map) is not it
                own = (arg,) + (("*",) if isinstance(call.args[arg], list) else ()) + ((key,) if key != arg else ())
                # the lookups by id first (in the initial state: a customer names things as they
                # were before any change), then the gold's reads before the write and after it:
                # what the agent can read (the profile's cards) is a candidate even where the gold
                # reads it later or never
                sources = list(reads) + [(gold[j].args, results[j]) for j in [*range(i), *range(i + 1, len(gold))]]
                for j, (read_args, result) in enumerate(sources):
                    if result is None or not isinstance(result, (dict, list)):
                        continue
                    where = next(iter(places(result, value)), None)
                    if where is None:
                        continue
                    path, _ = where
                    if path == own and set(flat_strings(read_args)) & set(flat_strings(call.args)):
                        break  # kept: the record the write changes already holds it there (a flight not being changed)
                    cands = siblings(result, path)
                    if len(cands) <= 1:
                        # alone at this place (the card a reservation was paid with): the agent may
                        # still have to choose it among others read elsewhere (the profile's cards)
                        continue
                    ch = found.setdefault((i, arg, key, j, path), Choice(i, call.name, arg, key, extra=extra, said=key in said and key != arg))
                    if trial is not None and ch.accepts is None:
                        ch.accepts = trial.judge(ch)
                    ch.candidates.update(cands)
                    ch.chosen.append(value)
                    ch.taken |= {x for a, v in call.args.items() if a != arg for x in flat_strings(v)} | replaced
                    break
    return list(found.values())


def attributes(words: Words, keys: tuple[str, ...], record: dict, extra: dict | None = None) -> set[str]:
    """The values a customer would name this record by: those its referring expressions use."""
    context, entries = entries_for(words, keys, record, extra)
    return {v for entry in entries for s in entry.say for h in holes(s) for v in flat_strings(lookup(context, h))}


def flat_strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in flat_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in flat_strings(v)]
    if value is None or isinstance(value, bool):
        return []
    return [spoken(value)]


def said(value: str, lowered: str) -> bool:
    """The value as whole words of the text (hyphens read as spaces: 'toe-loop' is 'toe loop')."""
    value = value.lower().replace("-", " ")
    return re.search(r"(?<![\w])" + re.escape(value) + r"(?![\w])", lowered.replace("-", " ")) is not None


def share_said(value: str, lowered: str, seen: set[str]) -> float:
    """How much of a value the text says: 1 for the whole value, else the share of its words
    (plural or not: 'headphone' names 'Headphones') that are words of the text."""
    if said(value, lowered):
        return 1.0
    parts = [w.rstrip("s") for w in WORDS.findall(value.lower())]
    parts = [w for w in parts if len(w) > 2]
    return sum(w in seen for w in parts) / len(parts) if parts else 0.0


def score(words: Words, choice: Choice, value: str, record: dict, lowered: str) -> float:
    """How well the text names this candidate: its id said outright beats everything; then a
    whole referring expression of it, and how much of each value the expressions use it says."""
    if value.lower() in lowered:
        return 1000.0
    keys = (choice.arg, choice.key) if choice.key != choice.arg else (choice.arg,)
    whole = any(e.lower() in lowered for e in expressions(words, keys, record, choice.extra))
    seen = {w.rstrip("s") for w in WORDS.findall(lowered)}
    return 2.0 * whole + sum(share_said(v, lowered, seen) for v in attributes(words, keys, record, choice.extra) if v)


def undetermined(words: Words, choice: Choice, text: str) -> list[str] | None:
    """None when the text singles out the gold's values among the candidates (each names the
    gold's values better than any other candidate); else the candidates that stay possible."""
    lowered = text.lower()
    if choice.said and all(said(v, lowered) for v in choice.chosen):
        return None
    prefer = [p for key in (choice.arg, choice.key) for p in words.prefer.get(key, ())]
    if any(said(p, lowered) for p in prefer):
        return None  # a stated preference (the cheapest, the fastest) decides; it is not evaluated here
    chosen = set(choice.chosen)
    # the other fields of the gold's element that the text says pin the element: a candidate whose
    # record disagrees with them (another saved passenger's birth date) is not the one meant
    pinned = {k: x for k, x in choice.extra.items() if isinstance(x, str) and said(spoken(x) or x, lowered)}
    scores = {v: score(words, choice, v, rec, lowered) for v, rec in choice.candidates.items() if v not in choice.taken
              and (v in chosen or not isinstance(rec, dict) or all(rec.get(k, x) == x for k, x in pinned.items()))}
    least = min(scores.get(v, 0) for v in chosen)
    # named as well as the gold's (when the text names none, every candidate): tried last, as
    # trying a candidate in the write is the costly part
    rivals = [v for v, n in scores.items() if v not in chosen and n >= least and choice.rival(v)]
    if not rivals:
        return None  # named, or no other value the write would take
    return list(dict.fromkeys(choice.chosen + sorted(rivals)))


def message(choice: Choice, possible: list[str]) -> str:
    shown = ", ".join(possible[:6]) + (", ..." if len(possible) > 6 else "")
    where = choice.arg if choice.key == choice.arg else f"{choice.arg} ({choice.key})"
    return f"undetermined choice: {where} could be {shown}"


def task_choices(domain, task, checker, writes: set[str], trace=None) -> list[tuple[Choice, str]]:
    """Each undetermined choice of the task's gold writes with its message; `trace` is the
    gold's replay where the caller has it (else the gold is replayed here)."""
    gold = list(task.gold or ())
    if not any(c.name in writes for c in gold) or (not domain.words.refer and not domain.words.holds):
        return []
    if trace is None:
        env = checker.start()
        trace = [env.call(call.name, call.args, call.actor) for call in gold]
    results = [plain(r.content) if r.ok else None for r in trace]
    user = task.user
    text = " ".join(str(v) for v in user.texts.values())
    stated = {s for s in leaf_strings(dict(user.knows))} | {str(v) for v in user.facts.values()}
    reads = lookups(domain, checker.start(), gold, results, dict(user.knows))
    trial = Trial(checker.start(), gold)
    out = []
    for ch in choices(domain.words, gold, results, writes, stated, said_fields=True, reads=reads, trial=trial):
        possible = undetermined(domain.words, ch, text)
        if possible is not None:
            out.append((ch, message(ch, possible)))
    return out


def leaf_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in leaf_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in leaf_strings(v)]
    return []


def plain(content):
    """A call's result as JSON values (a tool that returns a whole table returns a view of it)."""
    if hasattr(content, "state") and hasattr(content, "name") and hasattr(content, "kind"):
        return content.state.materialize(content.name)
    return content

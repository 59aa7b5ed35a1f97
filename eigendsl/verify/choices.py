"""Determinability of gold write arguments: does what the user says single out each value the agent picks?

A value of a write argument that the user neither holds nor states (a payment method, the
items of an order, a flight of a search) is a choice among the candidates the agent reads:
the values standing at the same place, in the same earlier result, as the gold value (the
other keys of a profile's payment methods, the other flights of a search). The scenario
decides a choice when the candidates whose referring expressions (the domain's words,
`refer`) appear in its text are exactly the gold's values there; a value the text names
literally is decided. Otherwise the task is undetermined: only a user who reads the gold
could give the answer it expects. Used by synthesis (writing and verification) and by
`check` on hand-written tasks (W306).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..words import Words, holes, render

MAX_CANDIDATES = 60


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


def expressions(words: Words, keys: tuple[str, ...], record: dict, extra: dict | None = None) -> list[str]:
    """Every way the domain's words name this record (the first refer key that has entries)."""
    context = {**(record if isinstance(record, dict) else {}), **(extra or {})}
    for key in keys:
        entries = words.refer.get(key)
        if not entries:
            continue
        out = []
        for entry in entries:
            if all(context.get(k) == v for k, v in entry.when.items()):
                out += [t for t in (render(s, context) for s in entry.say) if t]
        return out
    return []


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


def choices(words: Words, gold, results: list, writes: set[str], stated: set[str]) -> list[Choice]:
    """The choices the gold's writes make among values read earlier.

    gold: calls with .name, .args, .compare; results: the content of each gold call when
    replayed (None where it failed); stated: strings the user holds or states."""
    held = set(words.holds) | set(words.says)
    found: dict[tuple, Choice] = {}
    for i, call in enumerate(gold):
        if call.name not in writes:
            continue
        keys = call.compare if call.compare is not None else tuple(call.args)
        for arg in keys:
            if arg in held or arg not in call.args:
                continue
            for key, value, extra in leaves(arg, call.args[arg], descriptive(words, arg)):
                if key in held or value in stated:
                    continue
                for j in range(i):
                    result = results[j]
                    if result is None or not isinstance(result, (dict, list)):
                        continue
                    where = next(iter(places(result, value)), None)
                    if where is None:
                        continue
                    path, _ = where
                    cands = siblings(result, path)
                    if len(cands) > 1:
                        ch = found.setdefault((i, arg, key, j, path), Choice(i, call.name, arg, key, extra=extra))
                        ch.candidates.update(cands)
                        ch.chosen.append(value)
                    break
    return list(found.values())


def undetermined(words: Words, choice: Choice, text: str) -> list[str] | None:
    """None when the text singles out the gold's values among the candidates; else the
    candidates that stay possible (the gold's first)."""
    lowered = text.lower()
    keys = (choice.arg, choice.key) if choice.key != choice.arg else (choice.arg,)
    consistent = set()
    for value, record in choice.candidates.items():
        if value.lower() in lowered:
            consistent.add(value)
            continue
        if any(e.lower() in lowered for e in expressions(words, keys, record, choice.extra)):
            consistent.add(value)
    if consistent == set(choice.chosen):
        return None
    if not set(choice.chosen) <= consistent:
        consistent = set(choice.candidates)  # the text does not name the gold's: any could be meant
    return list(dict.fromkeys(choice.chosen + sorted(consistent - set(choice.chosen))))


def message(choice: Choice, possible: list[str]) -> str:
    shown = ", ".join(possible[:6]) + (", ..." if len(possible) > 6 else "")
    return f"undetermined choice: {choice.arg} could be {shown}"


def undetermined_choice(domain, task, checker, writes: set[str]) -> str | None:
    """The first undetermined choice of a task's gold writes ("undetermined choice: ARG could be
    X, Y"), or None; the gold is replayed from the task's start (its checker's)."""
    if not domain.words.refer and not domain.words.holds:
        return None
    found = task_choices(domain, task, checker, writes)
    return found[0][1] if found else None


def task_choices(domain, task, checker, writes: set[str]) -> list[tuple[Choice, str]]:
    """Each undetermined choice of the task's gold writes with its message."""
    gold = list(task.gold or ())
    if not any(c.name in writes for c in gold):
        return []
    env = checker.start()
    results = []
    for call in gold:
        r = env.call(call.name, call.args, call.actor)
        results.append(r.content if r.ok else None)
    user = task.user
    text = " ".join(str(v) for v in user.texts.values())
    stated = {s for s in leaf_strings(dict(user.knows))} | {str(v) for v in user.facts.values()}
    out = []
    for ch in choices(domain.words, gold, results, writes, stated):
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

"""The `vary` operator's alternatives for one write: other numbers and enum members, and lists grown by distinct things the agent reads.

A list argument grows only by elements that are other real things of the same kind (a second
saved passenger, another item of the order), found at the place where the list's own
elements stand in what the gold's reads return; never by repeating an element (the same
passenger twice is no larger party, and the same flight twice is no itinerary). A list of
records grows where the domain's words name such a record by its own fields (a passenger by
name and birth date) or name one of its fields (a payment's card), so the customer can say
which the new ones are; a flight leg grows no list.
"""

from __future__ import annotations

from ..types import EnumType, OptionalType
from ..verify.choices import descriptive, places, siblings

GROWTH = (1, 2, 5)  # elements added: one more, two more, a party larger than most policies allow


def options(domain, tool, args: dict, results: list) -> list[tuple[str, object]]:
    """(argument, new value) for each variation of the write `tool(args)`; `results` are the
    contents of the gold's calls on replay (None where one failed)."""
    out: list[tuple[str, object]] = []
    for p in tool.params:
        t = p.type.inner if isinstance(p.type, OptionalType) else p.type
        v = args.get(p.name)
        if isinstance(t, EnumType):
            out += [(p.name, m) for m in domain.schema.enum_def(t.name).values if m != v]
        elif isinstance(v, bool):
            continue
        elif isinstance(v, int):
            out += [(p.name, x) for x in sorted({v + d for d in range(-3, 8)}) if x >= 0 and x != v]
        elif isinstance(v, float):
            out += [(p.name, x) for x in sorted({round(v + d / 2, 1) for d in range(-6, 20)}) if x > 0 and x != v]
        elif isinstance(v, list) and v:
            more = others(domain.words, p.name, v, results)
            out += [(p.name, v + more[:k]) for k in GROWTH if len(more) >= k]
    return out


def others(words, arg: str, value: list, results: list) -> list:
    """Distinct elements the list could grow by, in the order the reads give them."""
    first = value[0]
    if isinstance(first, dict):
        fields = set(first)
        found = []
        if fields and fields <= descriptive(words, arg):  # a passenger: another the customer can name
            for r in results:
                for rec in records(r):
                    if fields <= set(rec):
                        new = {k: rec[k] for k in first}
                        if new not in value and new not in found:
                            found.append(new)
            return found
        # else the last element with its one field the customer names by the domain's words (a
        # payment's card) taken by another thing of that kind; none: a record the customer
        # could not name (a flight leg)
        last = value[-1]
        key = next((k for k, x in last.items() if isinstance(x, str) and words.refer.get(k)), None)
        used = {e.get(key) for e in value if isinstance(e, dict)}
        return [{**last, key: x} for x in others(words, key, [last[key]], results) if x not in used] if key else []
    if not isinstance(first, str):
        return []
    found = []
    for r in results:
        if not isinstance(r, (dict, list)):
            continue
        for path, _ in places(r, first):
            found += [x for x in siblings(r, path) if x not in value and x not in found]
            break
    return found


def records(value, depth: int = 0):
    """Every record (dict) inside a JSON value."""
    if depth > 6:
        return
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from records(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from records(v, depth + 1)

"""The lookup that opens a request: how the agent finds an id the customer does not hold.

Where a gold's first call takes an id that the domain's words say customers do not hold (a
user id, say), the agent first finds it from values the customer says (their email, their
name and zip): the agent read that returns that id, from the record the id names.
"""

from __future__ import annotations

from .. import ir
from .render import Call


def identified(writer, gold: list[Call]) -> list[Call]:
    """`gold` opened by the lookup a customer makes possible: where its first call takes an
    id the domain's words say customers do not hold (a user id, say), the agent read
    that returns that id from values the customer says (their email), when one does."""
    words = writer.domain.words
    if not gold or not words.needs:
        return gold
    spoken = set(words.says) | set(words.holds)
    ids = [v for k, v in gold[0].args.items() if k not in spoken and isinstance(v, str) and writer.world.entity(v)]
    if not ids:
        return gold
    named = writer.world.named(*writer.world.entity(ids[0]))  # what the customer the id names can say
    for t in sorted(writer.domain.ir.tools, key=lambda t: t.name):
        needed = [q.name for q in t.params if not q.has_default]
        if (t.actor != ir.Side.AGENT or t.effect == ir.Effect.WRITES or not needed
                or not all(q in spoken and isinstance(named.get(q), str) for q in needed)):
            continue
        lookup = Call("agent", t.name, {q: named[q] for q in needed})
        result = writer.domain.environment({}).call(lookup.name, lookup.args, lookup.actor)
        if result.ok and all(v in result.text for v in ids):
            return [lookup] + gold
    return gold

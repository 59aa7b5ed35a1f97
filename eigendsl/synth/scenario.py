"""Scenario text in the customer's words: the need, what the customer knows and does not, how to act.

Everything domain-specific comes from the domain's words file (eigendsl/words.py): the ids a
customer holds, the values they state, how they name their things, why they call, and how
facts are put. Every choice the agent must make among values it reads (a card, a flight, an
item) is named by a referring expression that singles the gold's value out among the
candidates the agent can read and the write would take (verify/choices.py), so the scenario
determines the gold. A domain without a words
file gets plain text from the tools' descriptions.
"""

from __future__ import annotations

import random
import re

from ..verify.choices import Trial, choices, expressions, lookups, places
from ..words import render, spoken
from .personas import PERSONAS, STYLES, with_article
from .world import strings

PREFIX = re.compile(r"^(second|other)_")
FACT_FRAMES = ("This is because {}.", "You are asking because {}.", "The reason is that {}.")
JOINERS = ("Also, ", "While you are at it, ", "On top of that, ", "Besides that, ")
ALLOW = (
    "Confirm when the agent lists the change; ask for nothing else.",
    "Give what the agent asks for, one thing at a time, and say yes once the change matches what you want.",
    "Check the details the agent reads back before you agree.",
    "At first ask whether this costs anything; whatever the answer, go ahead with it.",
    "Start by saying what you need; share the details only when the agent asks.",
)
REFUSE = (
    "If the agent says the policy does not allow it, accept it and end the conversation; ask for nothing else.",
    "If the agent refuses, insist once that you really need it; if the agent still says no, accept and end the conversation.",
    "If you are told this cannot be done, ask why once, then thank the agent and end the conversation.",
)
TRANSFER = (
    "If the agent says the policy does not allow it, accept a transfer to a human agent.",
    "If the agent cannot do it, ask for someone who can, and accept a transfer to a human agent.",
)


def base_name(key: str) -> str:
    return PREFIX.sub("", key)


class ScenarioWriter:
    """Writes a draft's user texts and the `knows` a customer has, over one loaded domain."""

    def __init__(self, domain, world, writes: set[str]):
        self.domain = domain
        self.world = world
        self.words = domain.words
        self.writes = writes
        self.tools = {t.name: t for t in domain.ir.tools}
        self.has_words = bool(self.words.needs)
        self.found: dict[str, dict | None] = {}

    # ------------------------------------------------------------ what the customer has
    def customer_knows(self, knows: dict) -> dict:
        """Only the ids a customer holds and the values they state (nothing computed, no db ids)."""
        if not self.has_words:
            return dict(knows)
        keep = set(self.words.holds) | set(self.words.says)
        return {k: v for k, v in knows.items() if base_name(k) in keep}

    # ------------------------------------------------------------ texts
    def write(self, gold: list, results: list, knows: dict, facts: dict, branch: str, rng: random.Random,
              notes: list[str], start=None) -> dict:
        """persona, reason, known, unknown, instructions for a task whose gold (forbidden writes
        included) is `gold`, with the content each call returned on replay (None where it failed);
        `start()` gives a fresh environment in the task's initial state, to look up what the gold
        does not read and to try rivals in the writes (without it, only the gold's reads count)."""
        texts = {"persona": rng.choice(PERSONAS)}
        style = f"Speak in {with_article(rng.choice(STYLES))} way."
        requests = [c for c in gold if c.name in self.writes]
        if not self.has_words:
            return self.plain(texts, requests, knows, facts, branch, style, rng, notes)
        chosen = self.pick(gold, results, set(strings(knows, [])), rng, knows, start)
        needs = []
        outcomes = [r for c, r in zip(gold, results) if c.name in self.writes]
        for i, (call, outcome) in enumerate(zip(requests, outcomes)):
            text = self.need(call, results, chosen, rng, knows, outcome) or f"You want to {tool_sentence(self.tools.get(call.name))}"
            needs.append(text[:1].upper() + text[1:] if i == 0 else rng.choice(JOINERS) + text[:1].lower() + text[1:])
        reason = " ".join(needs)
        for (arg, value), expr in chosen.items():
            if expr.lower() not in reason.lower():
                frames = self.words.mention.get(arg) or ["You mean {}."]
                reason += " " + rng.choice(frames).replace("{}", expr)
        known = self.known(knows, rng)
        for k, v in knows.items():
            said = spoken(v)
            if base_name(k) in self.words.says and said and said.lower() not in (reason + known).lower():
                reason += f" The {base_name(k).replace('_', ' ')} is {said}."
        reason += self.fact_text(facts, rng)
        reason += "".join(" " + n.strip() for n in notes if n.strip())
        texts["reason"] = reason
        texts["known"] = known
        # what the customer does not know belongs to the usual reason (the setting they did not
        # notice switching off), not to the reason for going the other way
        usual = [c.name for c, r in zip(requests, outcomes) if self.outcome_needs(c, r) is None]
        unknown = [rng.choice(self.words.unknown[n]) for n in dict.fromkeys(usual) if n in self.words.unknown]
        if unknown:
            texts["unknown"] = " ".join(unknown)
        act = ALLOW if branch == "allow" else TRANSFER if branch == "transfer" else REFUSE
        texts["instructions"] = f"{style} {rng.choice(act)}"
        return texts

    def plain(self, texts, requests, knows, facts, branch, style, rng, notes) -> dict:
        asks = [tool_sentence(self.tools.get(c.name)) for c in requests] or ["make a change to your account."]
        reason = "You want to " + " You also want to ".join(asks)
        for k, v in facts.items():
            reason += f" Your {k.replace('_', ' ')} is {spoken(v)}."
        texts["reason"] = reason + "".join(" " + n.strip() for n in notes if n.strip())
        known = "; ".join(f"your {k.replace('_', ' ')} is {v}" for k, v in knows.items() if not isinstance(v, (list, dict)))
        if known:
            texts["known"] = known[:1].upper() + known[1:] + "."
        act = ALLOW if branch == "allow" else TRANSFER if branch == "transfer" else REFUSE
        texts["instructions"] = f"{style} {act[0]}"
        return texts

    def fact_text(self, facts: dict, rng: random.Random) -> str:
        """The facts the policy reads, in one sentence: each fact by a phrase of the domain's
        words, a fact another one's phrase already states left out (the airline cancelled the
        flight: a cancellation reason and a grievance at once), so that nothing is said twice."""
        clauses: list[str] = []
        plain = ""
        options = {f: self.words.fact_phrases_for(f, v) for f, v in facts.items()}
        for f, v in facts.items():
            phrases = options[f]
            if not phrases:
                plain += f" Your {f.replace('_', ' ')} is {spoken(v)}."
                continue
            if any(p.lower() == c.lower() for p in phrases for c in clauses):
                continue  # another fact's phrase already states this one
            # a phrase another fact shares states both at once
            shared = [p for p in phrases if any(p in options[g] for g in facts if g != f)]
            clauses.append(rng.choice(shared or phrases))
        if not clauses:
            return plain
        joined = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
        return " " + rng.choice(FACT_FRAMES).format(joined) + plain

    def known(self, knows: dict, rng: random.Random) -> str:
        """What the customer knows about themself: held ids, and stated values the words have a
        `known` phrase for (an email, a name and zip code), over the record a held id opens."""
        parts = []
        flat = {base_name(k): v for k, v in knows.items()}
        for k, v in knows.items():
            name = base_name(k)
            templates = self.words.known.get(name)
            if name not in self.words.holds and not templates:
                continue
            # the row a held id opens (a profile, an order); a stated value (an email) opens none
            # its template needs, and looking one up would walk the whole data for every draft
            row = (self.record_of(v) if name in self.words.holds else None) or {}
            text = None
            for t in rng.sample(templates, len(templates)) if templates else ():
                text = render(t, {**flat, **row, name: v})
                if text:
                    break
            parts.append(text or f"Your {name.replace('_', ' ')} is {v}.")
        return " ".join(parts)

    # ------------------------------------------------------------ referring expressions
    def record_of(self, value, results: list | None = None) -> dict | None:
        e = self.world.entity(value) if isinstance(value, str) else None
        if e is not None:
            row = self.world.row(*e)
            return row if isinstance(row, dict) else None
        for r in results or ():
            if isinstance(r, (dict, list)):
                hit = next(iter(places(r, value)), None)
                if hit is not None:
                    return hit[1]
        if isinstance(value, str) and value not in self.found:
            # a value no read returned (a refused request's card): its record where the data has it
            hits = [h for _, h in zip(range(20), places(self.domain.base.roots, value))]
            self.found[value] = max((h[1] for h in hits), key=len) if hits else None  # the fullest (an order's item has its name)
        return self.found.get(value) if isinstance(value, str) else None

    def pick(self, gold: list, results: list, stated: set, rng: random.Random, knows: dict | None = None, start=None) -> dict:
        """(arg, value) -> an expression that singles the value out among its rivals: the
        candidates the agent can read that the write would take instead."""
        out = {}
        reads = lookups(self.domain, start(), gold, results, knows or {}) if start is not None else []
        trial = Trial(start(), gold) if start is not None else None
        for ch in choices(self.words, gold, results, self.writes, stated, reads=reads, trial=trial):
            keys = (ch.arg, ch.key) if ch.key != ch.arg else (ch.arg,)
            theirs = {v: [e.lower() for e in expressions(self.words, keys, rec, ch.extra)]
                      for v, rec in ch.candidates.items() if v not in ch.chosen}
            for value in ch.chosen:
                mine = expressions(self.words, keys, ch.candidates[value], ch.extra)
                # an expression is ambiguous when another candidate's is part of it: said even where
                # the policy leaves one (where a refund goes), in words no other candidate shares,
                # else in words no rival (a value the write would take instead) shares
                clash = {v: {e for e in mine if any(o in e.lower() for o in es)} for v, es in theirs.items()}
                good = [e for e in mine if not any(e in c for c in clash.values())]
                if not good:
                    good = [e for e in mine if not any(e in c and ch.rival(v) for v, c in clash.items())]
                if good or mine:
                    out[(ch.arg, value)] = rng.choice(good or mine)
                # a candidate no expression singles out is left unnamed: verification rejects the task
        return out

    def expression(self, arg: str, value, results: list, chosen: dict, rng: random.Random) -> str | None:
        """How the customer names an argument's value in a need."""
        if isinstance(value, list):
            parts = [self.expression(arg, v, results, chosen, rng) for v in value]
            return " and ".join(p for p in parts if p) if all(parts) and parts else None
        if isinstance(value, dict):
            for k, x in value.items():
                if (arg, x) in chosen:
                    return chosen[(arg, x)]
            record = {}
            for x in value.values():
                if isinstance(x, str):
                    # the first value's record wins: a flight's own row, not some other record
                    # that happens to hold its date
                    for k, v in (self.record_of(x, results) or {}).items():
                        record.setdefault(k, v)
            found = expressions(self.words, (arg,), record, value)
            return rng.choice(found) if found else spoken(value)
        if (arg, value) in chosen:
            return chosen[(arg, value)]
        if arg in self.words.refer:
            found = expressions(self.words, (arg,), self.record_of(value, results) or {})
            if not found and isinstance(value, str):  # a record no refer entry fits (a payment line): the data's own
                found = expressions(self.words, (arg,), self.record_of(value) or {})
            if found:
                return rng.choice(found)
            if arg not in self.words.holds:
                return None  # no way to name it as a customer would: another template, or none
        if arg in self.words.says or arg in self.words.holds or not isinstance(value, str) or self.world.entity(value) is None:
            return spoken(value)
        return None

    def outcome_needs(self, call, outcome) -> list[str] | None:
        """The words' `needs_if` phrases for the way this call went (its result on replay)."""
        said = outcome if isinstance(outcome, str) else ""
        return next((phrases for piece, phrases in self.words.needs_if.get(call.name, {}).items() if piece in said), None)

    def need(self, call, results: list, chosen: dict, rng: random.Random, knows: dict | None = None, outcome=None) -> str | None:
        """The customer's reason for this call, from the words' needs (`needs_if` where the call's
        result on replay says which way it went: a toggle that switches airplane mode on is no
        cure for a phone without signal): a value the agent works out from the policy
        (`computed`) is said only where the customer asks for a figure of their own (it is in
        `knows`), and then a template that says it comes first."""
        templates = self.outcome_needs(call, outcome) or self.words.needs.get(call.name)
        if not templates:
            return None
        asked = {base_name(k) for k in (knows or {})}
        demanded = [n for n in self.words.computed if n in asked and n in call.args]

        def fill(name):
            if name not in call.args or (name in self.words.computed and name not in asked):
                return None
            return self.expression(name, call.args.get(name), results, chosen, rng)

        order = rng.sample(templates, len(templates))
        order.sort(key=lambda t: not all("{" + n + "}" in t for n in demanded))
        for t in order:
            text = render(t, {}, fill)
            if text:
                return text
        return None


def tool_sentence(tool) -> str:
    doc = (tool.doc if tool is not None else None) or "make a change to your account"
    first = doc.strip().split(". ")[0].rstrip(".")
    return first[:1].lower() + first[1:] + "."

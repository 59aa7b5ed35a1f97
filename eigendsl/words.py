"""A domain's customer language (its `words = "FILE.toml"`): typed, validated, rendered.

The engine writes scenarios and judges whether a scenario singles out a value only through
this file, so it names no domain itself. Sections (docs/language.md, "Customer words"):

- `holds`: parameters whose values a customer has at hand (user id, order number, phone number);
- `says`: parameters whose values a customer states because they are what the customer wants
  (a date, a cabin, the number of bags in all);
- `computed`: parameters whose values the agent works out from the policy and what it reads (a
  compensation amount): a customer states one only when asking for a figure of their own;
- `refer`: per parameter or field name, how a customer names the record a value stands for
  ("the {brand} card ending in {last_four}"), optionally only for records matching `when`;
- `mention`: per parameter, the sentence that tells the agent which one ("You want to pay with {}.");
- `facts`: per fact and value, phrases that state it;
- `needs`: per write tool, the customer's reason for calling, with `{param}` placeholders;
- `needs_if`: per write tool, per piece of its result text, the reasons that fit that outcome
  (a toggle that switches something off is asked for for another reason than one that switches
  it on); a call whose result holds none of the pieces takes `needs`;
- `unknown`: per tool, what the customer does not know;
- `known`: per held parameter, what a customer knows about themselves, over the held record;
- `values`: per free-text string parameter, what customers give for it;
- `prefer`: per parameter or field, words of a preference that decides among candidates ("cheapest",
  "fastest"); a scenario that states one decides that choice (not evaluated: docs/synthesis.md);
- `actions`: per write tool, how the agent lists the action before asking for a yes: a
  `{param}` hole names the value as the customer names it (`refer`), else says it plainly;
  `{value.param}` says it plainly (the reservation number beside "your trip to Orlando");
- `costs`: per write tool, what the action costs or gives back, said with the listing: holes are
  parameters, fields of the tool's result, or `added.FIELD...`, the entries the write appends to
  a list field of a row (`{added.payment_history.0.amount}`); a phrase whose holes have no value
  is not said.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ENUMISH = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")  # basic_economy, 3g_only
IDISH = re.compile(r"_\d{3,}$")  # hana_reyes_7429, credit_card_9902158
CLOCK = re.compile(r"^\d\d:\d\d:00$")
NEXT_DAY = re.compile(r"^(\d\d:\d\d):00\+1$")  # an arrival after midnight, as the data writes it
HOLE = re.compile(r"\{([A-Za-z_][\w.]*)?\}")
Phrases = list[str]


class Refer(BaseModel):
    """One way of naming a record, used for records whose fields match `when`."""

    model_config = ConfigDict(extra="forbid")
    when: dict[str, str | int | bool] = Field(default_factory=dict)
    say: list[str] = Field(min_length=1)

    @field_validator("say")
    @classmethod
    def templates(cls, say: list[str]) -> list[str]:
        for s in say:
            check_template(s)
        return say


class Words(BaseModel):
    """How a domain's customers speak; every section optional (an empty file says nothing)."""

    model_config = ConfigDict(extra="forbid")
    holds: list[str] = Field(default_factory=list)
    says: list[str] = Field(default_factory=list)
    computed: list[str] = Field(default_factory=list)
    refer: dict[str, list[Refer]] = Field(default_factory=dict)
    mention: dict[str, Phrases] = Field(default_factory=dict)
    facts: dict[str, dict[str, Phrases]] = Field(default_factory=dict)
    needs: dict[str, Phrases] = Field(default_factory=dict)
    needs_if: dict[str, dict[str, Phrases]] = Field(default_factory=dict)
    unknown: dict[str, Phrases] = Field(default_factory=dict)
    known: dict[str, Phrases] = Field(default_factory=dict)
    values: dict[str, Phrases] = Field(default_factory=dict)
    prefer: dict[str, Phrases] = Field(default_factory=dict)
    actions: dict[str, Phrases] = Field(default_factory=dict)
    costs: dict[str, Phrases] = Field(default_factory=dict)

    @field_validator("mention", "needs", "unknown", "known", "values", "actions", "costs")
    @classmethod
    def phrase_lists(cls, section: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, phrases in section.items():
            if not phrases:
                raise ValueError(f"'{name}' lists no phrase")
            for s in phrases:
                check_template(s)
        return section

    @field_validator("needs_if")
    @classmethod
    def outcome_phrases(cls, section: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        for tool, by_piece in section.items():
            for piece, phrases in by_piece.items():
                if not piece or not phrases:
                    raise ValueError(f"'{tool}' has an empty result piece or one that lists no phrase")
                for s in phrases:
                    check_template(s)
        return section

    @field_validator("facts")
    @classmethod
    def fact_phrases(cls, section: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        for name, by_value in section.items():
            for value, phrases in by_value.items():
                if not phrases:
                    raise ValueError(f"fact '{name}' value '{value}' lists no phrase")
        return section

    def fact_phrases_for(self, fact: str, value) -> list[str]:
        """Phrases stating fact = value: the value's own, else the fact's "{}" phrases with the value."""
        by_value = self.facts.get(fact, {})
        if str(value) in by_value:
            return list(by_value[str(value)])
        return [x.replace("{}", str(value)) for x in by_value.get("{}", ())]

    def asks_for(self, tool: str) -> bool:
        """Whether customers bring a request for this write: words with needs name each one
        they do (synthesis plans no other); words without needs say nothing, so every one."""
        return not self.needs or tool in self.needs

    def to_json(self) -> dict:
        return self.model_dump(mode="json", exclude_defaults=True)


EMPTY = Words()


def check_template(text: str) -> None:
    """A template's braces are all holes ({name} or {a.b}, or {} in `mention`); raises ValueError."""
    rest = HOLE.sub("", text)
    if "{" in rest or "}" in rest:
        raise ValueError(f"unbalanced or malformed placeholder in {text!r}")


def parse_words(text: str) -> Words:
    """Words from TOML text; raises ValueError with a located, one-line message."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"not valid TOML: {e}") from None
    try:
        return Words.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top)"
        raise ValueError(f"at {where}: {err['msg']}") from None


def load_words_json(path: Path) -> Words:
    """The words.json of a compiled folder; raises ValueError."""
    try:
        return Words.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, ValidationError) as e:
        raise ValueError(f"{path}: {str(e).splitlines()[0]}") from None


def name_problems(words: Words, tools: dict[str, list[str]], facts: dict[str, list[str] | None],
                  fields: set[str] = frozenset()) -> list[str]:
    """Names the words file uses that the domain does not declare (tools, parameters or record
    fields, facts, values)."""
    params = {p for ps in tools.values() for p in ps} | set(fields)
    out = []
    for section in ("needs", "unknown", "actions", "costs"):
        out += [f"{section}.{t}: no tool '{t}'" for t in getattr(words, section) if t not in tools]
    for section in ("holds", "says", "computed"):
        out += [f"{section}: no tool takes a parameter '{p}' and no record has such a field" for p in getattr(words, section) if p not in params]
    out += [f"mention.{p}: no tool takes a parameter '{p}'" for p in words.mention if p not in params]
    for f, by_value in words.facts.items():
        if f not in facts:
            out.append(f"facts.{f}: the domain declares no fact '{f}'")
            continue
        members = facts[f]
        out += [f"facts.{f}.{v}: '{v}' is not a value of fact '{f}'" for v in by_value
                if members is not None and v not in members and v != "{}"]
    out += [f"needs_if.{t}: no tool '{t}'" for t in words.needs_if if t not in tools]
    conditional = [(t, s) for t, by_piece in words.needs_if.items() for phrases in by_piece.values() for s in phrases]
    for tool, s in [(t, s) for t, phrases in words.needs.items() for s in phrases] + conditional:
        out += [f"needs.{tool}: '{{{h}}}' is no parameter of {tool}" for h in holes(s)
                if tool in tools and h.split(".")[0] not in tools[tool]]
    for tool, s in [(t, s) for t, phrases in words.actions.items() for s in phrases]:
        out += [f"actions.{tool}: '{{{h}}}' is no parameter of {tool}" for h in holes(s)
                if tool in tools and h.removeprefix("value.") not in tools[tool]]
    return out


def holes(template: str) -> list[str]:
    return [m.group(1) for m in HOLE.finditer(template) if m.group(1)]


def lookup(context: dict, path: str):
    value = context
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None
    return value


def spoken(value) -> str | None:
    """A value as a customer says it: enum members and keys with spaces, records by their values."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dict):
        parts = [spoken(v) for v in value.values()]
        return ", ".join(p for p in parts if p) or None
    if isinstance(value, list):
        parts = [spoken(v) for v in value]
        return " and ".join(p for p in parts if p) or None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if CLOCK.match(text):
        return text[:-3]  # 18:00:00 is said 18:00
    if NEXT_DAY.match(text):
        return NEXT_DAY.sub(r"\1 the next day", text)  # 02:00:00+1 is said 02:00 the next day
    return text.replace("_", " ") if ENUMISH.match(text) and not IDISH.search(text) else text  # an enum member, not an id


def render(template: str, context: dict, fill=None) -> str | None:
    """The template with its holes filled from `context` (dotted paths into records), or None
    when a hole has no value there. `fill(name)` may supply a hole first (a referring expression)."""
    out, last = [], 0
    for m in HOLE.finditer(template):
        name = m.group(1)
        if name is None:
            return None
        text = fill(name) if fill is not None else None
        if text is None:
            text = spoken(lookup(context, name))
        if text is None:
            return None
        out += [template[last:m.start()], text]
        last = m.end()
    out.append(template[last:])
    return "".join(out)

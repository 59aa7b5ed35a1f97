"""What the oracle agent and the scripted user say: phrasings drawn by a seeded generator.

Each kind of turn has several phrasings; a dialogue variant draws from them with its own
random generator, so one task yields many distinct dialogues with the same tool calls. The
phrasings are the domain-neutral frame; what fills them (the names of the details asked for,
the action described, the reason for a refusal, the transfer message) comes from the task and
the domain. Fixed markers the other side listens for are kept in every phrasing: an agent
question for a detail names it by its words ("your user id"), a confirmation request asks
for a yes, a closing asks whether there is anything else.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from .. import ir
from ..verify.choices import expressions, places
from ..words import render, spoken

ASK_ONE = ["Could you give me your {}?", "What is your {}, please?", "May I have your {}?",
           "I need your {} to find this. What is it?", "Can you tell me your {}?", "Could you share your {} with me?"]
ASK_MANY = ["Could you give me your {}?", "I need your {}.", "May I have your {}, please?", "Please tell me your {}."]
OPENERS = ["", "", "I can help with that. ", "Sure. ", "Let me look into it. ", "Happy to help. "]  # before the first question only
CONFIRM = ["Here is what I will do: {}. Shall I go ahead?", "Before I change anything: {}. Do you want me to proceed?",
           "To confirm, I am about to {}. Is that okay? (yes/no)", "I can {} now. Would you like me to go ahead?",
           "This is the change: {}. Do I have your confirmation to proceed?"]
CONFIRM_AGAIN = ["To be clear, this is it: {}. Shall I go ahead?", "Let me say it again: {}. Do you want me to proceed?",
                 "Once more, so you can decide: {}. Should I go ahead?"]  # a listing repeated after a question
DONE = ["The change is made: {}.", "Done. I went ahead with this: {}.", "All set. What I did: {}.", "That went through: {}."]
NOTE = ["For your reference: {}.", "Please note: {}.", "One more thing to know: {}."]
ON_DEVICE = ["Could you {} on your phone, and tell me what you see?", "Please {} on your device.",
             "Next, please {} and let me know what it shows.", "Let's try this: {}. What do you see now?",
             "One thing to try on your side: {}. Tell me what happens.", "Could you please {} and read me what the screen says?"]
REFUSE = ["I'm sorry, but I can't do that. {}", "Unfortunately that is not possible. {}",
          "I'm afraid I cannot make that change. {}", "I understand, but this is not something I'm allowed to do. {}"]
CLOSE = ["Is there anything else I can help you with?", "Can I help you with anything else?",
         "Is there anything else you need today?", "Anything else I can do for you?",
         "Is there anything else on your mind today?"]
GOODBYE = ["Thank you for contacting us. Goodbye!", "Have a good day. Goodbye!"]

ANSWER = ["My {} is {}.", "It's {1}.", "Sure, my {} is {}.", "The {} is {}.", "{1}.",
          "My {} should be {}.", "That would be {1}."]
YES = ["Yes, please go ahead.", "Yes, that's right.", "Yes, please.", "Sounds good, go ahead.", "Yes, do it.",
       "Yes, I confirm."]
DID = ["Done. It shows: {}", "Okay, I did that. It says: {}", "I did it. Now I see: {}", "Alright, done. The screen says: {}",
       "Just did it. Here is what it shows: {}"]
END = ["No, that's all. Thank you!", "That's everything, thanks.", "No, thank you. That's all I needed.",
       "Nothing else, thanks for your help."]
THANKS_END = ["Thank you, that's all I needed.", "Okay, thanks anyway.", "I see. Thank you for your help."]
INSIST = ["I really need this. Can't you make an exception?", "Please, it's important to me. Is there really no way?",
          "Are you sure? I really need this done."]
COST = ["Will this cost me anything?", "Is there any charge for this?", "How much will that be?",
        "Before we go on: what will this cost?"]  # no word the monitor takes for a yes or a no
WHY = ["Why not?", "Why can't this be done?", "Can you tell me why?"]
AGAIN = ["I understand, but I cannot make an exception. {}", "I'm sorry, the rule is firm. {}", "I see why you ask. {}"]
NOTHING_MORE = ["I don't know anything more than I told you.", "That's all the information I have."]


def pick(rng: random.Random, phrasings: list[str], *args) -> str:
    return rng.choice(phrasings).format(*args)


def detail_name(key: str) -> str:
    """A detail's name as said aloud: `user_id` -> "user id" (every word of the key kept, so the
    user recognises what is asked for)."""
    return key.replace("_", " ")


def join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def spoken_value(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def describe(call: ir.CallSpec, tool: ir.Function | None) -> str:
    """The exact action, listed for the user: what the tool does and every argument it gets."""
    doc = ((tool.doc if tool is not None else None) or call.name.replace("_", " ")).strip().split(". ")[0].rstrip(".")
    what = doc[:1].lower() + doc[1:]
    args = "; ".join(f"{k.replace('_', ' ')}: {spoken_value(v)}" for k, v in call.args.items())
    return f"{what} ({args})" if args else what


def on_device(call: ir.CallSpec, tool: ir.Function | None) -> str:
    """A phone-side step asked of the user: what the tool does, in its description's words
    (the user recognises the step by them or by the tool's name), and the values it takes."""
    args = ", ".join(f"{k.replace('_', ' ')} {spoken_value(v)}" for k, v in call.args.items())
    return step_words(call.name, tool) + (f" ({args})" if args else "")


def step_words(name: str, tool: ir.Function | None) -> str:
    doc = ((tool.doc if tool is not None else None) or name.replace("_", " ")).strip().split(". ")[0].split("; ")[0]
    doc = doc.rstrip(".").split(" (")[0]
    return doc[:1].lower() + doc[1:]


# "you" followed by one of these (or by punctuation, or nothing) is an object: "me"; otherwise
# the subject of a verb: "I". Scenarios are written to the user ("You want ..."); the scripted
# user says them as a customer would ("I want ...").
OBJECT_NEXT = {"to", "for", "with", "about", "elsewhere", "back", "again", "a", "an", "the", "that", "this", "if", "at",
               "on", "in", "by", "from", "up", "down", "out", "over", "soon", "now", "today", "later", "and", "or", "but",
               "so", "because", "when", "while", "before", "after", "since", "yet", "too", "as", "than", "into", "off",
               "some", "any", "one", "something", "anything", "nothing", "more", "money", "how", "what", "which", "who",
               "why", "where"}
SWAPS = {"you are": "I am", "you were": "I was", "you're": "I'm", "you've": "I've", "you'll": "I'll", "you'd": "I'd",
         "yourself": "myself", "yours": "mine", "your": "my", "are you": "am I", "were you": "was I"}
PRONOUN = re.compile(r"\b(you are|you were|you're|you've|you'll|you'd|are you|were you|yourself|yours|your|you)\b(\s+(\w+))?", re.I)


def first_person(text: str) -> str:
    """A scenario sentence said by the customer: second person turned into first."""
    def swap(m: re.Match) -> str:
        word, rest, following = m.group(1), m.group(2) or "", m.group(3)
        low = word.lower()
        if low in SWAPS:
            out = SWAPS[low]
        else:
            out = "me" if following is None or following.lower() in OBJECT_NEXT else "I"
        if word[0].isupper() and out != "I":
            out = out[0].upper() + out[1:]
        start = m.start()
        if out.startswith("me") and (start == 0 or text[:start].rstrip().endswith((".", "!", "?"))):
            out = "I"  # "You ..." opening a sentence is its subject
        return out + rest
    return PRONOUN.sub(swap, text)


# ---------------------------------------------------------------- an action in the customer's terms


@dataclass(frozen=True)
class Outcome:
    """A gold call as a dry run of the task shows it: its result, the entries it appended to list
    fields of the rows it wrote (by field name), and every result up to it (what the agent read)."""

    ok: bool
    value: Any
    added: dict
    seen: list


def listing(words, call: ir.CallSpec, tool: ir.Function | None, outcome: Outcome | None, rng: random.Random,
            base=None) -> str:
    """A write listed as the agent says it before asking for a yes: the domain's `actions`
    phrase with each value named as the customer names it, then what it costs or gives back
    (`costs`, filled from the write's result on a dry run); the tool's description with every
    argument where the words have no phrase for it."""
    seen = outcome.seen if outcome is not None else []

    def fill(name):
        if name not in call.args:
            return None
        return referent(words, name, call.args[name], seen, rng, base)

    plain = {"value": dict(call.args)}
    said = first_rendered(words.actions.get(call.name, ()), plain, fill, rng) or describe(call, tool)
    if outcome is not None and outcome.ok:
        context = tidy({**(outcome.value if isinstance(outcome.value, dict) else {}), "added": outcome.added, **plain})
        cost = first_rendered(words.costs.get(call.name, ()), context, fill, rng)
        if cost:
            said = f"{said}. {cost.rstrip('.')}"
    return said


def first_rendered(templates, context: dict, fill, rng: random.Random) -> str | None:
    for t in rng.sample(list(templates), len(templates)):
        text = render(t, context, fill)
        if text:
            return text
    return None


def referent(words, arg: str, value, seen: list, rng: random.Random, base=None) -> str | None:
    """How the agent names a value to the customer: by the words' referring expression for its
    record (found in what the agent has read, else in the data), else the value itself."""
    if isinstance(value, list):
        parts = [referent(words, arg, v, seen, rng, base) for v in value]
        return join(parts) if parts and all(parts) else spoken(value)
    if arg not in words.refer:
        if isinstance(value, dict):  # a record argument with no name of its own: its parts named (a card and an amount)
            parts = [referent(words, k, v, seen, rng, base) for k, v in value.items()]
            return ", ".join(p for p in parts if p) or None
        return spoken(value)
    keys = [x for x in value.values() if isinstance(x, str)][:1] if isinstance(value, dict) else [value]
    for record in (r for key in keys if isinstance(key, str) for r in records_of(key, seen, base)):
        # a record argument (a flight and its date) is named from its first value's record
        found = expressions(words, (arg,), record, value if isinstance(value, dict) else None)
        if found:
            return rng.choice(found)
    return spoken(value)


def records_of(value: str, seen: list, base=None):
    """The records a value stands in: where the results the agent read hold it, then where the
    data does (a card is named from the profile's entry, not from a payment line that cites it)."""
    for result in seen:
        if isinstance(result, (dict, list)):
            for _, record in places(result, value):
                yield record
    if base is not None:
        for _, (_, record) in zip(range(20), places(base, value)):
            yield record


def tidy(value):
    """Amounts as people say them: 1.5500000000000043 is 1.55 (sums of prices in floating point)."""
    if isinstance(value, float) and abs(value - round(value, 2)) < 1e-6:
        return round(value, 2)
    if isinstance(value, dict):
        return {k: tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [tidy(v) for v in value]
    return value

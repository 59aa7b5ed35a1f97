"""The paraphraser role: a kept task's scenario text (reason, known, instructions) in other words,
kept only when every value the text states survives and the task still verifies.

A value the text states is one the task stands on: an id, name, date, number or amount, a known
value or a fact's value as the original text words it. Before anything is verified the rewrite
must still state each of them: every gold argument's value, known value and fact value (or its
wording, `change_of_plan` as "change of plan") that the original text contains, every run of
digits in it (dates, times, amounts, card endings) and every month it names. A value is found
as a whole word, case aside; a number must stay a number ("4" written "four" is a loss, which
errs on the side of the original). Then the rewritten task goes through the whole
verification chain again (compile, Z3 analyses, gold replay, mutation, information flow). A
rewrite that fails either keeps the original and is recorded with its reason.
"""

from __future__ import annotations

import dataclasses
import json
import re

from pydantic import BaseModel, ConfigDict, ValidationError

from .. import ir
from ..interop.tau2_tasks import TaskImportError, quote
from .models import Unanswered, extract_json
from .render import Draft
from .world import leaves

FIELDS = ("reason", "known", "instructions")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")

PARAPHRASER_PROMPT = """You rewrite what a simulated customer is told about their situation, in
other words, as a person would say it. You get the texts as JSON, with the values the customer
knows and the facts of the case. Keep every id, name, date, time, number, amount and stated
fact exactly as written; do not add, drop or change anything the customer knows, wants or is
told to do. Reply with JSON only, the same keys: {"reason": "...", "known": "...", "instructions": "..."}"""


class Rewrite(BaseModel):
    """A paraphraser's answer: the new texts, strings only."""

    model_config = ConfigDict(strict=True, extra="forbid")
    reason: str | None = None
    known: str | None = None
    instructions: str | None = None


def word(value: str) -> re.Pattern:
    return re.compile(r"(?<![\w])" + re.escape(value) + r"(?![\w])", re.I)


def stated_values(task: ir.TaskDef, texts: dict[str, str]) -> list[str]:
    """The values the scenario texts state and the task depends on, in a stable order."""
    text = " ".join(texts.values())
    candidates: list[str] = []
    for call in task.gold or ():
        candidates += [str(v) for v in leaves(call.args, (str, int, float), [])]
    candidates += [str(v) for v in leaves(task.user.knows, (str, int, float), [])]
    for value in task.user.facts.values():
        candidates += [str(v) for v in leaves(value, (str, int, float), [])]
        candidates += [str(v).replace("_", " ") for v in leaves(value, str, [])]
    found = [v for v in candidates if len(v) >= 2 and not v.isdigit() and word(v).search(text)]
    found += re.findall(r"\d+", text)
    found += [m for m in MONTHS if word(m).search(text)]
    return list(dict.fromkeys(found))


def lost_values(task: ir.TaskDef, original: dict[str, str], new: dict[str, str]) -> list[str]:
    """The stated values of the original texts that the new ones no longer state."""
    text = " ".join(new.values())
    lost = []
    for v in stated_values(task, original):
        if v.isdigit():
            if not re.search(r"(?<!\d)" + v + r"(?!\d)", text):
                lost.append(v)
        elif not word(v).search(text):
            lost.append(v)
    return lost


LITERAL = r'"(?:[^"\\\n]|\\.)*"'
TOKENS = re.compile(LITERAL + r"|#[^\n]*|\b(" + "|".join(FIELDS) + r")\s+(" + LITERAL + ")")


def reworded(draft: Draft, new: dict[str, str], model: str) -> Draft:
    """The draft with its scenario texts replaced (raises TaskImportError for text eig cannot hold)."""
    meta = {**draft.meta, "paraphraser": f"openai:{model}"}
    if draft.text is None:
        for v in new.values():
            quote(v)
        return dataclasses.replace(draft, texts={**draft.texts, **new}, meta=meta)
    done: set[str] = set()

    def swap(m: re.Match) -> str:
        key = m.group(1)
        if key is None or key in done or key not in new:
            return m.group(0)
        done.add(key)
        return m.group(0)[: m.start(2) - m.start(0)] + quote(new[key])

    return dataclasses.replace(draft, text=TOKENS.sub(swap, draft.text), meta=meta)


def ask_for(task: ir.TaskDef, original: dict[str, str]) -> str:
    return (f"Texts: {json.dumps(original, ensure_ascii=False)}\nThe customer knows: {json.dumps(task.user.knows, ensure_ascii=False)}\n"
            f"Facts of the case: {json.dumps(task.user.facts, ensure_ascii=False)}")


def read_rewrite(answer_json, original: dict[str, str]) -> dict[str, str]:
    """The new texts of a parsed answer; ValueError (or ValidationError) says what is wrong."""
    given = {k: v for k, v in Rewrite.model_validate(answer_json).model_dump().items() if v is not None}
    if set(given) != set(original):
        raise ValueError(f"the answer rewrites {sorted(given) or 'nothing'}, the task has {sorted(original)}")
    empty = [k for k, v in given.items() if not v.strip()]
    if empty:
        raise ValueError(f"the answer leaves {', '.join(empty)} empty")
    return given


def paraphrase(roles, engine, kept: list) -> list:
    """The kept verdicts, each with its paraphrased task where the rewrite holds, else as it was."""
    model = roles.models["paraphraser"].model
    prompt = roles.prompt(engine, "paraphraser", PARAPHRASER_PROMPT)
    tried = []
    for i, v in enumerate(kept):
        original = {k: v.task.user.texts[k] for k in FIELDS if v.task.user.texts.get(k)}
        if not original:
            continue
        try:
            new = read_rewrite(extract_json(roles.ask("paraphraser", prompt, ask_for(v.task, original))), original)
            lost = lost_values(v.task, original, new)
            if lost:
                roles.rejected(engine, "paraphraser", "a stated value is lost or changed", ", ".join(lost), task=v.task_id)
                continue
            tried.append((i, reworded(v.draft, new, model)))
        except Unanswered as e:
            roles.rejected(engine, "paraphraser", e.reason, e.detail, task=v.task_id)
        except (ValueError, ValidationError) as e:
            roles.rejected(engine, "paraphraser", "not the texts as JSON", str(e).splitlines()[0], task=kept[i].task_id)
        except TaskImportError as e:
            roles.rejected(engine, "paraphraser", "text eig cannot hold", str(e), task=v.task_id)
    if not tried:
        return kept
    out = list(kept)
    verdicts = (engine.pool or engine.verifier).verify([(kept[i].task_id, d) for i, d in tried])
    for (i, _), verdict in zip(tried, verdicts):
        if not verdict.ok:
            roles.rejected(engine, "paraphraser", f"the rewritten task fails verification: {verdict.reason}", verdict.detail,
                           task=verdict.task_id)
            continue
        if verdict.draft.text is not None:
            engine.describe(verdict.draft, verdict.task)
        out[i] = verdict
    return out

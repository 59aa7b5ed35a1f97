"""The deterministic verification chain of a written task; nothing runs but the compiled domain.

In order, each step a reason for rejection: the task parses, checks and compiles (in batches
that import the domain once); the Z3 analyses report nothing; gold replay earns reward 1; the
checker's mutation kill rate reaches the threshold; the information-flow check holds; the
task is not a duplicate of one already kept (canonical signature). Refusals carry no goal:
they are checked against the gold final state (nothing changed) and by the actions they must
take (ACTION) and the policies no call may break (POLICY), so no good refusal is thrown away
as "vacuous".
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import ir
from ..compiler import check_task_text, read_modules
from ..syntax.diagnostics import DiagnosticSink
from ..runtime.environment import CompiledDomain
from ..verify.analyses import facts_read_by_policies, gold_reward, task_findings
from ..verify.mutate import ValuePool, mutation_score
from ..verify.reward import TaskChecker, TaskSetupError
from .render import Draft, task_text
from .world import leaves, strings

KILL_RATE = 0.8
ACCEPTED_NOTES = {"goal_not_analysed"}  # outside the Z3 encoding: recorded, not a defect


@dataclass
class Verdict:
    draft: Draft
    task_id: str
    ok: bool
    reason: str | None = None
    detail: str = ""
    task: ir.TaskDef | None = None
    kill_rate: float | None = None
    mutants: int = 0
    notes: int = 0  # goals outside the Z3 encoding (noted, not defects)


@dataclass
class Timer:
    seconds: dict = field(default_factory=dict)

    def add(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - since
        return now


class Verifier:
    """Verifies batches of drafts against one loaded domain."""

    def __init__(self, domain: CompiledDomain, source: Path, db=None, user_db=None, kill_rate: float = KILL_RATE):
        self.domain = domain
        self.source = source
        self.db, self.user_db = db, user_db
        self.threshold = kill_rate
        self.pool = ValuePool(domain)
        self.guard_facts = facts_read_by_policies(domain.ir)
        self.tool_facts: dict[str, set[str]] = {}
        for p in domain.ir.policies:
            for g in p.guards:
                self.tool_facts.setdefault(g.tool, set()).update(self.guard_facts.get(p.name, set()))
        self.timer = Timer()
        self.modules = None
        self.enum_members = {m for e in domain.ir.enums for m in e.values if isinstance(m, str)}
        # the policy's own figures (a certificate of 100 per passenger, 50 per bag) are known to
        # the agent, who reads the policy, as its strings are
        self.policy_numbers = {float(x) if "." in x else int(x) for x in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", domain.policy_text)}

    def header(self, where: Path) -> str:
        rel = os.path.relpath(self.source.resolve(), where.resolve().parent)
        return f'import "{rel}"\n\n'

    def compile_batch(self, items: list[tuple[str, Draft]]):
        """Check drafts together, in memory; those with errors are rejected and the rest rechecked.

        Each draft is its own piece of source named by its task id, so an error names the draft
        it is in. Model-written text (which may, say, declare something another draft also
        declares) is checked alone, and where an error cannot be blamed on one draft each draft
        left is checked alone, so a draft's verdict never depends on the drafts it was checked
        with (or on how a batch is split between worker processes)."""
        written = [(tid, d) for tid, d in items if d.text is not None]
        if written and len(items) > 1:
            compiled, rejected = self.compile_alone(written, {})
            rest, rest_rejected = self.compile_batch([(tid, d) for tid, d in items if d.text is None])
            return {**compiled, **rest}, {**rejected, **rest_rejected}
        rejected: dict[str, tuple[str, str]] = {}
        todo = list(items)
        for _ in range(4):
            if not todo:
                return {}, rejected
            domain, diagnostics = self.check_text([(tid, task_text(d, tid) + "\n") for tid, d in todo])
            if domain is not None:
                return {t.id: t for t in domain.tasks if t.id in dict(todo)}, rejected
            ids, bad, elsewhere = dict(todo), set(), None
            for diag in diagnostics:
                if not diag.is_error:
                    continue
                if diag.span.file not in ids:
                    elsewhere = f"{diag.span.file}:{diag.span.line}: {diag.message}"
                    break
                bad.add(diag.span.file)
                kind = "contradictory_facts" if diag.code == "E191" else "compile"
                rejected.setdefault(diag.span.file, (kind, f"line {diag.span.line}: {diag.message}"))
            if len(todo) == 1 and not bad:
                rejected[todo[0][0]] = ("compile", elsewhere or "the task did not compile")
                return {}, rejected
            todo = [(tid, d) for tid, d in todo if tid not in bad]
            if elsewhere or not bad:
                break
        return self.compile_alone(todo, rejected)

    def compile_alone(self, todo: list[tuple[str, Draft]], rejected: dict):
        compiled = {}
        for item in todo:
            one, rejected_one = self.compile_batch([item])
            compiled.update(one)
            rejected.update(rejected_one)
        return compiled, rejected

    def check_text(self, pieces: list[tuple[str, str]]):
        """Check task text, piece by named piece, against the domain, whose modules are parsed once."""
        if self.modules is None:
            sink = DiagnosticSink()
            self.modules = read_modules(self.source, sink, {}, {})
            if sink.has_errors:
                return None, sink.sorted()
        return check_task_text(self.modules, pieces)

    def verify(self, items: list[tuple[str, Draft]]) -> list[Verdict]:
        """Verdicts on the drafts, in their order, each independent of the others."""
        t = time.perf_counter()
        compiled, rejected = self.compile_batch(items)
        self.timer.add("compile", t)
        return [Verdict(d, tid, False, *rejected[tid]) if tid in rejected else self.verify_task(tid, d, compiled[tid])
                for tid, d in items]

    def verify_task(self, tid: str, d: Draft, task: ir.TaskDef) -> Verdict:
        t = time.perf_counter()
        checker = TaskChecker(self.domain, task)
        try:
            findings = task_findings(self.domain, task, checker, self.guard_facts)
        except TaskSetupError as e:
            return Verdict(d, tid, False, "setup_fails", str(e), task)
        t = self.timer.add("analyses", t)
        bad = sorted((f for f in findings if f.kind not in ACCEPTED_NOTES), key=lambda f: f.kind == "undetermined_choice")
        if bad and bad[0].kind == "undetermined_choice":  # the only defect; its message names the argument and the alternatives
            return Verdict(d, tid, False, "undetermined choice", bad[0].message, task)
        if bad:
            return Verdict(d, tid, False, bad[0].kind, bad[0].message, task)
        reward = gold_reward(checker)
        t = self.timer.add("gold_replay", t)
        if reward != 1.0:
            failed = checker.score(checker.replay(), checker.oracle_messages()).details
            return Verdict(d, tid, False, "gold_reward", f"gold replay earns {reward}: {failed}", task)
        score = mutation_score(self.domain, checker, self.pool)
        t = self.timer.add("mutation", t)
        if score.kill_rate is None or score.kill_rate < self.threshold:
            return Verdict(d, tid, False, "weak_checker", f"kill rate {score.kill_rate} over {score.total} mutants (survivors: {', '.join(score.survivors[:3])})",
                           task, score.kill_rate, score.total)
        problem = self.information_flow(task, checker)
        self.timer.add("information_flow", t)
        if problem:
            return Verdict(d, tid, False, "information_flow", problem, task, score.kill_rate, score.total)
        return Verdict(d, tid, True, None, "", task, score.kill_rate, score.total, len(findings))

    # ------------------------------------------------------------ information flow
    def information_flow(self, task: ir.TaskDef, checker: TaskChecker) -> str | None:
        """Every value in a gold argument is known to the user, returned by an earlier gold
        call, or computable from those; every fact a guard of a gold call reads is stated."""
        user = task.user
        texts = " ".join(str(v) for v in user.texts.values())
        policy = self.domain.policy_text
        lowered = texts.lower()
        facts = user.facts
        for call in task.gold or ():
            for f in sorted(self.tool_facts.get(call.name, ())):
                if f not in facts:
                    return f"the guard of {call.name} reads fact {f}, which the task does not state"
                shown = str(facts[f])
                phrases = [shown, shown.replace("_", " ")] + self.domain.words.fact_phrases_for(f, facts[f])
                if not any(x.lower() in lowered for x in phrases):
                    return f"fact {f} = {shown!r} is not in the user's scenario text, in its value or in the domain's words for it"
        known_strings = set(strings(user.knows, [])) | {str(v) for v in facts.values()}
        numbers = set(range(0, 6)) | set(numeric(user.knows, [])) | self.policy_numbers
        env = checker.start()
        results_text = []
        for call in task.gold or ():
            keys = call.compare if call.compare is not None else tuple(call.args)
            if keys:
                for k in keys:
                    v = call.args.get(k)
                    for s in strings(v, []):
                        if s not in known_strings and s.lower() not in lowered and not date_in_words(s, lowered) and s not in policy and s not in self.enum_members and not any(s in r for r in results_text):
                            return f"{call.name}: the value {s!r} of {k} is neither known to the user nor returned by an earlier call"
                    for n in numeric(v, []):
                        if not computable(n, numbers):
                            return f"{call.name}: the number {n} in {k} is neither known to the user nor computable from earlier results"
            result = env.call(call.name, call.args, call.actor)
            if result.ok:
                results_text.append(result.text)
                if len(numbers) < 400:
                    numbers |= set(numeric(result.content, []))
                known_strings |= set(strings(result.content, [])) if isinstance(result.content, (dict, list)) else set()
        return None


MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
ISO_DATE = re.compile(r"^\d{4}-(\d{2})-(\d{2})$")


def date_in_words(value: str, lowered: str) -> bool:
    """An ISO date said as a customer says it: "May 20", "May 20th", "20 May", "the 20th of May"
    (the year is the one the scenario lives in)."""
    m = ISO_DATE.match(value)
    if m is None or not 1 <= int(m.group(1)) <= 12:
        return False
    month, day = MONTHS[int(m.group(1)) - 1], int(m.group(2))
    return re.search(rf"\b{month} {day}(st|nd|rd|th)?\b|\b{day}(st|nd|rd|th)? (of )?{month}\b", lowered) is not None


def numeric(value, out: list) -> list:
    return leaves(value, (int, float), out)


def computable(n, numbers: set) -> bool:
    """n is known, or one sum, difference or product of two known numbers."""
    if n in numbers:
        return True
    values = list(numbers)[:300]
    lookup = set(values)
    for a in values:
        if n - a in lookup or a - n in lookup or (a and (n / a) in lookup):
            return True
    return False

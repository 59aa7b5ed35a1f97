"""Model roles of a synthesis run (planner, writer, critic, reflector, agent, user) through any
OpenAI-compatible endpoint, with bounded concurrency.

Every answer is checked before it is used: plans and critic verdicts are JSON validated by
pydantic models; a written task must contain an eig task declaration that compiles against
the domain, and the compiler's diagnostics go back to the writer for a bounded number of
repairs; then the task goes through the same verification chain as an offline one. A bad
answer (prose, nothing, cut-off JSON, a flood of text, values of the wrong type, an endpoint
that fails) is rejected with its reason (kept in report.json) and never ends the run.

One rule finds the code in any answer: where the answer has fenced blocks (```), the blocks
tagged with the expected language (`eig` for a task, `json` for plans and verdicts) or
untagged are read, in order, and the first that holds what is expected is taken, whatever
chatter is around them; an answer without fences is read whole.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, ValidationError

from pydantic import ConfigDict

from ..episode.chat import ChatClient, ChatConfig, ChatError, EndpointError
from .plans import Plan, PlanSet
from .quality import figures as quality_figures, new_tally
from .render import Draft, task_text

ROLES = ("planner", "writer", "critic", "reflector", "agent", "user", "paraphraser")
# An answer longer than this is not a task, plan or verdict but a runaway generation: refused
# before anything parses it.
MAX_ANSWER = 60_000

WRITER_PROMPT = """You write test tasks for a customer-service agent, in the eig language.
A task declares what the simulated user knows and wants, the gold tool calls that solve it,
and goals on the final state. Use only entities and values given to you. Reply with exactly
one task declaration in a ```eig code block, and nothing else.

Shape:
task "name" {
  purpose "..."
  user { persona "..." reason "..." known "..." knows { key: "value" } }
  gold { tool_name(arg: "value") }
  goal { table["key"].field == value }
  reward { DB, GOAL, ACTION, POLICY }
}
A task whose right outcome is a refusal has no goal and `reward { DB, ACTION, POLICY }`."""

PLANNER_PROMPT = """You plan test tasks for a customer-service domain. Reply with JSON only:
{"plans": [{"id": str, "write": str, "workflow": [str], "branch": "allow"|"forbid"|"transfer",
"intents": "single"|"multi", "operator": "retarget"|"vary"|"flip_fact"|"compose"|"distractor"|"fresh",
"seed": str, "partner": str|null, "style": str, "difficulty": "easy"|"medium"|"hard",
"evaluation": [str]}]}"""

CRITIC_PROMPT = """You review a test task for a customer-service agent. Is it realistic (a real
customer could ask this) and solvable (the user knows enough, the gold calls follow the
policy)? Reply with JSON only: {"realistic": true|false, "solvable": true|false, "why": "..."}"""

REFLECTOR_PROMPT = """You improve the instructions given to a task writer. You get the current
instructions and the last round's statistics: rejections by reason, and the quality of the kept
tasks (shares of scenarios in tool language, holding ids a customer would not have, identical to
another once ids, numbers and names are masked, of undetermined choices, and of refusal or
transfer labels that agree with the policy). Instructions that bring the bad shares down and the
agreement up are better. Reply with the complete new instructions as plain text, nothing else."""


class CriticVerdict(BaseModel):
    model_config = ConfigDict(strict=True)  # "yes" or 1 is not a verdict

    realistic: bool
    solvable: bool
    why: str = ""


FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)
PLAN_ID = re.compile(r"[\w./+:-]{1,100}")
TASK_HEAD = re.compile(r'^\s*task\s+("(?:[^"\\]|\\.)*"|[A-Za-z_][\w-]*)', re.M)


def blocks(answer: str, language: str) -> list[str]:
    """The texts to read in an answer: its fenced blocks tagged `language` or untagged, in
    order; the whole answer when it has no fenced block."""
    found = list(FENCE.finditer(answer or ""))
    if not found:
        return [answer or ""]
    return [m.group(2) for m in found if m.group(1).lower() in ("", language)]


def extract_task(answer: str) -> str | None:
    """The task declaration in a writer's answer: from `task` on, in the first block that has one."""
    for text in blocks(answer, "eig"):
        head = TASK_HEAD.search(text)
        if head is not None:
            return text[head.start():].strip()
    return None


def extract_json(answer: str):
    """The first complete JSON object or array in the answer's blocks: chatter before it (where
    a brace may open that is not JSON) and after it is skipped; 20 starts are tried at most."""
    for text in blocks(answer, "json"):
        starts = [m.start() for m in re.finditer(r"[{\[]", text)][:20]
        for i in starts:
            try:
                return json.JSONDecoder().raw_decode(text, i)[0]
            except ValueError:
                continue
    raise ValueError("the answer holds no complete JSON object")


def role_spec(spec: str) -> str | None:
    """The model name of `openai:MODEL`, None for `offline`; anything else is refused."""
    if spec == "offline":
        return None
    if spec.startswith("openai:") and len(spec) > 7:
        return spec[7:]
    raise ValueError(f"a role is `offline` or `openai:MODEL`, not {spec!r}")


class Unanswered(Exception):
    """A role gave no answer to use: the reason to record and its detail."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


class Roles:
    """The model-backed roles of one run; roles left offline are None."""

    def __init__(self, config, out: Path):
        self.config = config
        self.out = Path(out)
        self.models = {}
        for role in ROLES:
            name = role_spec(getattr(config, role))
            if name is not None:
                # an endpoint that stays overloaded a minute fails that answer, not the run
                self.models[role] = ChatConfig(model=name, base_url=config.base_url, api_key=config.api_key,
                                               timeout=60.0, max_retries=1, reply_retries=1, temperature=0.0,
                                               overload_wait=60.0)
        self.writes = "writer" in self.models
        self.criticises = "critic" in self.models
        self.paraphrases = "paraphraser" in self.models

    @property
    def any(self) -> bool:
        return bool(self.models)

    def ask(self, role: str, system: str, user: str, history: list[dict] | None = None) -> str:
        """The role's answer as text. Raises Unanswered (with the reason to record) when the
        endpoint failed, the reply was no usable message, or the answer is a runaway."""
        client = ChatClient(self.models[role], who=role)
        messages = [{"role": "system", "content": system}, *(history or []), {"role": "user", "content": user}]
        try:
            reply = client.complete(messages)
        except EndpointError as e:
            raise Unanswered("endpoint", str(e)) from None
        except ChatError as e:
            raise Unanswered("unusable reply", str(e)) from None
        content = reply.get("content") or ""
        if len(content) > MAX_ANSWER:
            raise Unanswered("answer too long", f"{len(content)} characters (at most {MAX_ANSWER})")
        return content

    def rejected(self, engine, role: str, reason: str, detail: str = "", **where) -> None:
        """Record a rejected answer (report.json's model_rejections)."""
        engine.state["model_rejections"].append({"role": role, "reason": reason, "detail": detail[:300], **where})

    # ------------------------------------------------------------ prompts (versions kept)
    def prompt(self, engine, role: str, default: str) -> str:
        version = engine.state.setdefault("prompt_versions", {}).get(role, 1)
        path = self.out / "prompts" / f"{role}_v{version}.md"
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(default, encoding="utf-8")
        return path.read_text(encoding="utf-8")

    # ------------------------------------------------------------ planner
    def plan_round(self, engine, r: int) -> None:
        if "planner" not in self.models:
            return
        seeds = [s.task.id for s in engine.writer.seeds]
        tools = [t.name for t in engine.domain.ir.tools]
        ask = (f"Domain {engine.name}, round {r}. Write tools and seeds you may use.\nTools: {', '.join(tools)}\nSeeds: {', '.join(seeds)}\n"
               f"Existing plans: {len(engine.state['plans'])}. Propose up to 8 new plans.")
        try:
            answer = self.ask("planner", self.prompt(engine, "planner", PLANNER_PROMPT), ask)
        except Unanswered as e:
            return self.rejected(engine, "planner", e.reason, e.detail, round=r)
        try:
            proposed = PlanSet.model_validate(extract_json(answer))
        except (ValueError, ValidationError) as e:
            return self.rejected(engine, "planner", "plans are not valid JSON of the plan model", str(e).splitlines()[0], round=r)
        known = {Plan.model_validate(p).key() for p in engine.state["plans"]}
        ids = {p["id"] for p in engine.state["plans"]}
        for p in proposed.plans:
            if not PLAN_ID.fullmatch(p.id):  # it goes into task files' provenance comments, one line each
                self.rejected(engine, "planner", "plan id is not a short name", p.id[:80], round=r)
            elif p.write not in tools:
                self.rejected(engine, "planner", "unknown write tool", p.write, round=r, plan=p.id)
            elif p.operator != "fresh" and p.seed not in seeds:
                self.rejected(engine, "planner", "unknown seed task", p.seed, round=r, plan=p.id)
            elif p.key() in known or p.id in ids:
                self.rejected(engine, "planner", "overlaps an existing plan", p.id, round=r, plan=p.id)
            else:
                known.add(p.key())
                ids.add(p.id)
                engine.state["plans"].append(p.model_dump())

    # ------------------------------------------------------------ writer with repairs
    def write(self, engine, items: list, stats: dict, rng) -> list:
        prompt = self.prompt(engine, "writer", WRITER_PROMPT)
        system = f"{prompt}\n\n# Policy\n{engine.domain.policy_text}\n\n# Tools\n" + "\n".join(
            f"- {t['function']['name']}({', '.join(t['function']['parameters'].get('properties', {}))})" for t in engine.tools)

        def one(item):
            tid, draft, plan = item
            return item, self.write_one(engine, system, tid, draft, plan)

        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            results = list(pool.map(one, items))
        out = []
        for (tid, draft, plan), (written, reason, detail, name) in results:
            if written is None:
                engine.reject(stats, plan.id, f"model_writer: {reason}", detail)
                self.rejected(engine, "writer", reason, detail, task=tid, plan=plan.id, name=name)
                continue
            out.append((tid, written, plan))
        return out

    def write_one(self, engine, system: str, tid: str, draft: Draft, plan: Plan):
        ask = (f"Plan: {plan.model_dump_json()}\nEntities the user has: {json.dumps(draft.knows)}\nFacts: {json.dumps(draft.facts)}\n"
               f"Gold calls that work on the data:\n" + "\n".join(c.text() for c in draft.gold))
        history: list[dict] = []
        problems, name = [], None
        for attempt in range(1 + self.config.repairs):
            try:
                answer = self.ask("writer", system, ask, history)
            except Unanswered as e:
                return None, e.reason, e.detail, name
            text = extract_task(answer)
            if text is None:
                problem, reason = "Your answer contains no eig task declaration; reply with one ```eig block.", "prose instead of code"
            else:
                name = TASK_HEAD.search(text).group(1).strip('"')
                text = TASK_HEAD.sub(f'task "{tid}"', text, count=1)
                domain, diagnostics = engine.verifier.check_text([(tid, text + "\n")])
                errors = [d for d in diagnostics if d.is_error]
                if domain is not None and not errors:
                    written = Draft(plan.id, "model", draft.seed, plan.branch, {}, {}, {}, (), (), writer=f"openai:{self.models['writer'].model}",
                                    text=text, meta={"repairs": attempt, "name": " ".join(name.split())[:80]})
                    return written, None, "", name
                problem = "The compiler reports:\n" + "\n".join(f"line {d.span.line}:{d.span.col}: {d.message}" for d in errors[:8])
                reason = "contradictory facts" if any(d.code == "E191" for d in errors) else "does not compile"
            problems.append(reason)
            self.rejected(engine, "writer", reason, problem, task=tid, plan=plan.id, attempt=attempt, name=name)
            history += [{"role": "user", "content": ask}, {"role": "assistant", "content": answer}]
            ask = problem + "\nReply with the corrected task."
        return None, problems[-1] + f" after {self.config.repairs} repair(s)", ask[:300], name

    # ------------------------------------------------------------ critic
    def criticise(self, engine, verdict) -> tuple[bool, str]:
        text = task_text(verdict.draft, verdict.task_id)
        try:
            answer = self.ask("critic", self.prompt(engine, "critic", CRITIC_PROMPT), text)
            judged = CriticVerdict.model_validate(extract_json(answer))
        except Unanswered as e:  # no verdict: the task stands on its verification
            self.rejected(engine, "critic", e.reason, e.detail, task=verdict.task_id)
            return True, ""
        except (ValueError, ValidationError) as e:
            self.rejected(engine, "critic", "verdict is not valid JSON of the verdict model", str(e).splitlines()[0], task=verdict.task_id)
            return True, ""
        if not (judged.realistic and judged.solvable):
            return False, f"{'unrealistic' if not judged.realistic else 'unsolvable'}: {judged.why}"[:300]
        return True, judged.why

    # ------------------------------------------------------------ reflector
    def reflect_round(self, engine, r: int, stats: dict) -> list[dict]:
        if "reflector" not in self.models:
            return []
        current = self.prompt(engine, "writer", WRITER_PROMPT)
        evidence = {"attempted": stats["attempted"], "kept": stats["kept"],
                    "rejections": dict(sorted(stats["rejections"].items(), key=lambda kv: -kv[1])[:10]),
                    "quality": quality_figures(stats.get("quality") or new_tally())}
        try:
            answer = self.ask("reflector", REFLECTOR_PROMPT, f"Instructions:\n{current}\n\nRound {r}: {json.dumps(evidence)}")
        except Unanswered as e:
            self.rejected(engine, "reflector", e.reason, e.detail, round=r)
            return []
        text = (answer or "").strip()
        if len(text) < 40 or len(text) > 20000:
            self.rejected(engine, "reflector", "the new instructions are empty or too long", text[:100], round=r)
            return []
        versions = engine.state.setdefault("prompt_versions", {})
        versions["writer"] = versions.get("writer", 1) + 1
        path = self.out / "prompts" / f"writer_v{versions['writer']}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return [{"role": "writer", "action": "rewrite_prompt", "to": str(path.relative_to(self.out)), "evidence": evidence}]

    # ------------------------------------------------------------ rollouts
    def rollout_factories(self):
        from ..episode.agents import OpenAIAgent
        from ..episode.users import LLMUser

        agent = (lambda: OpenAIAgent(self.models["agent"])) if "agent" in self.models else None
        user = (lambda: LLMUser(self.models["user"])) if "user" in self.models else None
        return agent, user

"""One batch of a synthesis round, stage by stage: write -> verify -> judge -> roll out -> save.

Each stage is a function of the engine (engine.py's `Engine`: the run's domain, roles, state and
counters; it imports this module, so the functions take it untyped) and the `Batch` it passes on, so what a stage takes and gives is named in one place. A batch draws from
its own random stream (seed, round, batch), which is what makes a killed run resume to the kept
set of an uninterrupted one (engine.py).
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..verify.reward import TaskChecker
from .paraphrase import paraphrase
from .plans import Plan
from .render import Draft, meaning, task_text
from .rollout import rollout, sft_record, user_sft_record
from .verify import Verdict


@dataclass
class Batch:
    """What one batch carries from stage to stage."""

    round: int
    index: int
    rng: random.Random
    stats: dict  # the round's record in the run state
    chosen: list[Plan]  # a plan per draft to write
    items: list[tuple[str, Draft, Plan]] = field(default_factory=list)  # written: (task id, draft, plan)
    verdicts: list[Verdict] = field(default_factory=list)
    kept: list[Verdict] = field(default_factory=list)  # verified and judged, not yet rolled out
    task_chunks: list[str] = field(default_factory=list)  # what the batch appends to each output
    sft: list[dict] = field(default_factory=list)
    user_sft: list[dict] = field(default_factory=list)
    rl: list[dict] = field(default_factory=list)

    @property
    def timer(self) -> dict[str, float]:
        return self.stats["seconds"]

    def plan_of(self, task_id: str) -> Plan:
        return next(plan for tid, _, plan in self.items if tid == task_id)


def run_batch(engine, r: int, b: int) -> None:
    """Draft, verify, judge, roll out and save one batch of round r."""
    rng = random.Random(f"{engine.config.seed}:{r}:{b}")
    stats = engine.round_stats(r)
    started = time.perf_counter()
    chosen = engine.choose(rng, engine.batch_size(r))
    if not chosen:  # every plan is retired or spent: the round ends
        stats["attempted"] = stats["budget"]
        return
    batch = Batch(r, b, rng, stats, chosen)
    for stage in (write, verify, judge, roll_out):
        started = stage(engine, batch, started)
    save(engine, batch)


def add(timer: dict, stage: str, since: float) -> float:
    now = time.perf_counter()
    timer[stage] = timer.get(stage, 0.0) + now - since
    return now


def write(engine, batch: Batch, started: float) -> float:
    """A draft per chosen plan; a writer's failure or a repeat of a kept draft is rejected here."""
    c, r, stats = engine.config, batch.round, batch.stats
    engine.progress({"round": r, "stage": "write", **engine.counts(r)})
    seen = set(engine.state["signatures"])
    for i, plan in enumerate(batch.chosen):
        tid = f"{engine.name}-s{c.seed}-r{r}-b{batch.index:03d}-{i:03d}"
        engine.count(stats, plan.id, "attempted")
        d = engine.writer.write_plan(plan, batch.rng)
        if isinstance(d, str):
            engine.reject(stats, plan.id, "writer", d)
            continue
        sig = d.signature()
        if sig in seen:
            engine.reject(stats, plan.id, "duplicate", "")
            continue
        seen.add(sig)
        batch.items.append((tid, d, plan))
    if engine.models is not None and engine.models.writes:
        batch.items = engine.models.write(engine, batch.items, stats, batch.rng)
    return add(batch.timer, "write", started)


def verify(engine, batch: Batch, started: float) -> float:
    """The deterministic verification chain (verify.py), in the worker pool where there is one."""
    engine.progress({"round": batch.round, "stage": "verify", **engine.counts(batch.round)})
    batch.verdicts = (engine.pool or engine.verifier).verify([(tid, d) for tid, d, _ in batch.items])
    timer = batch.timer
    for k, v in engine.verifier.timer.seconds.items():
        timer[k] = timer.get(k, 0.0) + v
    engine.verifier.timer.seconds = {}
    seconds = batch.stats.setdefault("verify", {"wall": 0.0, "workers_cpu": 0.0})
    seconds["wall"] += time.perf_counter() - started
    seconds["workers_cpu"] += engine.pool.cpu_seconds if engine.pool else 0.0
    return time.perf_counter()


def judge(engine, batch: Batch, started: float) -> float:
    """Verified drafts past the critic (a model role), summarised, and reworded by the paraphraser."""
    for v in batch.verdicts:
        plan = batch.plan_of(v.task_id)
        if not v.ok:
            engine.reject(batch.stats, plan.id, v.reason, v.detail, v)
            continue
        if engine.models is not None and engine.models.criticises:
            ok, why = engine.models.criticise(engine, v)
            if not ok:
                engine.reject(batch.stats, plan.id, "critic", why, v)
                continue
        if v.draft.text is not None:
            engine.describe(v.draft, v.task)
        batch.kept.append(v)
    if engine.models is not None and engine.models.paraphrases:
        batch.kept = paraphrase(engine.models, engine, batch.kept)
    return add(batch.timer, "critic", started)


def roll_out(engine, batch: Batch, started: float) -> float:
    """Each judged task played (oracle, and model agents where there are), kept unless the oracle
    fails it or it repeats a kept task's meaning; its dialogues and records go to the batch."""
    c, r, stats = engine.config, batch.round, batch.stats
    engine.progress({"round": r, "stage": "rollout", **engine.counts(r)})
    measured = batch.timer.get("quality", 0.0)  # measuring kept tasks is its own stage, not the rollout's
    for v in batch.kept:
        plan = batch.plan_of(v.task_id)
        checker = TaskChecker(engine.domain, v.task)
        ro = rollout(engine.domain, v.task, checker, *(engine.models.rollout_factories() if engine.models else (None, None)),
                     k=c.rollouts, dialogues=c.dialogues)
        for role, why in ro.unplayed:  # the agent's or user's endpoint failed: no episode, the run goes on
            engine.models.rejected(engine, role, "endpoint", why, task=v.task_id)
        if ro.oracle.attributed == "task":
            engine.reject(stats, plan.id, "rollout_task", ro.oracle.why, v)
            continue
        # a duplicate by its draft's signature, or by meaning (a reworded copy of a kept task)
        meant = meaning(v.task)
        meanings = engine.state.setdefault("meanings", [])
        if v.draft.signature() in engine.state["signatures"] or meant in meanings:
            engine.reject(stats, plan.id, "duplicate", "the same gold, goals, setup and facts as a kept task", v)
            continue
        engine.state["signatures"].append(v.draft.signature())
        meanings.append(meant)
        engine.count(stats, plan.id, "kept")
        engine.measure(stats, plan.id, v)
        stats["kept"] += 1
        engine.state["kept"] += 1
        episodes = ro.episodes or [ro.oracle]
        stats["rolled"] += len(episodes)
        passed = sum(p.result.reward == 1.0 for p in episodes)
        stats["passed"] += passed
        engine.count(stats, plan.id, "rolled", len(episodes))
        engine.count(stats, plan.id, "passed", passed)
        teaching = ro.teaching()
        for variant, p in teaching:
            meta = {"task_id": v.task_id, "plan": plan.id, "round": r, "variant": variant}
            batch.sft.append(sft_record(p, engine.tools, meta))
            batch.user_sft.append(user_sft_record(p, v.task, engine.user_tools, meta))
        for p in episodes:
            if p.result.reward == 1.0:
                continue
            if p.attributed == "user":
                stats["user_attributed"] = stats.get("user_attributed", 0) + 1
            else:
                attributed = stats.setdefault("attributed", {})
                attributed[p.attributed or "agent"] = attributed.get(p.attributed or "agent", 0) + 1
        count_coverage(engine, stats, plan, v.draft)
        batch.task_chunks.append(task_text(v.draft, v.task_id, provenance(plan, r, v, ro)) + "\n\n")
        batch.rl.append({"task_id": v.task_id, "file": f"tasks/round_{r}.eig", "pass_rate": ro.pass_rate, "rollouts": len(episodes),
                         "plan": plan.id, "branch": v.draft.branch, "writes": v.draft.writes, "difficulty": plan.difficulty,
                         "signature": v.draft.signature(), "sft": len(teaching)})
    return add(batch.timer, "rollout", started + batch.timer.get("quality", 0.0) - measured)


def count_coverage(engine, stats: dict, plan: Plan, d: Draft) -> None:
    """What a kept task adds to the round's coverage: its workflow, guard branches, kind, writes."""
    wf = "->".join(d.workflow)
    if wf not in stats["workflows"]:
        stats["workflows"].append(wf)
    for br in d.guards:
        if br not in stats["branches"]:
            stats["branches"].append(br)
    kind = {"allow": "change", "forbid": "refusal", "transfer": "transfer"}[d.branch]
    kinds = stats.setdefault("kinds", {})
    kinds[kind] = kinds.get(kind, 0) + 1
    if d.writes >= 2:
        stats["multi_write"] = stats.get("multi_write", 0) + 1
        engine.count(stats, plan.id, "multi_write")
    if d.branch != "allow":
        engine.count(stats, plan.id, "refusal")
    write_tools = stats.setdefault("write_tools", {})
    for tool in {c_.name for c_ in d.gold if engine.writer.is_write(c_)}:
        write_tools[tool] = write_tools.get(tool, 0) + 1


def provenance(plan: Plan, r: int, v: Verdict, ro) -> list[str]:
    """The comment lines above a kept task: where it came from and what it passed."""
    d = v.draft
    said_by = (d.writer + (f" (as {d.meta['name']})" if d.meta.get("name") else "")
               + (f" · paraphraser {d.meta['paraphraser']}" if d.meta.get("paraphraser") else ""))
    return [f"plan {plan.id} · round {r} · writer {said_by} · operator {d.operator} · seed {d.seed}",
            f"branch {d.branch} · guards {', '.join(d.guards) or '-'} · kill rate {v.kill_rate:.2f} of {v.mutants} mutants"
            f" · z3 findings 0{f' (goals outside the encoding: {v.notes})' if v.notes else ''} · gold reward 1"
            f" · oracle pass {ro.oracle.result.reward:.0f} · pass rate {ro.pass_rate:.2f} · signature {d.signature()}"]


def save(engine, batch: Batch) -> None:
    """Append the batch's kept tasks, dialogues and records to the run's outputs."""
    out, r = engine.out, batch.round
    tasks_file = out / "tasks" / f"round_{r}.eig"
    if batch.task_chunks:
        if not tasks_file.exists():
            batch.task_chunks.insert(0, f"# Tasks kept by `eigendsl synth` in round {r}.\n" + engine.verifier.header(tasks_file))
        append(tasks_file, batch.task_chunks)
    append(out / "sft.jsonl", [json.dumps(x, ensure_ascii=False) + "\n" for x in batch.sft])
    append(out / "user_sft.jsonl", [json.dumps(x, ensure_ascii=False) + "\n" for x in batch.user_sft])
    append(out / "rl.jsonl", [json.dumps(x) + "\n" for x in batch.rl])
    engine.progress({"round": r, "stage": "saved", **engine.counts(r)})


def append(path: Path, chunks: list[str]) -> None:
    if not chunks:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("".join(chunks))
        fh.flush()
        os.fsync(fh.fileno())

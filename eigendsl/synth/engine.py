"""The synthesis engine: rounds of plan -> write -> verify -> roll out -> reflect, resumable.

Everything a run decides is a function of its configuration and of the state saved after
each batch (kept signatures, plan weights, counters, output sizes), and each batch draws from
its own random stream (seed, round, batch), so a killed run rerun with the same command
continues at the batch it was in and ends with the kept set an uninterrupted run keeps.
Outputs are appended batch by batch; on resume anything written after the last saved state
is cut off.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections import Counter
from pathlib import Path
from typing import Callable

from pydantic import BaseModel, ConfigDict, Field

from ..files import write_atomic
from ..interop.task_source import TaskSourceError
from ..interop.task_source import domain_source as source_of
from ..compiler import load_domain
from . import graph as tool_graph
from .operators import Writer
from .plans import Plan, enumerate_plans
from .pool import PoolFailure, VerifyPool, default_workers
from . import quality
from .portable import NotPortable, copy_domain, task_files
from .reflect import GROUPS, group_rates, history, quality_weights, reflect, steer_shares
from .render import Call, Draft, meaning
from .state import problem as state_problem
from .stages import run_batch
from .verify import Verifier

VERSION = 1


class SynthProblem(Exception):
    """A run that cannot start: a bad target, a changed configuration, an unusable folder."""


class SynthConfig(BaseModel):
    """Every knob of a run. Those marked `resumable=False` in DECIDING change the kept set."""

    model_config = ConfigDict(extra="forbid")
    target: str = Field(description="The domain: an .eig file or a compiled folder.")
    db: str | None = None
    user_db: str | None = None
    rounds: int = Field(3, ge=1, le=100)
    plans: int = Field(64, ge=1, le=10000, description="Plans per run (non-overlapping).")
    tasks: int = Field(200, ge=1, le=1_000_000, description="How many tasks to keep.")
    seed: int = 0
    batch: int = Field(100, ge=1, le=2000, description="Drafts verified together (one compile).")
    kill_rate: float = Field(0.8, ge=0.0, le=1.0)
    rollouts: int = Field(1, ge=1, le=64, description="Episodes per kept task for a model agent.")
    dialogues: int = Field(1, ge=1, le=1000, description="SFT dialogues per kept task without model roles (oracle variants).")
    multi_share: float = Field(0.45, ge=0.0, le=1.0, description="Share of drafts aimed at multi-intent plans.")
    refusal_share: float = Field(0.2, ge=0.0, le=1.0, description="Share aimed at forbid or transfer plans.")
    attempts_factor: float = Field(4.0, ge=1.0, description="A round stops after this many attempts per task it aims to keep.")
    concurrency: int = Field(4, ge=1, le=256)
    workers: int | None = Field(None, ge=1, le=64, description="Processes verifying drafts (default: the usable CPUs, at most 8).")
    writer: str = "offline"
    critic: str = "offline"
    agent: str = "offline"
    user: str = "offline"
    reflector: str = "offline"
    planner: str = "offline"
    paraphraser: str = "offline"
    base_url: str | None = None
    api_key: str | None = None
    repairs: int = Field(2, ge=0, le=10)

    def deciding(self) -> dict:
        """What decides the kept set (not concurrency or workers, not the endpoint's key)."""
        # an offline paraphraser (the default) leaves the hash of runs made before the role existed as it was
        return self.model_dump(exclude={"concurrency", "workers", "api_key", *(("paraphraser",) if self.paraphraser == "offline" else ())})


def config_hash(config: SynthConfig, source_text: str) -> str:
    body = json.dumps({"config": config.deciding(), "source": hashlib.sha256(source_text.encode()).hexdigest(), "version": VERSION}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def domain_source(target: Path) -> Path:
    try:
        return source_of(target)
    except TaskSourceError as e:
        raise SynthProblem(str(e)) from None


class Engine:
    def __init__(self, config: SynthConfig, out: Path, fresh: bool = False, progress: Callable[[dict], None] | None = None,
                 models=None):
        self.config = config
        self.out = Path(out)
        self.progress = progress or (lambda info: None)
        target = Path(config.target)
        if not target.exists():
            raise SynthProblem(f"no such domain: {target}")
        self.source = domain_source(target)
        from ..syntax.diagnostics import CompileError

        try:
            self.domain = load_domain(self.source, config.db, config.user_db)
        except CompileError as e:
            raise SynthProblem(f"{self.source} does not compile: {e}") from None
        except Exception as e:  # DomainLoadError and friends: bad data files
            raise SynthProblem(str(e)) from None
        self.name = self.domain.ir.name
        self.hash = config_hash(config, self.source.read_text(encoding="utf-8"))
        self.writer = Writer(self.domain)
        self.graph = tool_graph.build(self.domain.ir)
        # what the quality figures read: the domain's tool language and ids, the id kinds its own
        # tasks hand their users, and (None until the guards declare it) each guard's outcome
        self.lexicon = quality.Lexicon.of(self.domain)
        # the id kinds a customer has: the domain's declared holdings, else what its own tasks hand their users
        self.held = (quality.held_from(self.domain.words.holds, self.lexicon) if self.domain.words.holds
                     else quality.held_kinds([quality.Scenario.of(t, "allow") for t in self.domain.ir.tasks], self.lexicon))
        # what a violated guard declares (refuse or transfer), by policy and tool; a policy with
        # guards of both outcomes on one tool says nothing here (the label's basis falls back to the gold)
        outcomes: dict[tuple[str, str], set[str]] = {}
        for p in self.domain.ir.policies:
            for g in p.guards:
                outcomes.setdefault((p.name, g.tool), set()).add(str(g.outcome))
        self.declared: quality.Declared | None = lambda policy, tool: next(iter(outcomes.get((policy, tool), ())), None) \
            if len(outcomes.get((policy, tool), ())) == 1 else None
        self.masked_seen: set[str] | None = None
        self.models = models
        self.tools = self.domain.tool_schemas("agent")
        self.user_tools = self.domain.tool_schemas("user")
        self.state = self.open(fresh)
        try:  # kept task files import this copy, so the output folder stands on its own
            portable = copy_domain(self.source, self.out / "tasks", config.db, config.user_db)
        except (NotPortable, OSError) as e:
            raise SynthProblem(f"cannot copy the domain beside the tasks: {getattr(e, 'strerror', None) or e}") from None
        self.verifier = Verifier(self.domain, portable, config.db, config.user_db, config.kill_rate)
        self.workers = config.workers or default_workers()
        self.pool = VerifyPool(self.verifier, self.source, self.workers) if self.workers > 1 else None

    # ------------------------------------------------------------ state
    def open(self, fresh: bool) -> dict:
        path = self.out / "state.json"
        if path.is_file() and not fresh:
            try:
                state = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                state = None
            damage = state_problem(state)
            if damage:  # never cut kept outputs back by a state that cannot say what they are
                raise SynthProblem(f"{path} is damaged; rerun with --fresh to start again ({damage})")
            if state.get("config_hash") != self.hash:
                raise SynthProblem(f"{self.out} holds a run with another configuration (or domain source); "
                                   "use the same options to resume, another --out, or --fresh to start again")
            self.truncate(state)
            return state
        if fresh and self.out.exists():
            for name in ("state.json", "sft.jsonl", "user_sft.jsonl", "rl.jsonl", "report.json"):
                (self.out / name).unlink(missing_ok=True)
            # only what a run writes: another file in OUT (notes, a folder) is not a run's to delete
            for f in task_files(self.out / "tasks") + sorted((self.out / "prompts").glob("*_v*.md")):
                if f.is_file():
                    f.unlink()
        elif self.out.exists() and any((self.out / n).exists() for n in ("sft.jsonl", "tasks")):
            raise SynthProblem(f"{self.out} holds outputs but no state.json; use --fresh to start again")
        plans = enumerate_plans(self.writer, self.graph, self.config.plans, self.config.seed)
        if not plans:
            raise SynthProblem(f"domain {self.name} has no task with a write in its gold actions to start from")
        return {"config_hash": self.hash, "config": self.config.deciding(), "round": 1, "batch": 0,
                "plans": [p.model_dump() for p in plans], "weights": {}, "retired": [], "op_weights": {}, "quality": {},
                "signatures": [], "kept": 0, "rounds": [], "sizes": {}, "files": [], "model_rejections": [],
                "started": time.time(), "seconds": 0.0, "done": False}

    def truncate(self, state: dict) -> None:
        """Cut outputs back to what the saved state accounts for."""
        for name, size in state["sizes"].items():
            path = self.out / name
            if not path.is_file() or path.stat().st_size < size:
                raise SynthProblem(f"{path} is {'shorter than' if path.is_file() else 'missing from'} the run that "
                                   f"state.json records ({size} bytes): restore it, or rerun with --fresh to start again")
            if path.stat().st_size > size:
                with open(path, "r+b") as fh:
                    fh.truncate(size)
        known = set(state["sizes"])
        for f in task_files(self.out / "tasks"):  # a round file the state does not know yet: a crash cut it short
            if f"tasks/{f.name}" not in known and f.is_file():
                f.unlink()

    def save(self) -> None:
        sizes = {}
        for path in [self.out / n for n in ("sft.jsonl", "user_sft.jsonl", "rl.jsonl")] + task_files(self.out / "tasks"):
            if path.is_file():
                sizes[str(path.relative_to(self.out))] = path.stat().st_size
        self.state["sizes"] = sizes
        write_atomic(self.out / "report.json", [json.dumps(self.report(), indent=1)])
        write_atomic(self.out / "state.json", [json.dumps(self.state)])

    # ------------------------------------------------------------ the loop
    def plans(self) -> list[Plan]:
        return [Plan.model_validate(p) for p in self.state["plans"]]

    def run(self) -> dict:
        try:
            return self.rounds()
        except PoolFailure as e:
            raise SynthProblem(str(e)) from None
        finally:
            if self.pool is not None:
                self.pool.close()

    def rounds(self) -> dict:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "tasks").mkdir(exist_ok=True)
        c = self.config
        clock, cpu = time.perf_counter(), time.process_time()
        while not self.state["done"]:
            r = self.state["round"]
            if r > c.rounds:
                self.state["done"] = True
                break
            rounds_left = c.rounds - r + 1
            stats = self.round_stats(r)
            if stats.get("target") is None:
                if self.models is not None:
                    self.models.plan_round(self, r)
                stats["target"] = math.ceil(max(0, c.tasks - self.state["kept"]) / rounds_left)
                stats["budget"] = max(c.batch, int(stats["target"] * c.attempts_factor))
            if stats["kept"] >= stats["target"] or stats["attempted"] >= stats["budget"]:
                self.finish_round(r)
                continue
            run_batch(self, r, self.state["batch"])
            self.state["batch"] += 1
            self.state["seconds"] += time.perf_counter() - clock
            workers_cpu = self.pool.take_cpu() if self.pool is not None else 0.0
            self.state["cpu_seconds"] = self.state.get("cpu_seconds", 0.0) + time.process_time() - cpu + workers_cpu
            clock, cpu = time.perf_counter(), time.process_time()
            self.save()
        self.save()
        return self.report()

    def round_stats(self, r: int) -> dict:
        while len(self.state["rounds"]) < r:
            self.state["rounds"].append({"round": len(self.state["rounds"]) + 1, "attempted": 0, "kept": 0, "rejections": {},
                                         "plans": {}, "seconds": {}, "target": None, "passed": 0, "rolled": 0,
                                         "workflows": [], "branches": [], "reflection": [], "quality": quality.new_tally()})
        return self.state["rounds"][r - 1]

    def finish_round(self, r: int) -> None:
        stats = self.round_stats(r)
        plans = self.plans()
        rounds = [s["plans"] for s in self.state["rounds"][:r]]
        before, draws, last = (self.state["weights"], self.state["retired"]), None, r == self.config.rounds
        # the scenarios' quality scales each plan's draws; it does not change with the draws ahead
        self.state["quality"], quality_updates = quality_weights(rounds, self.state.get("quality", {}))
        # first each plan's yield on its next draft, then averaged over the drafts the shares
        # and weights that gives are expected to draw from it next round
        for _ in range(1 if last else 2):
            weights, retired, updates, op_weights = reflect(rounds, *before, {p.id: p.operator for p in plans}, draws)
            self.state["weights"], self.state["retired"], self.state["op_weights"] = weights, retired, op_weights
            if not last:
                shares, shares_update, draws = self.steer(rounds, plans)
        updates += quality_updates
        if not last:
            self.state["shares"] = shares
            updates.append(shares_update)
        if self.models is not None:
            updates += self.models.reflect_round(self, r, stats)
        stats["reflection"] = updates
        self.state["round"] = r + 1
        self.state["batch"] = 0
        self.save()

    def configured_shares(self) -> dict[str, float]:
        shares = {"multi": self.config.multi_share, "refusal": self.config.refusal_share}
        shares["single"] = max(0.0, 1.0 - shares["multi"] - shares["refusal"])
        return shares

    def weight(self, plan: Plan) -> float:
        """The plan's expected yield, as reflection set it."""
        return self.state["weights"].get(plan.id, self.state["op_weights"].get(plan.operator, 1.0))

    def draw_weight(self, plan: Plan) -> float:
        """How often the plan is drawn within its group: its expected yield times the quality of its scenarios."""
        return self.weight(plan) * self.state.get("quality", {}).get(plan.id, 1.0)

    def steer(self, rounds: list[dict], plans: list[Plan]) -> tuple[dict[str, float], dict, dict[str, float]]:
        """The next round's draft shares per group, from the weights reflection just set, and
        the drafts each plan can expect from them."""
        active = [p for p in plans if p.id not in set(self.state["retired"])]
        yields, weight = {}, {}
        for g in GROUPS:
            weight[g] = sum(self.draw_weight(p) for p in active if p.group() == g)
            if weight[g] > 0:  # draws within a group follow the draw weights, so its yield is the mean they weight
                yields[g] = sum(self.draw_weight(p) * min(1.0, self.weight(p)) for p in active if p.group() == g) / weight[g]
        so_far = {"multi_write": sum(s.get("multi_write", 0) for s in self.state["rounds"]),
                  "refusal": sum(s.get("kinds", {}).get(k, 0) for s in self.state["rounds"] for k in ("refusal", "transfer"))}
        target = math.ceil(max(0, self.config.tasks - self.state["kept"]) / (self.config.rounds - len(rounds)))
        shares, update = steer_shares(self.configured_shares(), yields, group_rates(history(rounds), {p.id: p.group() for p in plans}),
                                      so_far, self.state["kept"], target)
        attempts = target / max(0.05, sum(shares[g] * yields[g] for g in shares))
        draws = {p.id: attempts * shares.get(p.group(), 0.0) * self.draw_weight(p) / weight[p.group()] for p in active if p.group() in shares}
        return shares, update, draws

    def choose(self, rng: random.Random, n: int) -> list[Plan]:
        """n plans, by weight, with the round's shares of multi-intent and refusal plans."""
        stats = self.round_stats(self.state["round"])["plans"]
        spent = {pid for pid, s in stats.items() if s["attempted"] >= 20 and s["kept"] < 0.1 * s["attempted"]}
        active = [p for p in self.plans() if p.id not in set(self.state["retired"]) and p.id not in spent]
        if not active:
            return []
        groups = {g: [p for p in active if p.group() == g] for g in GROUPS}
        shares = self.state.get("shares") or self.configured_shares()
        names = [g for g in groups if groups[g] and shares.get(g, 0.0) > 0] or [g for g in groups if groups[g]]
        total = sum(shares.get(g, 0.0) for g in names) or 1.0
        out = []
        for _ in range(n):
            g = rng.choices(names, [shares.get(x, 0.0) / total or 1.0 for x in names])[0]
            pool = groups[g]
            out.append(rng.choices(pool, [self.draw_weight(p) for p in pool])[0])
        return out

    def batch_size(self, r: int) -> int:
        """Drafts for the next batch: about what the round still needs at the yield seen so far."""
        stats = self.round_stats(r)
        seen = [(s["kept"], s["attempted"]) for s in self.state["rounds"][:r] if s["attempted"]]
        kept, attempted = (stats["kept"], stats["attempted"]) if stats["attempted"] else (seen[-1] if seen else (1, 3))
        estimate = max(0.05, kept / attempted if attempted else 0.3)
        need = max(0, stats["target"] - stats["kept"])
        return max(8, min(self.config.batch, math.ceil(need / estimate * 1.1)))

    def describe(self, d: Draft, task) -> None:
        """Fill a model-written draft's summary from its compiled task."""
        d.gold = tuple(Call(c.actor, c.name, dict(c.args), c.compare) for c in task.gold or ())
        d.workflow = tuple(c.name for c in d.gold)
        d.writes = sum(self.writer.is_write(c) for c in d.gold)
        d.branch = "allow" if d.writes else ("transfer" if any(c.name == self.writer.transfer for c in d.gold) else "forbid")
        d.reward = tuple(task.reward)
        d.meta["meaning"] = meaning(task)  # its signature from now on (rl.jsonl, synth-merge)

    # ------------------------------------------------------------ bookkeeping
    def measure(self, stats: dict, plan: str, v) -> None:
        """Count a kept task in the round's quality figures and charge its plan with what it is."""
        t = time.perf_counter()
        if self.masked_seen is None:  # every scenario kept so far, once masked (rebuilt on resume)
            self.masked_seen = {k for s in self.state["rounds"] for k in s.get("quality", {}).get("masked", {})}
        verdict = quality.measure(quality.Scenario.of(v.task, v.draft.branch, v.draft.guards), self.lexicon, self.held, self.declared)
        quality.count(stats.setdefault("quality", quality.new_tally()), verdict)
        flags = stats["plans"][plan].setdefault("quality", {})
        for k, n in verdict.flags(verdict.key in self.masked_seen).items():
            flags[k] = flags.get(k, 0) + n
        self.masked_seen.add(verdict.key)
        stats["seconds"]["quality"] = stats["seconds"].get("quality", 0.0) + time.perf_counter() - t

    def count(self, stats: dict, plan: str, what: str, n: int = 1) -> None:
        p = stats["plans"].setdefault(plan, {"attempted": 0, "kept": 0})
        p[what] = p.get(what, 0) + n
        if what == "attempted":
            stats["attempted"] += n

    def reject(self, stats: dict, plan: str, reason: str, detail: str, verdict=None) -> None:
        if verdict is not None and verdict.draft.text is not None and self.models is not None:  # a model's task: say which
            self.models.rejected(self, "writer", reason, detail, task=verdict.task_id, name=verdict.draft.meta.get("name"))
        key = reason if reason != "writer" else "writer: " + detail.split(":")[0][:60]
        if quality.is_undetermined(reason, detail):
            stats.setdefault("quality", quality.new_tally())["undetermined"] += 1
        stats["rejections"][key] = stats["rejections"].get(key, 0) + 1
        p = stats["plans"].setdefault(plan, {"attempted": 0, "kept": 0})
        p.setdefault("rejections", {})
        p["rejections"][key] = p["rejections"].get(key, 0) + 1

    def counts(self, r: int) -> dict:
        s = self.round_stats(r)
        return {"kept": self.state["kept"], "target": self.config.tasks, "attempted": s["attempted"], "round_kept": s["kept"]}

    def report(self) -> dict:
        rounds = []
        for s in self.state["rounds"]:
            a = s["attempted"]
            rounds.append({
                "round": s["round"], "attempted": a, "kept": s["kept"], "yield": round(s["kept"] / a, 4) if a else None,
                "rejections": dict(sorted(s["rejections"].items(), key=lambda kv: -kv[1])),
                "pass_rate": round(s["passed"] / s["rolled"], 4) if s["rolled"] else None,
                "attributed": s.get("attributed", {}), "user_attributed": s.get("user_attributed", 0),
                "diversity": {"workflows": len(s["workflows"]), "policy_branches": len(s["branches"])},
                "kinds": s.get("kinds", {}), "multi_write": s.get("multi_write", 0), "write_tools": s.get("write_tools", {}),
                "seconds": {k: round(v, 3) for k, v in s["seconds"].items()}, "reflection": s["reflection"],
                "verify_seconds": {k: round(v, 3) for k, v in s.get("verify", {}).items()},
                "plans": s["plans"], "quality": quality.figures(s.get("quality") or quality.new_tally()),
            })
        kept = self.state["kept"]
        branches = sorted({b for s in self.state["rounds"] for b in s["branches"]})
        guards = sorted({f"{p.name}/{g.tool}" for p in self.domain.ir.policies for g in p.guards})
        seen = {b.rsplit(":", 1)[0] + ":" + b.rsplit(":", 1)[1] for b in branches}
        write_tools = tool_graph.write_tools(self.graph)
        kept_writes = set().union(*[set(s.get("write_tools", {})) for s in self.state["rounds"]]) if self.state["rounds"] else set()
        kinds = Counter()
        for s in self.state["rounds"]:
            kinds.update(s.get("kinds", {}))
        multi = sum(s.get("multi_write", 0) for s in self.state["rounds"])
        seconds = sum(sum(s["seconds"].values()) for s in self.state["rounds"])
        return {
            "domain": self.name, "config": self.state["config"], "graph": tool_graph.summary(self.graph),
            "plans": len(self.state["plans"]), "retired": self.state["retired"], "kept": kept,
            "attempted": sum(s["attempted"] for s in self.state["rounds"]),
            "rounds": rounds,
            "coverage": {
                "write_tools": {"kept": sorted(kept_writes),
                                "missing": sorted(t for t in set(write_tools) - kept_writes if self.domain.words.asks_for(t)),
                                "not_asked": sorted(t for t in write_tools if not self.domain.words.asks_for(t))},
                "guard_branches": {"kept": branches,
                                   "missing": [f"{g}:{b}" for g in guards for b in ("allow", "forbid") if f"{g}:{b}" not in seen]},
                "multi_write_share": round(multi / kept, 4) if kept else None,
                "refusal_or_transfer_share": round((kinds["refusal"] + kinds["transfer"]) / kept, 4) if kept else None,
                "kinds": dict(kinds),
            },
            "quality": {**quality.figures(quality.merged([s.get("quality") or {} for s in self.state["rounds"]])),
                        "held": sorted(self.held), "declared_outcomes": self.declared is not None},
            "model_rejections": self.state["model_rejections"][-200:],
            "seconds": round(self.state["seconds"], 2), "stage_seconds": round(seconds, 2),
            "kept_per_minute": round(kept / self.state["seconds"] * 60, 1) if self.state["seconds"] else None,
            "cpu_seconds": round(self.state.get("cpu_seconds", 0.0), 2), "workers": self.workers,
            "kept_per_cpu_minute": round(kept / self.state["cpu_seconds"] * 60, 1) if self.state.get("cpu_seconds") else None,
        }


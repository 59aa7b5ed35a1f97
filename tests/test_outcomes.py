"""Declared outcomes: a guard says whether its violation is refused or transferred; the runtime's
verdicts, the synthesiser's labels and the rewards of no-write tasks follow that declaration."""

from __future__ import annotations

from pathlib import Path

from conftest import ROOT

from eigendsl import ir
from eigendsl.compiler import compile_file, load_domain
from eigendsl.episode.agents import OracleAgent
from eigendsl.episode.episode import run_episode
from eigendsl.episode.users import ScriptedUser
from eigendsl.ir.json_form import domain_from_json, to_json
from eigendsl.runtime.environment import CompiledDomain
from eigendsl.synth.engine import Engine, SynthConfig
from eigendsl.synth.outcomes import declared_outcome, label_agrees, label_of
from eigendsl.synth.portable import task_files

SOURCE = '''
domain d {
  transfer_tool = "handover"
  transfer_message = "PLEASE HOLD ON."
}
tool cancel(id: str, flown: bool) -> str reads "Look at a booking." { return id }
tool handover(summary: str) -> str pure "Hand over to a person." { return "ok" }
policy started "A trip already under way goes to a person."
  guard cancel { not flown } else transfer "A person handles trips already started."
policy rules "Booking x cannot be cancelled."
  guard cancel { id != "x" }
policy named "Booking y cannot be cancelled either."
  guard cancel { id != "y" } else refuse "Booking y is final."
'''


def small(tmp_path: Path):
    path = tmp_path / "d.eig"
    path.write_text(SOURCE)
    c = compile_file(path)
    assert c.ok, [d.message for d in c.diagnostics if d.is_error]
    return c


def test_guards_declare_their_outcome_in_the_ir_and_its_json(tmp_path):
    c = small(tmp_path)
    guards = {p.name: p.guards[0] for p in c.domain.policies}
    assert (guards["started"].outcome, guards["started"].reason) == (ir.Outcome.TRANSFER, "A person handles trips already started.")
    assert (guards["rules"].outcome, guards["rules"].reason) == (ir.Outcome.REFUSE, None)  # the default
    assert (guards["named"].outcome, guards["named"].reason) == (ir.Outcome.REFUSE, "Booking y is final.")
    back = domain_from_json(to_json(c.domain))
    assert [(g.outcome, g.reason) for p in back.policies for g in p.guards] == \
        [(g.outcome, g.reason) for p in c.domain.policies for g in p.guards]


def test_runtime_verdicts_carry_the_declared_outcome(tmp_path):
    domain = CompiledDomain.from_compilation(small(tmp_path))
    env = domain.environment({})
    both = env.call("cancel", {"id": "x", "flown": True})
    started = next(v for v in both.guards if v.policy == "started")
    assert (started.verdict, started.outcome) == ("violated", "transfer")
    assert started.to_json()["outcome"] == "transfer" and started.to_json()["reason"] == "A person handles trips already started."
    assert declared_outcome(domain, both) == "transfer"  # a transfer wins over a refusal: a person must look
    assert declared_outcome(domain, env.call("cancel", {"id": "y", "flown": False})) == "refuse"
    ok = env.call("cancel", {"id": "z", "flown": False})
    assert declared_outcome(domain, ok) is None and all("outcome" not in v.to_json() for v in ok.guards)
    # a trace entry's JSON, and one written before outcomes were declared (looked up in the domain)
    entry = {"name": "cancel", "guards": [v.to_json() for v in both.guards]}
    assert declared_outcome(domain, entry) == "transfer"
    old = {"name": "cancel", "guards": [{k: x for k, x in v.to_json().items() if k not in ("outcome", "reason")} for v in both.guards]}
    assert declared_outcome(domain, old) == "transfer"


def test_airline_transfers_started_trips_and_refuses_the_other_cancellations():
    domain = load_domain(ROOT / "compiled" / "airline")
    seen = set()
    for rid in sorted(domain.environment({}).state.keys("reservations"))[:400]:
        result = domain.environment({}).call("cancel_reservation", {"reservation_id": rid})
        outcome = declared_outcome(domain, result)
        started = any(v.policy == "started_trips" and v.verdict == "violated" for v in result.guards)
        assert (outcome == "transfer") == started, rid
        seen.add(outcome)
    assert {"refuse", "transfer"} <= seen


def test_synthesized_labels_agree_with_the_declaration(tmp_path):
    out = tmp_path / "synth"
    report = Engine(SynthConfig(target=str(ROOT / "domains" / "airline.eig"), tasks=40, batch=40, seed=11), out).run()
    assert report["kept"] >= 40
    domain = load_domain(ROOT / "domains" / "airline.eig")
    labels, agreed = [], 0
    for path in task_files(out / "tasks"):
        c = compile_file(path)
        assert c.ok
        for task in c.domain.tasks:
            label = label_of(domain, task)
            if label is None:
                continue
            labels.append(label)
            assert label_agrees(domain, task) is True, task.id
            agreed += 1
            assert ir.RewardComponent.REPLY in task.reward and task.judge  # told, not silent
            if label == "transfer":
                assert "YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON." in task.communicate
    assert agreed == len(labels) > 0 and "refuse" in labels


class SilentAgent:
    """Plays the gold reads of a task, then ends its turn with no word."""

    def reset(self, task, domain, seed):
        self.plan = [c for c in task.gold or ()]
        self.calls = 0

    def respond(self, messages, tools):
        if self.plan:
            step = self.plan.pop(0)
            self.calls += 1
            return {"role": "assistant", "content": None,
                    "tool_calls": [{"id": f"s{self.calls}", "name": step.name, "arguments": dict(step.args)}]}
        return {"role": "assistant", "content": ""}


def test_refusal_pays_the_oracle_and_not_the_silent_agent():
    domain = load_domain(ROOT / "compiled" / "airline")
    task = next(t for t in domain.ir.tasks if t.id == "refuse-basic-economy-cancel")
    oracle = run_episode(domain, task, OracleAgent(), ScriptedUser())
    assert oracle.reward == 1.0, oracle.breakdown.details
    silent = run_episode(domain, task, SilentAgent(), ScriptedUser())
    assert silent.reward == 0.0 and silent.breakdown.components["REPLY"] == 0.0
    assert silent.breakdown.components["NL_ASSERTION"] is None  # the judge's part needs a judge


def test_transfer_pays_the_oracle_and_not_the_silent_agent():
    domain = load_domain(ROOT / "compiled" / "telecom")
    task = next(t for t in domain.ir.tasks if t.id == "refuse-resume-after-contract-end")
    assert run_episode(domain, task, OracleAgent(), ScriptedUser()).reward == 1.0
    silent = run_episode(domain, task, SilentAgent(), ScriptedUser())
    assert silent.reward == 0.0 and silent.breakdown.components["COMMUNICATE"] == 0.0


def test_reply_needs_words_after_the_last_call():
    from eigendsl.verify.reward import TaskChecker

    domain = load_domain(ROOT / "compiled" / "airline")
    task = next(t for t in domain.ir.tasks if t.id == "refuse-basic-economy-cancel")
    checker = TaskChecker(domain, task)
    env = checker.replay()
    said = ["Basic economy booked two weeks ago cannot be cancelled for a change of plan."]
    assert checker.score(env, said, replied=True).reward == 1.0
    late = checker.score(env, said, replied=False)  # it spoke, then called a tool and fell silent
    assert late.reward == 0.0 and late.components["REPLY"] == 0.0
    assert checker.score(env, []).components["REPLY"] == 0.0  # no order given: any word counts, and there is none
    assert checker.score(env, checker.oracle_messages()).reward == 1.0


def test_scored_trajectories_need_the_reply_after_the_reads():
    from eigendsl.interop.score import Scorer

    domain = load_domain(ROOT / "compiled" / "airline")
    scorer = Scorer(domain, domain.ir.tasks)
    task = next(t for t in domain.ir.tasks if t.id == "refuse-basic-economy-cancel")
    reads = []
    for i, c in enumerate(task.gold):
        reads += [{"role": "assistant", "content": None, "tool_calls": [{"id": f"c{i}", "name": c.name, "arguments": dict(c.args)}]},
                  {"role": "tool", "id": f"c{i}", "content": "{}"}]
    opening = [{"role": "assistant", "content": "Hi! How can I help you today?"}, {"role": "user", "content": "Cancel my trip."}]
    record = {"task_id": task.id, "termination_reason": "user_stop"}
    silent = scorer.score({**record, "messages": opening + reads})
    told = scorer.score({**record, "messages": opening + reads + [{"role": "assistant", "content": "I cannot cancel it: basic economy."}]})
    assert silent["components"]["REPLY"] == 0.0 and silent["reward"] == 0.0
    assert told["components"]["REPLY"] == 1.0 and told["reward"] == 1.0

"""The quality figures of synthesized tasks (synth/quality.py) and the reflection that steers by them:
tool language, ids a customer would not have, identical masked scenarios, undetermined choices,
labels against the guards; a plan whose tasks read badly is drawn less."""

from __future__ import annotations

import json
import random

import pytest

from conftest import ROOT

from eigendsl.compiler import load_domain
from eigendsl.synth import quality as q
from eigendsl.synth.engine import Engine, SynthConfig
from eigendsl.synth.reflect import QUALITY_FLOOR, quality_weights, reflect


@pytest.fixture(scope="module")
def airline():
    domain = load_domain(ROOT / "domains" / "airline.eig")
    return domain, q.Lexicon.of(domain)


def scenario(reason: str, known: str = "", knows: dict | None = None, branch: str = "allow", gold=(), guards=()) -> q.Scenario:
    return q.Scenario({"reason": reason, "known": known, "persona": "A calm traveller."}, knows or {}, tuple(gold), branch, tuple(guards))


def some(ids: dict, kind: str, n: int = 2) -> list[str]:
    return [v for v, k in ids.items() if k == kind][:n]


def test_tool_descriptions_in_the_scenario_are_tool_language(airline):
    domain, lex = airline
    tool = next(t for t in domain.ir.tools if t.doc and len(t.doc.split()) >= 8)
    templated = scenario(f"You want this done: {tool.doc[0].lower()}{tool.doc[1:]}")
    assert q.tool_language(templated, lex) is not None
    jargon = scenario("You want to add bags.", known="Your nonfree baggages is 2.")
    assert q.tool_language(jargon, lex) == "nonfree baggages"
    plain = scenario("Your plans changed and you no longer need the trip to Orlando next Friday; you want your money back.")
    assert q.tool_language(plain, lex) is None
    # the domain's own hand-written users never speak the tools' language
    assert [t.id for t in domain.ir.tasks if q.tool_language(q.Scenario.of(t, "allow"), lex)] == []


def test_ids_of_kinds_customers_do_not_hold_are_found_in_text_and_knows(airline):
    domain, lex = airline
    user, other = some(lex.ids, "users")
    reservation = some(lex.ids, "reservations", 1)[0]
    payment = some(lex.ids, "users.payment_methods", 1)[0]
    held = q.held_kinds([q.Scenario.of(t, "allow") for t in domain.ir.tasks], lex)
    assert {"users", "reservations"} <= held  # what the hand-written tasks hand their users
    s = scenario(f"You want to change reservation {reservation}.", known=f"Your user id is {user}.", knows={"payment_id": payment})
    assert q.ids_in(s, lex) == [(reservation, "reservations"), (user, "users"), (payment, "users.payment_methods")]
    assert "users.payment_methods" in held and q.foreign_ids(s, lex, held) == []  # the seeds hand users a payment id
    assert q.foreign_ids(s, lex, {"users"}) == [reservation, payment]  # a narrower declared set: the domain's `holds`
    # a domain's declared holdings, by kind or by the id field that holds them
    assert q.held_from(["user_id", "reservations", "email"], lex) == {"users", "reservations"}
    assert q.held_from(["payment_id"], lex) == {"users.payment_methods"}
    # a hand-written task holds no id of a kind that the hand-written tasks do not hold
    assert all(not q.foreign_ids(q.Scenario.of(t, "allow"), lex, held) for t in domain.ir.tasks)


def test_masking_ids_numbers_names_and_dates_finds_one_scenario_twice(airline):
    _, lex = airline
    (u1, u2), (r1, r2) = some(lex.ids, "users"), some(lex.ids, "reservations")
    a = scenario(f"You want 2 more bags on {r1}. You fly from Boston on 2024-05-14.", known=f"You are Ana Ruiz, user id {u1}.")
    b = scenario(f"You want 3 more bags on {r2}. You fly from Denver on 2024-06-02.", known=f"You are Lee Chan, user id {u2}.")
    c = scenario(f"Your daughter is coming along, so the trip {r2} needs one more checked bag.", known=f"You are Lee Chan, user id {u2}.")
    assert q.masked(a, lex) == q.masked(b, lex) == "you want <n> more bags on <id> . you fly from <name> on <n> . you are <name> <name> , user id <id> ."
    assert q.masked_key(a, lex) != q.masked_key(c, lex)
    tally = q.new_tally()
    for s in (a, b, c):
        q.count(tally, q.measure(s, lex, {"users", "reservations"}))
    figures = q.figures(tally)
    assert figures["identical_masked"] == round(2 / 3, 4) and figures["distinct_masked"] == 2
    assert figures["identical_masked_reason"] == round(2 / 3, 4)
    assert figures["foreign_ids"] == 0.0 and figures["scenarios"] == 3


def test_labels_agree_with_declared_outcomes_or_else_with_the_gold(airline):
    _, lex = airline
    transfer = next(iter(lex.transfers))
    write = sorted(lex.writes)[0]
    reads = (("agent", "get_user_details"),)
    assert q.label(scenario("x"), lex) is None  # a change: no refusal or transfer label
    assert q.label(scenario("x", branch="transfer", gold=reads + (("agent", transfer),)), lex) == (True, "gold")
    assert q.label(scenario("x", branch="transfer", gold=reads), lex) == (False, "gold")
    assert q.label(scenario("x", branch="forbid", gold=reads), lex) == (True, "gold")
    assert q.label(scenario("x", branch="forbid", gold=reads + (("agent", write),)), lex) == (False, "gold")
    # with the guards' declared outcome the label is judged by the policy, not by the gold's shape
    refused = scenario("x", branch="forbid", gold=reads, guards=("cancellation/cancel_reservation:forbid",))
    said = {("cancellation", "cancel_reservation"): "transfer"}
    assert q.label(refused, lex, lambda policy, tool: said.get((policy, tool))) == (False, "declared")
    assert q.label(refused, lex, lambda policy, tool: "refuse") == (True, "declared")
    assert q.label(refused, lex, lambda policy, tool: None) == (True, "gold")  # nothing declared: the gold's shape
    tally = q.new_tally()
    q.count(tally, q.measure(refused, lex, set(), lambda policy, tool: said.get((policy, tool))))
    q.count(tally, q.measure(scenario("y", branch="transfer", gold=reads + (("agent", transfer),)), lex, set()))
    assert q.figures(tally)["label_agreement"] == 0.5 and q.figures(tally)["label_basis"] == {"declared": 1, "gold": 1}


def test_undetermined_choices_are_a_share_of_kept_tasks_and_such_rejections():
    assert q.is_undetermined("undetermined choice: flight") and q.is_undetermined("information_flow", "undetermined choice of passengers")
    assert not q.is_undetermined("duplicate", "")
    tally = q.new_tally()
    tally.update(scenarios=6, undetermined=2)
    assert q.figures(tally)["undetermined"] == 0.25
    assert q.figures(q.new_tally())["undetermined"] is None and q.figures(q.new_tally())["label_agreement"] is None
    merged = q.merged([tally, {**q.new_tally(), "scenarios": 2, "masked": {"k": 2}}])
    assert merged["scenarios"] == 8 and merged["undetermined"] == 2 and merged["masked"] == {"k": 2}


def test_a_plan_writing_templated_scenarios_is_drawn_less():
    # two plans with the same yield: one's kept tasks are tool language and repeat each other
    # once masked, the other's read as a customer writes
    rounds = [{"templated": {"attempted": 20, "kept": 10, "quality": {"tool_language": 10, "repeats": 8}},
               "plain": {"attempted": 20, "kept": 10, "quality": {"tool_language": 0, "repeats": 0}}}]
    weights, *_ = reflect(rounds, {}, [], {"templated": "retarget", "plain": "retarget"})
    assert weights["templated"] == weights["plain"]  # yield alone cannot tell them apart
    factors, updates = quality_weights(rounds, {})
    assert factors["plain"] == 1.0 and QUALITY_FLOOR <= factors["templated"] < 0.6
    update = next(u for u in updates if u["plan"] == "templated")
    assert update["action"] == "quality" and update["evidence"] == {"kept": 10, "tool_language": 10, "foreign_ids": 0, "repeats": 8,
                                                                     "label_disagrees": 0}
    assert "tool language (10 of 10)" in update["because"]
    assert not any(u["plan"] == "plain" for u in updates)  # no change, no update


def test_a_run_reports_quality_per_round_and_draws_templated_plans_less(tmp_path):
    out = tmp_path / "run"
    engine = Engine(SynthConfig(target=str(ROOT / "domains" / "airline.eig"), tasks=24, batch=24, rounds=2, seed=5, workers=1), out)
    report = engine.run()
    for r in report["rounds"]:
        f = r["quality"]
        no_write = sum(r["kinds"].get(k, 0) for k in ("refusal", "transfer"))
        assert f["scenarios"] == r["kept"] and 0.0 <= f["tool_language"] <= 1.0 and sum(f["label_basis"].values()) == no_write
    assert report["quality"]["scenarios"] == report["kept"] and "users" in report["quality"]["held"]
    factors = engine.state["quality"]
    charged = [u for r in report["rounds"] for u in r["reflection"] if u["action"] == "quality"]
    latest = {u["plan"]: u["to"] for u in charged}  # every factor is the last update's, with its evidence
    assert all(factors[pid] == to < 1.0 for pid, to in latest.items())
    assert all(f == 1.0 for pid, f in factors.items() if pid not in latest)
    assert all(u["evidence"]["kept"] >= u["evidence"]["tool_language"] for u in charged)
    # the domain's words keep offline scenarios out of tool language and free of ids customers lack
    assert report["quality"]["tool_language"] <= 0.05 and report["quality"]["foreign_ids"] <= 0.05
    # draws within a group follow yield times quality: a plan charged with worse scenarios is drawn less
    plan = next(p for p in engine.plans() if p.id == charged[0]["plan"]) if charged else engine.plans()[0]
    assert engine.draw_weight(plan) == pytest.approx(engine.weight(plan) * factors.get(plan.id, 1.0))
    state = json.loads((out / "state.json").read_text())
    assert state["quality"] == factors and all(s["quality"]["scenarios"] == s["kept"] for s in state["rounds"])
    engine.state["quality"] = {p.id: (QUALITY_FLOOR if p.id == plan.id else 1.0) for p in engine.plans()}
    engine.state["weights"] = {p.id: 0.5 for p in engine.plans()}
    engine.state["shares"] = {g: float(g == plan.group()) for g in ("multi", "refusal", "single")}
    group = [p for p in engine.plans() if p.group() == plan.group() and p.id not in engine.state["retired"]]
    # enough draws that the binomial spread (about 6% of the mean here) sits well inside the bound
    drawn = engine.choose(random.Random(0), 20000)
    expected = 20000 * QUALITY_FLOOR / (QUALITY_FLOOR + len(group) - 1)
    assert sum(p.id == plan.id for p in drawn) == pytest.approx(expected, rel=0.2)

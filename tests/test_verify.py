"""Task checkers and the analyses: planted defects are found at the right place; no false passes."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from conftest import ROOT, imported_benchmark_tasks, shared_dir, train_ids
from eigendsl.cli import main
from eigendsl.interop.conformance import read_jsonl
from eigendsl.runtime.environment import CompiledDomain
from eigendsl.compiler import load_domain
from eigendsl.verify import budget
from eigendsl.verify.mutate import mutation_score
from eigendsl.verify.reward import TaskChecker

# In the project's own airline data: theo_gupta_8245 owns 7D3OSK (basic economy, no insurance,
# booked 2024-05-09, one nonfree-free bag), paid with gift_card_8255319; credit_card_7380483.
TASKS = '''
task "add-bag" {
  user { reason "Add a checked bag to 7D3OSK; pay with the mastercard ending in 1202." knows { user_id: "theo_gupta_8245" } }
  gold {
    update_reservation_baggages(reservation_id: "7D3OSK", total_baggages: 2, nonfree_baggages: 1, payment_id: "credit_card_7380483")
  }
  goal {
    reservations["7D3OSK"].total_baggages == 2
    reservations["7D3OSK"].nonfree_baggages == 1
    reservations["7D3OSK"].payment_history[-1] == {"payment_id": "credit_card_7380483", "amount": 50}
  }
  reward { DB, GOAL }
}
'''


def domain_with(tmp_path, extra: str):
    shutil.copy(ROOT / "domains" / "airline.data.json", tmp_path / "airline.data.json")
    shutil.copy(ROOT / "domains" / "airline.words.toml", tmp_path / "airline.words.toml")
    text = (ROOT / "domains" / "airline.eig").read_text() + "\n" + extra
    (tmp_path / "airline.eig").write_text(text)
    lines = text.split("\n")
    return tmp_path / "airline.eig", lambda needle: next(i for i, line in enumerate(lines, 1) if needle in line)


def check_json(path, *extra):
    result = CliRunner().invoke(main, ["check", str(path), "--json", *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.output)


def findings(report, task_id):
    return next(t for t in report["tasks"] if t["task_id"] == task_id)["findings"]


def test_a_good_task_is_clean_and_its_checker_is_strong(tmp_path):
    path, _ = domain_with(tmp_path, TASKS)
    code, report = check_json(path, "--mutate")
    assert code == 0, report
    task = next(t for t in report["tasks"] if t["task_id"] == "add-bag")
    assert task["gold_reward"] == 1.0 and task["findings"] == []
    assert task["kill_rate"] >= 0.8


def test_contradictory_policies_are_reported_at_both_guards(tmp_path):
    path, line = domain_with(tmp_path, '''
policy never_on_mondays "Only reservations booked on a Monday may be cancelled."
  guard cancel_reservation { reservation_id == "MONDAY" }
policy only_on_mondays "Reservation MONDAY may never be cancelled."
  guard cancel_reservation { reservation_id != "MONDAY" }
''')
    code, report = check_json(path)
    assert code == 1
    conflicts = [d for d in report["diagnostics"] if "contradict" in d["message"]]
    assert {d["line"] for d in conflicts} == {line("guard cancel_reservation { reservation_id =="), line("guard cancel_reservation { reservation_id !=")}
    assert all(d["severity"] == "error" and "'never_on_mondays', 'only_on_mondays'" in d["message"] for d in conflicts)


def test_contradiction_through_state_and_functions(tmp_path):
    path, line = domain_with(tmp_path, '''
policy bags_only_shrink "Bags can only be removed."
  guard update_reservation_baggages { total_baggages < find_reservation(reservation_id).total_baggages }
''')
    code, report = check_json(path)
    assert code == 1
    conflicts = [d for d in report["diagnostics"] if "contradict" in d["message"]]
    assert {d["line"] for d in conflicts} == {line("guard update_reservation_baggages { total_baggages <"), line("r == none or total_baggages >= r.total_baggages") - 2}
    assert "'bags_only_shrink', 'checked_bags'" in conflicts[0]["message"]


def test_vacuous_unsatisfiable_and_failing_goals(tmp_path):
    path, line = domain_with(tmp_path, '''
task "bad-goals" {
  gold { cancel_reservation(reservation_id: "7D3OSK") }
  goal {
    reservations["7D3OSK"].cabin == "basic_economy"
    reservations["7D3OSK"].total_baggages > 3 and reservations["7D3OSK"].total_baggages < 2
    reservations["7D3OSK"].status == none
  }
  reward { GOAL }
}
''')
    code, report = check_json(path)
    assert code == 1
    got = {(f["kind"], f["line"]) for f in findings(report, "bad-goals")}
    assert ("goal_vacuous", line('reservations["7D3OSK"].cabin == "basic_economy"')) in got
    assert ("goal_unsatisfiable", line("total_baggages > 3 and")) in got
    assert ("goal_fails_on_gold", line("total_baggages > 3 and")) in got
    assert ("goal_fails_on_gold", line('reservations["7D3OSK"].status == none')) in got
    assert ("goal_vacuous", line('reservations["7D3OSK"].status == none')) in got


def test_goal_that_pins_nothing_gold_changed(tmp_path):
    path, line = domain_with(tmp_path, '''
task "loose-goal" {
  user { reason "Change the bags on 7D3OSK; pay with the mastercard ending in 1202." }
  gold { update_reservation_baggages(reservation_id: "7D3OSK", total_baggages: 2, nonfree_baggages: 1, payment_id: "credit_card_7380483") }
  goal { reservations["7D3OSK"].total_baggages >= 2 }
  reward { GOAL }
}
task "half-pinned" {
  user { reason "Change the bags on 7D3OSK; pay with the mastercard ending in 1202." }
  gold { update_reservation_baggages(reservation_id: "7D3OSK", total_baggages: 2, nonfree_baggages: 1, payment_id: "credit_card_7380483") }
  goal { reservations["7D3OSK"].total_baggages == 2 }
  reward { GOAL }
}
''')
    code, report = check_json(path)
    loose = findings(report, "loose-goal")
    assert [(f["kind"], f["line"]) for f in loose] == [("goal_pins_nothing", line("total_baggages >= 2 }"))]
    assert "reservations['7D3OSK'].total_baggages" in loose[0]["message"]
    half = findings(report, "half-pinned")
    assert [f["kind"] for f in half] == ["goal_underspecified", "goal_underspecified"]
    assert all(f["severity"] == "warning" for f in half)
    messages = " | ".join(f["message"] for f in half)
    assert "nonfree_baggages: the gold actions set it to 1, and another value" in messages
    assert "payment_history: they also hold if it stays as it was" in messages


def test_gold_action_violating_a_guard(tmp_path):
    path, line = domain_with(tmp_path, '''
task "cancel-basic" {
  user { fact cancel_reason = "change_of_plan" }
  gold {
    get_reservation_details(reservation_id: "7D3OSK")
    cancel_reservation(reservation_id: "7D3OSK")
  }
  reward { DB, POLICY }
}
''')
    code, report = check_json(path)
    got = findings(report, "cancel-basic")
    assert [(f["kind"], f["line"]) for f in got] == [("gold_violates_guard", line('cancel_reservation(reservation_id: "7D3OSK")'))]
    assert "violates policy 'cancellation'" in got[0]["message"] and "unless" not in got[0]["message"]
    task = next(t for t in report["tasks"] if t["task_id"] == "cancel-basic")
    assert task["gold_reward"] == 0.0  # POLICY is in the basis, and gold breaks the policy


def test_solver_timeout_is_unknown_not_a_pass(tmp_path, monkeypatch):
    monkeypatch.setattr(budget, "QUERY_RLIMIT", 100_000)
    path, line = domain_with(tmp_path, '''
policy cubes "A hard identity no call can satisfy."
  guard update_reservation_baggages {
    total_baggages > 0 and nonfree_baggages > 0 and len(payment_id) > 0
      and total_baggages * total_baggages * total_baggages + nonfree_baggages * nonfree_baggages * nonfree_baggages
        == len(payment_id) * len(payment_id) * len(payment_id)
  }
''')
    code, report = check_json(path)
    unknown = [d for d in report["diagnostics"] if "could not decide whether policy 'cubes' can allow a call of update_reservation_baggages" in d["message"]]
    assert [(d["severity"], d["line"]) for d in unknown] == [("note", line("policy cubes") + 1)]  # the added guard, not the domain's


def test_compile_writes_the_check_report(tmp_path):
    path, _ = domain_with(tmp_path, TASKS)
    result = CliRunner().invoke(main, ["compile", str(path), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "check_report.json").read_text())
    assert next(t for t in report["tasks"] if t["task_id"] == "add-bag")["gold_reward"] == 1.0


def test_reward_components(tmp_path):
    path, _ = domain_with(tmp_path, TASKS.replace("reward { DB, GOAL }", 'communicate { "150" }\n  reward { DB, GOAL, COMMUNICATE, ACTION, POLICY }'))
    domain = load_domain(path)
    checker = TaskChecker(domain, next(t for t in domain.ir.tasks if t.id == "add-bag"))
    env = checker.start()
    assert checker.score(env, []).components == {"DB": 0.0, "GOAL": 0.0, "COMMUNICATE": 0.0, "ACTION": 0.0, "POLICY": 1.0}
    env.call("update_reservation_baggages", {"reservation_id": "7D3OSK", "total_baggages": 2, "nonfree_baggages": 1, "payment_id": "credit_card_7380483"})
    good = checker.score(env, ["The total is 1,50 dollars."])
    assert good.reward == 1.0 and all(v == 1.0 for v in good.components.values())
    env.call("update_reservation_baggages", {"reservation_id": "7D3OSK", "total_baggages": 3, "nonfree_baggages": 2, "payment_id": "credit_card_7380483"})
    worse = checker.score(env, ["150"])
    assert worse.components["DB"] == 0.0 and worse.components["GOAL"] == 0.0 and worse.components["ACTION"] == 1.0


# ---------------------------------------------------------------- the benchmark's tasks


@pytest.mark.parametrize("domain", ["airline", "retail", "telecom"])
def test_benchmark_tasks_import_round_trip_and_earn_reward_on_gold(domain, tmp_path):
    from eigendsl.interop.tau2_tasks import equivalent_form, to_tau2

    shared = shared_dir(domain)
    c = imported_benchmark_tasks(domain, tmp_path)
    raw = {t["id"]: t for t in json.loads((shared / "tasks.json").read_text())}
    assert len(c.domain.tasks) == len(raw) == {"airline": 50, "retail": 114, "telecom": 114}[domain]
    for task in c.domain.tasks:
        assert equivalent_form(to_tau2(task, c.domain)) == equivalent_form(raw[task.id]), task.id
    # Gold replay earns 1 exactly where the benchmark's rules give 1 (checked on the reference's
    # own replay records for the train split: env assertions must return their expected value).
    compiled = CompiledDomain.from_compilation(c)
    expected = {r["task_id"]: r for r in read_jsonl(shared / "expected_train.jsonl")}
    train = train_ids(domain)
    for task in c.domain.tasks:
        checker = TaskChecker(compiled, task)
        reward = checker.score(checker.replay(), checker.oracle_messages()).reward
        if task.id in train:
            asserts = raw[task.id]["evaluation_criteria"].get("env_assertions") or []
            record = expected[task.id]["assertions"]
            want = 0.0 if any(r["value"] != a.get("assert_value", True) for r, a in zip(record, asserts)) else 1.0
            assert reward == want, task.id
        else:
            assert reward == 1.0, task.id


def test_mutation_scores_separate_strong_and_weak_checkers(tmp_path):
    path, _ = domain_with(tmp_path, TASKS + '''
task "look-only" {
  gold { get_reservation_details(reservation_id: "7D3OSK") }
  reward { DB }
}
''')
    domain = load_domain(path)
    strong, weak = (mutation_score(domain, TaskChecker(domain, t)) for t in domain.ir.tasks if t.id in ("add-bag", "look-only"))
    assert strong.kill_rate == 1.0 and strong.equivalent == 1  # repeating the same bag update changes nothing
    assert weak.kill_rate < 0.5 and "drop 0:get_reservation_details" in weak.survivors

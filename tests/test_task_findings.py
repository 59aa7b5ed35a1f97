"""Task-level failures at their own span, in every command; underspecified goals over lists."""

from __future__ import annotations

import json
import re
import shutil

from click.testing import CliRunner

from conftest import ROOT
from eigendsl.cli import main
from eigendsl.compiler import load_domain
from eigendsl.verify.reward import TaskChecker

BAD_SETUP = '''
task "bad-setup" {
  setup {
    users["theo_gupta_8245"].membership = "gold"
    reservations["NOPE"].status = "cancelled"
  }
  gold { cancel_reservation(reservation_id: "7D3OSK") }
  reward { DB }
}
'''

# In the project's own retail data, delivered order #W4873530 holds items 4833122934 and 4898139621.
RETURN = '''
task "return-two" {
  gold { return_delivered_order_items(order_id: "#W4873530", item_ids: ["4833122934", "4898139621"], payment_method_id: "gift_card_1880893") }
  goal {
    orders["#W4873530"].status == "return requested"
    <GOAL>
    orders["#W4873530"].return_payment_method_id == "gift_card_1880893"
  }
  reward { GOAL }
}
'''
ITEMS = 'orders["#W4873530"].return_items ?? []'

# 7D3OSK's first passenger is Theo Gupta, born 1974-01-29.
RENAME = '''
task "rename" {
  gold { update_reservation_passengers(reservation_id: "7D3OSK", passengers: [
    {"first_name": "Theodore", "last_name": "Gupta", "dob": "1974-01-30"},
    {"first_name": "Tara", "last_name": "Novak", "dob": "1959-04-02"},
    {"first_name": "Hugo", "last_name": "Schmidt", "dob": "1950-03-14"},
    {"first_name": "Priya", "last_name": "Bauer", "dob": "1973-02-17"}]) }
  goal { <GOAL> }
  reward { GOAL }
}
'''


def domain_with(tmp_path, domain: str, extra: str):
    for data in [*ROOT.glob(f"domains/{domain}.*data.json"), *ROOT.glob(f"domains/{domain}.words.toml")]:
        shutil.copy(data, tmp_path / data.name)
    text = (ROOT / "domains" / f"{domain}.eig").read_text() + "\n" + extra
    (tmp_path / f"{domain}.eig").write_text(text)
    lines = text.split("\n")
    return tmp_path / f"{domain}.eig", lambda needle: next(i for i, line in enumerate(lines, 1) if needle in line)


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def task_findings(path, task_id, *extra):
    report = json.loads(run("check", path, "--json", *extra).output)
    return next(t for t in report["tasks"] if t["task_id"] == task_id)


# ---------------------------------------------------------------- failing setup steps


def test_failing_setup_step_is_reported_at_that_step_by_check_and_check_mutate(tmp_path):
    path, line = domain_with(tmp_path, "airline", BAD_SETUP)
    step = line('reservations["NOPE"].status')
    for extra in ((), ("--mutate",)):
        task = task_findings(path, "bad-setup", *extra)
        assert [(f["kind"], f["line"], f["col"]) for f in task["findings"]] == [("setup_fails", step, 5)]
        assert task["findings"][0]["message"] == "setup step 2 (assignment) failed: key 'NOPE' is not in reservations"
        assert task["gold_reward"] is None and task["kill_rate"] is None
    text = run("check", path, "--mutate")
    assert text.exit_code == 1
    assert f"{path}:{step}:5: error: task bad-setup: setup step 2 (assignment) failed" in text.output


def test_failing_setup_step_is_reported_at_that_step_by_compile_and_eval(tmp_path, monkeypatch):
    path, line = domain_with(tmp_path, "airline", BAD_SETUP)
    step = line('reservations["NOPE"].status')
    where = f"airline.eig:{step}:5: error: task bad-setup: setup step 2"
    monkeypatch.chdir(tmp_path)
    compiled = run("compile", "airline.eig", "-o", tmp_path / "out")
    assert compiled.exit_code == 1 and where in compiled.output
    evaluated = run("eval", "airline.eig", "--out", tmp_path / "results.json", "--no-progress")
    assert evaluated.exit_code == 1 and where in evaluated.output
    assert "1 task(s) cannot start" in evaluated.output and not (tmp_path / "results.json").exists()
    fine = run("eval", "airline.eig", "--out", tmp_path / "results.json", "--no-progress", "--task-ids", "add-paid-bags")
    assert fine.exit_code == 0, fine.output


def test_failing_setup_call_names_the_call(tmp_path):
    path, line = domain_with(tmp_path, "airline", BAD_SETUP.replace(
        'reservations["NOPE"].status = "cancelled"', 'cancel_reservation(reservation_id: "NOPE")'))
    task = task_findings(path, "bad-setup", "--mutate")
    assert [(f["kind"], f["line"]) for f in task["findings"]] == [("setup_fails", line('cancel_reservation(reservation_id: "NOPE")'))]
    assert task["findings"][0]["message"].startswith("setup step 2 (cancel_reservation) failed: ")


# ---------------------------------------------------------------- goals over lists


def test_membership_goal_that_lets_a_partial_return_pass_is_a_finding(tmp_path):
    path, line = domain_with(tmp_path, "retail", RETURN.replace("<GOAL>", f'"4833122934" in ({ITEMS})'))
    task = task_findings(path, "return-two")
    assert [(f["kind"], f["severity"]) for f in task["findings"]] == [("goal_underspecified", "warning")]
    message = task["findings"][0]["message"]
    assert message.startswith("the goals do not pin orders['#W4873530'].return_items: the gold actions set it to [\"4833122934\", \"4898139621\"]")
    assert '(["4833122934"]) also satisfies the goals' in message
    # The finding is real: returning one item earns the task's full reward.
    domain = load_domain(path)
    checker = TaskChecker(domain, next(t for t in domain.ir.tasks if t.id == "return-two"))
    env = checker.start()
    env.call("return_delivered_order_items", {"order_id": "#W4873530", "item_ids": ["4833122934"], "payment_method_id": "gift_card_1880893"})
    assert checker.score(env).reward == 1.0


def test_goals_pinning_every_returned_item_in_any_order_are_clean(tmp_path):
    both = f'"4898139621" in ({ITEMS}) and "4833122934" in ({ITEMS}) and len({ITEMS}) == 2'
    path, _ = domain_with(tmp_path, "retail", RETURN.replace("<GOAL>", both))
    assert task_findings(path, "return-two")["findings"] == []


def test_goal_on_one_field_of_one_list_element_is_analysed(tmp_path):
    path, line = domain_with(tmp_path, "airline", RENAME.replace("<GOAL>", 'reservations["7D3OSK"].passengers[0].first_name == "Theodore"'))
    task = task_findings(path, "rename")
    assert [(f["kind"], f["line"]) for f in task["findings"]] == [("goal_underspecified", line("goal { reservations"))]
    assert task["findings"][0]["message"] == ("the goals do not pin reservations['7D3OSK'].passengers[0].dob: the gold actions set it "
                                              'to "1974-01-30", and another value also satisfies the goals')
    pinned = 'reservations["7D3OSK"].passengers[0] == {"first_name": "Theodore", "last_name": "Gupta", "dob": "1974-01-30"}'
    path, _ = domain_with(tmp_path, "airline", RENAME.replace("<GOAL>", pinned))
    assert task_findings(path, "rename")["findings"] == []


def test_appended_element_must_be_pinned_whole(tmp_path):
    bag = '''
task "add-bag" {
  user { reason "Change the bags on 7D3OSK; pay with the mastercard ending in 1202." }
  gold { update_reservation_baggages(reservation_id: "7D3OSK", total_baggages: 2, nonfree_baggages: 1, payment_id: "credit_card_7380483") }
  goal {
    reservations["7D3OSK"].total_baggages == 2
    reservations["7D3OSK"].nonfree_baggages == 1
    reservations["7D3OSK"].payment_history[-1].amount == 50
  }
  reward { GOAL }
}
'''
    path, _ = domain_with(tmp_path, "airline", bag)
    found = task_findings(path, "add-bag")["findings"]
    assert [f["kind"] for f in found] == ["goal_underspecified"]
    assert re.match(r"the goals do not pin reservations\['7D3OSK'\]\.payment_history: the gold actions set it to \[.*\], "
                    r"and a list with less or other content also satisfies the goals$", found[0]["message"])


# ---------------------------------------------------------------- bounded solver work

PLANTED = '''
task "cancel-with-odd-goals" {
  gold { cancel_reservation(reservation_id: "7D3OSK") }
  goal {
    reservations["7D3OSK"].origin != ""
    len(reservations["7D3OSK"].flights) > 2 and len(reservations["7D3OSK"].flights) < 1
  }
  reward { GOAL }
}
task "three-bags-loosely" {
  user { reason "Change the bags on 7D3OSK; pay with the mastercard ending in 1202." }
  gold { update_reservation_baggages(reservation_id: "7D3OSK", total_baggages: 3, nonfree_baggages: 2, payment_id: "credit_card_7380483") }
  goal { reservations["7D3OSK"].nonfree_baggages > 0 }
  reward { GOAL }
}
task "three-bags-half" {
  user { reason "Change the bags on 7D3OSK; pay with the mastercard ending in 1202." }
  gold { update_reservation_baggages(reservation_id: "7D3OSK", total_baggages: 3, nonfree_baggages: 2, payment_id: "credit_card_7380483") }
  goal { reservations["7D3OSK"].nonfree_baggages == 2 }
  reward { GOAL }
}
policy never_on_mondays "Reservation MONDAY may never have its passengers changed."
  guard update_reservation_passengers { reservation_id != "MONDAY" }
''' + RENAME.replace("<GOAL>", 'reservations["7D3OSK"].passengers[0].first_name == "Theodore"')
NOT_ANALYSED = {"guard_not_analysed", "goal_not_analysed", "underspecification_not_analysed"}


def findings_under(domain, budget):
    from eigendsl.verify.analyses import analyse

    report = analyse(domain, budget=budget)
    found = [(None, f.kind, f.span, f.message) for f in report.domain_findings]
    return found + [(t.task_id, f.kind, f.span, f.message) for t in report.tasks for f in t.findings]


def test_a_small_solver_budget_only_turns_answers_into_not_analysed_at_their_span(tmp_path):
    from eigendsl.verify.budget import SolverBudget

    path, _ = domain_with(tmp_path, "airline", PLANTED)
    domain = load_domain(path)
    full = findings_under(domain, SolverBudget())
    assert not any(kind in NOT_ANALYSED for _, kind, _, _ in full)
    kinds = {kind for _, kind, _, _ in full}
    assert {"goal_vacuous", "goal_unsatisfiable", "goal_pins_nothing", "goal_underspecified"} <= kinds
    tasks = {t.id: t for t in domain.ir.tasks}
    guard_spans = {g.span for p in domain.ir.policies for g in p.guards}
    settled_somewhere = 0
    for budget in (SolverBudget(per_query=1), SolverBudget(per_query=100), SolverBudget(per_query=1000), SolverBudget(per_file=3000)):
        small = findings_under(domain, budget)
        open_spots = {(task, span) for task, kind, span, _ in small if kind in NOT_ANALYSED}
        assert budget.out_of_budget > 0 and open_spots, budget.to_json()
        for task, kind, span, message in small:
            if kind not in NOT_ANALYSED:
                assert (task, kind, span, message) in full  # nothing new, nothing different
            elif task is None:
                assert span in guard_spans and "can allow a call of" in message
            else:
                assert span in {g.span for g in tasks[task].goals}
        for task, kind, span, message in full:
            if (task, kind, span, message) not in small:
                assert (task, span) in open_spots, (task, kind, message)  # a lost answer is open at its own span
            else:
                settled_somewhere += kind not in ("goal_vacuous", "goal_fails_on_gold")  # solver answers kept
    assert settled_somewhere > 0


def test_added_guard_the_solver_cannot_settle_is_not_analysed_at_that_guard(tmp_path):
    from eigendsl.verify.analyses import guard_consistency
    from eigendsl.verify.budget import SolverBudget

    hard = '''
policy cubes "A hard identity no call can satisfy."
  guard update_reservation_baggages {
    total_baggages > 0 and nonfree_baggages > 0 and len(payment_id) > 0
      and total_baggages * total_baggages * total_baggages + nonfree_baggages * nonfree_baggages * nonfree_baggages
        == len(payment_id) * len(payment_id) * len(payment_id)
  }
policy few_bags "At most two bags."
  guard update_reservation_baggages { total_baggages <= 2 }
policy many_bags "At least three bags."
  guard update_reservation_baggages { total_baggages >= 3 }
'''
    path, line = domain_with(tmp_path, "airline", hard)
    domain = load_domain(path)
    budget = SolverBudget(per_query=200_000)
    found = [(f.kind, f.span.line, f.message) for f in guard_consistency(domain.ir, budget)]
    conflict = "policies 'few_bags', 'many_bags' contradict each other: no call of update_reservation_baggages satisfies all their guards"
    assert found == [
        ("guard_not_analysed", line("policy cubes") + 1,
         "could not decide whether policy 'cubes' can allow a call of update_reservation_baggages "
         "(the solver's budget ran out): its guard together with the ones declared before it is not analysed"),
        # the guards after it are still analysed, with the domain's own
        ("guard_conflict", line("policy few_bags") + 1, conflict),
        ("guard_conflict", line("policy many_bags") + 1, conflict),
    ]


def test_env_assertion_false_after_gold_is_reported_at_the_assertion(tmp_path):
    source = (ROOT / "domains" / "telecom.eig").read_text()
    wrong = source.replace("    user assert_mobile_data_status(expected_status: true)\n  }\n  reward { GOAL, ENV_ASSERTION, ACTION, POLICY }",
                           "    user assert_mobile_data_status(expected_status: false)\n  }\n  reward { GOAL, ENV_ASSERTION, ACTION, POLICY }", 1)
    assert wrong != source
    path, line = domain_with(tmp_path, "telecom", "")
    path.write_text(wrong)
    from eigendsl.verify.analyses import gold_reward, task_findings as findings_of

    domain = load_domain(path)
    checker = TaskChecker(domain, next(t for t in domain.ir.tasks if t.id == "airplane-mode-blocks-data"))
    assert gold_reward(checker) == 0.0
    assert [(f.kind, f.severity, f.span.line, f.message) for f in findings_of(domain, checker.task, checker)] == [
        ("assertion_fails_on_gold", "error", line("assert_mobile_data_status(expected_status: true)"),
         "env assertion assert_mobile_data_status returns false after the gold actions, not true")]


BAGS_IN_WORDS = '''
fn bags_text(id: str) -> str {
  let r = reservations[id]
  return "{r.total_baggages} bags"
}
task "bags-in-words" {
  user { reason "Change the bags on 7D3OSK; pay with the mastercard ending in 1202." }
  gold { update_reservation_baggages(reservation_id: "7D3OSK", total_baggages: 2, nonfree_baggages: 1, payment_id: "credit_card_7380483") }
'''  # a task whose first goal is outside the Z3 encoding (string interpolation)


def test_a_change_outside_the_encoding_is_not_analysed_and_the_others_still_are(tmp_path):
    text = BAGS_IN_WORDS + '''  goal {
    bags_text("7D3OSK") == "2 bags"
    reservations["7D3OSK"].payment_history[-1] == {"payment_id": "credit_card_7380483", "amount": 50}
  }
  reward { GOAL }
}
'''
    path, line = domain_with(tmp_path, "airline", text)
    found = [(f["kind"], f["line"], f["message"]) for f in task_findings(path, "bags-in-words")["findings"]]
    first, second = line('bags_text("7D3OSK") =='), line("payment_history[-1] ==")
    # The first goal is outside the encoding, yet it can hold: it holds after the gold actions,
    # so no "satisfiability not checked" is said of it; what Z3 cannot tell is still reported.
    assert found == [
        ("goal_underspecified", first, "the goals do not pin reservations['7D3OSK'].nonfree_baggages: the gold actions set it to 1, and another value also satisfies the goals"),
        ("underspecification_not_analysed", first, "could not decide whether the goals pin reservations['7D3OSK'].total_baggages "
                                                   "(outside the Z3 encoding: string interpolation of unknown values); not analysed"),
    ]
    assert second == first + 1


def test_a_fault_of_the_encoding_is_not_analysed_at_its_span_not_a_traceback(tmp_path, monkeypatch):
    """The Z3 encoding is a second evaluator of the IR; where it breaks on some construct, the
    question is left open at its span and the other analyses go on."""
    from eigendsl.verify.symbolic import Encoder

    def broken_member(self, a, b):
        raise TypeError("'<' not supported between instances of 'str' and 'int'")

    monkeypatch.setattr(Encoder, "member", broken_member)
    path, line = domain_with(tmp_path, "retail", RETURN.replace("<GOAL>", f'"4833122934" in ({ITEMS})'))
    result = run("check", path)
    assert result.exit_code == 0, result.output
    member = line('"4833122934" in')
    fault = "the encoding failed: TypeError: '<' not supported between instances of 'str' and 'int'"
    # The goal holds after the gold actions, which shows it can hold without Z3; the questions
    # only Z3 answers are left open at the goal's span.
    assert f"{path}:{member}:5: note: task return-two: this goal is outside the Z3 encoding" not in result.output
    changes = "orders['#W4873530'].status, orders['#W4873530'].return_items, orders['#W4873530'].return_payment_method_id"
    assert f"could not decide whether the goals pin {changes} (outside the Z3 encoding: {fault}); not analysed" in result.output


def test_a_goal_outside_the_encoding_that_the_gold_does_not_reach_is_reported_not_analysed(tmp_path):
    text = BAGS_IN_WORDS + '''  goal { bags_text("7D3OSK") == "3 bags" }
  reward { GOAL }
}
'''
    path, line = domain_with(tmp_path, "airline", text)
    found = {(f["kind"], f["line"]) for f in task_findings(path, "bags-in-words")["findings"]}
    goal = line('bags_text("7D3OSK") ==')
    # No end state witnesses it, so Z3 is asked, cannot encode it, and says so.
    assert {("goal_not_analysed", goal), ("goal_fails_on_gold", goal)} <= found

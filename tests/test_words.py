"""A domain's customer words: validated, compiled into the folder, copied with synth output, used by the checks."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import ROOT

from eigendsl.compiler import compile_file, load_domain
from eigendsl.runtime.environment import CompiledDomain
from eigendsl.synth.portable import copy_domain
from eigendsl.synth.verify import Verifier
from eigendsl.verify.reward import TaskChecker
from eigendsl.words import parse_words, render

AIRLINE = ROOT / "domains" / "airline.eig"
RETAIL = ROOT / "domains" / "retail.eig"


@pytest.mark.parametrize("text, where", [
    ("holds = 3", "holds"),
    ("[needs]\nx = []", "needs"),
    ("[[refer.card]]\nsay = ['the {brand']", "refer.card"),
    ("colour = 'blue'", "colour"),
    ("holds = [", "not valid TOML"),
])
def test_bad_words_are_refused_with_the_place(text, where):
    with pytest.raises(ValueError) as e:
        parse_words(text)
    assert where in str(e.value)


def test_render_fills_holes_from_records_and_refuses_missing_ones():
    row = {"name": {"first_name": "Ada"}, "flights": [{"date": "2024-05-01"}], "cabin": "basic_economy"}
    assert render("{name.first_name} flies {cabin} on {flights.0.date}", row) == "Ada flies basic economy on 2024-05-01"
    assert render("{nowhere}", row) is None
    # the data's clock times as a customer says them, an arrival after midnight included
    assert render("leaving at {a}, landing at {b}", {"a": "23:00:00", "b": "02:00:00+1"}) == "leaving at 23:00, landing at 02:00 the next day"


def test_compiled_folder_carries_the_words(tmp_path):
    c = compile_file(AIRLINE)
    assert c.ok and c.words["holds"] == ["user_id", "reservation_id"]
    domain = CompiledDomain.load(ROOT / "compiled" / "airline")
    assert domain.words.holds == ["user_id", "reservation_id"]
    assert "change_of_plan" in domain.words.facts["cancel_reason"]
    copy = copy_domain(AIRLINE, tmp_path)
    assert (tmp_path / "airline.words.toml").read_bytes() == (ROOT / "domains" / "airline.words.toml").read_bytes()
    assert compile_file(copy).words == c.words


def test_a_fact_stated_in_the_domains_words_passes_information_flow(tmp_path):
    # the scenario says the plans changed, not "change_of_plan": kept, because the domain's words
    # put that value so; with neither, the task is rejected
    domain = load_domain(AIRLINE)
    task = next(t for t in domain.ir.tasks if t.user.facts.get("cancel_reason") == "change_of_plan" and t.gold)
    verifier = Verifier(domain, AIRLINE)

    def with_reason(text):
        user = dataclasses.replace(task.user, texts={**task.user.texts, "reason": text, "known": "", "instructions": ""})
        t = dataclasses.replace(task, user=user)
        return verifier.information_flow(t, TaskChecker(domain, t))

    assert with_reason("You want to cancel the trip because your plans changed.") is None
    assert "cancel_reason" in with_reason("You want to cancel the trip.")


def undetermined_lines(folder, task_text: str, domain=AIRLINE) -> list[str]:
    """The W306 lines `eigendsl check` prints for a task file beside a copy of the domain (the
    airline's unless named; it must check clean otherwise)."""
    from click.testing import CliRunner
    from eigendsl.cli import main

    copy_domain(domain, folder)
    path = folder / "task.eig"
    path.write_text(task_text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
    return [line for line in result.output.splitlines() if "[W306]" in line]


SWAP = '''import "airline.eig"
task "swap-in-saved-companion" {
  user {
    reason "%s"
    known "You are Priya Sato, user id priya_sato_2687. The reservation is 2HB5D6."
    knows { user_id: "priya_sato_2687", reservation_id: "2HB5D6" }
  }
  gold {
    get_user_details(user_id: "priya_sato_2687")
    get_reservation_details(reservation_id: "2HB5D6")
    update_reservation_passengers(reservation_id: "2HB5D6", passengers: [
      {"first_name": "Priya", "last_name": "Sato", "dob": "1986-12-10"},
      {"first_name": "Selma", "last_name": "Becker", "dob": "2003-10-24"},
    ])
  }
  reward { DB, ACTION, POLICY }
}
'''


@pytest.mark.parametrize("reason, undetermined", [
    # Priya Novak, another saved passenger, shares the customer's first name: named passengers pin
    # their element, so her birth date is no rival of Selma's; Nora Gupta, who is replaced, is none either
    ("Nora Gupta cannot come on your flight. Selma Becker, who is saved in your profile, travels in her place.", False),
    ("Nora Gupta cannot come on your flight. Someone saved in your profile travels in her place.", True),
])
def test_named_passengers_decide_their_saved_details(tmp_path, reason, undetermined):
    found = undetermined_lines(tmp_path, SWAP % reason)
    assert bool(found) == undetermined, found
    if undetermined:
        assert any("2003-10-24" in f and "1993-05-23" in f for f in found)


UPGRADE = '''import "airline.eig"
task "upgrade-to-business" {
  user {
    reason "You want your DTW-ORD booking on the DTW-ORD flight leaving at 03:00 on 2024-05-24, in business.%s"
    known "You are Rosa Ortiz, user id rosa_ortiz_3205. Your DTW to ORD reservation is M07PYS."
    knows { user_id: "rosa_ortiz_3205", reservation_id: "M07PYS" }
  }
  gold {
    get_reservation_details(reservation_id: "M07PYS")
    get_user_details(user_id: "rosa_ortiz_3205")
    search_direct_flight(origin: "DTW", destination: "ORD", date: "2024-05-24")
    update_reservation_flights(reservation_id: "M07PYS", cabin: "business", flights: [{"flight_number": "HAT190", "date": "2024-05-24"}], payment_id: "credit_card_8930924")
  }
  reward { DB, ACTION, POLICY }
}
'''


@pytest.mark.parametrize("said, undetermined", [
    # the gold takes the card the trip was paid with, which stands alone in the reservation's payment
    # history; the profile the agent reads holds two Visa cards and a gift card, so the member must say
    ("", True),
    (" You want to pay with the visa ending in 6268.", False),
])
def test_a_payment_is_a_choice_among_the_cards_the_agent_can_read(tmp_path, said, undetermined):
    found = undetermined_lines(tmp_path, UPGRADE % said)
    assert bool(found) == undetermined, found


SWAP_ITEM = '''import "retail.eig"
task "swap-blender" {
  user {
    reason "Before order #W2792159 ships, you want to swap the Blender (1.8L, red, 600W) for the version with 1.2L, black, 1000W.%s"
    known "Your email address is tomas.tanaka9493@example.com."
    knows { email: "tomas.tanaka9493@example.com", order_id: "#W2792159" }
  }
  gold {
    find_user_id_by_email(email: "tomas.tanaka9493@example.com")
    get_order_details(order_id: "#W2792159")
    get_product_details(product_id: "3327852617")
    modify_pending_order_items(order_id: "#W2792159", item_ids: ["7180035858"], new_item_ids: ["8265637130"], payment_method_id: "credit_card_7086374")
  }
  reward { DB, ACTION, POLICY }
}
'''


@pytest.mark.parametrize("said, undetermined", [
    # the gold never opens the profile, but the agent can (the order names its user): two Amex cards
    # and a gift card that covers the difference are all cards the write would take, so the
    # customer must say which; before candidates came from what the agent can read, this passed
    ("", True),
    (" Use the amex ending in 4437 for any difference.", False),
])
def test_a_card_the_gold_never_reads_is_still_a_choice(tmp_path, said, undetermined):
    found = undetermined_lines(tmp_path, SWAP_ITEM % said, RETAIL)
    assert bool(found) == undetermined, found
    if undetermined:
        assert any("credit_card_6000602" in f and "gift_card_4614213" in f for f in found), found


RETURN = '''import "retail.eig"
task "return-hard-drive" {
  user {
    reason "You want to send back the External Hard Drive from order #W6434665."
    known "Your email address is wren.yilmaz7825@example.com."
    knows { email: "wren.yilmaz7825@example.com", order_id: "#W6434665" }
  }
  gold {
    find_user_id_by_email(email: "wren.yilmaz7825@example.com")
    get_order_details(order_id: "#W6434665")
    return_delivered_order_items(order_id: "#W6434665", item_ids: ["7534373816"], payment_method_id: "credit_card_1985582")
  }
  reward { DB, ACTION, POLICY }
}
'''


def test_a_value_the_write_would_refuse_is_no_rival(tmp_path):
    # the profile holds PayPal and another card as well, but a refund may go only to the order's
    # original card or a gift card (the tool refuses the others), and the customer has no gift
    # card: the refund's card is decided by the policy, though the customer never names it
    assert undetermined_lines(tmp_path, RETURN, RETAIL) == []

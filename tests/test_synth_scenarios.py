"""Offline scenarios as a benchmark author reads them: no repeated party member, no amount the
customer cannot know, no fact said twice, a toggle's reason that fits the way it goes."""

from __future__ import annotations

import random

import pytest
from conftest import ROOT

from eigendsl.runtime.environment import CompiledDomain
from eigendsl.synth import vary
from eigendsl.synth.operators import Writer
from eigendsl.synth.render import Call, Draft
from eigendsl.verify.choices import plain
from eigendsl.words import name_problems, parse_words


@pytest.fixture(scope="module")
def airline():
    return CompiledDomain.load(ROOT / "compiled" / "airline")


@pytest.fixture(scope="module")
def telecom():
    return CompiledDomain.load(ROOT / "compiled" / "telecom")


def replayed(domain, gold: list[Call]) -> list:
    env = domain.environment({})
    return [plain(r.content) if r.ok else None for r in (env.call(c.name, c.args, c.actor) for c in gold)]


def tool(domain, name):
    return next(t for t in domain.ir.tools if t.name == name)


# ---------------------------------------------------------------- (a) vary grows lists by distinct things
def test_vary_grows_a_party_by_other_saved_travellers_never_by_a_repeat(airline):
    gold = [Call("agent", "get_user_details", {"user_id": "priya_sato_2687"}),
            Call("agent", "get_reservation_details", {"reservation_id": "2HB5D6"})]
    party = [{"first_name": "Priya", "last_name": "Sato", "dob": "1986-12-10"}]
    found = vary.options(airline, tool(airline, "update_reservation_passengers"), {"reservation_id": "2HB5D6", "passengers": party},
                         replayed(airline, gold))
    grown = [v for name, v in found if name == "passengers"]
    assert grown, "the profile's saved passengers grow the party"
    saved = {(p["first_name"], p["last_name"]) for p in replayed(airline, gold)[0]["saved_passengers"]}
    for v in grown:
        names = [(p["first_name"], p["last_name"]) for p in v]
        assert len(set(names)) == len(names), v  # nobody twice
        assert set(names[1:]) <= saved


def test_vary_never_lengthens_an_itinerary_and_splits_payments_over_other_cards(airline):
    gold = [Call("agent", "get_user_details", {"user_id": "wen_wong_6626"}),
            Call("agent", "search_direct_flight", {"origin": "MSP", "destination": "LAS", "date": "2024-05-21"})]
    args = {"flights": [{"flight_number": "HAT025", "date": "2024-05-21"}],
            "payment_methods": [{"payment_id": "credit_card_4989716", "amount": 374}]}
    found = vary.options(airline, tool(airline, "book_reservation"), args, replayed(airline, gold))
    assert not [v for name, v in found if name == "flights"]  # the same flight twice is no trip
    payments = [v for name, v in found if name == "payment_methods"]
    assert payments
    for v in payments:
        ids = [p["payment_id"] for p in v]
        assert len(set(ids)) == len(ids), v


def test_vary_drafts_hold_no_list_with_a_repeated_element(airline):
    writer = Writer(airline)
    seeds = [s for s in writer.seeds if any(isinstance(v, list) for v in s.gold[s.main].args.values())]
    assert seeds
    drafts = 0
    for i in range(40):
        seed = seeds[i % len(seeds)]
        d = writer.write("p", "vary", seed, random.Random(i))
        if not isinstance(d, Draft):
            continue
        drafts += 1
        for call in d.gold:
            for v in call.args.values():
                if isinstance(v, list):
                    assert len({repr(x) for x in v}) == len(v), (seed.task.id, call)
        assert "like the last you would give" not in d.texts.get("reason", "")
    assert drafts


# ---------------------------------------------------------------- (b) the policy's amount is the agent's to work out
def test_a_compensation_request_names_no_amount_unless_the_customer_asks_for_one(airline):
    writer = Writer(airline)
    call = Call("agent", "send_certificate", {"user_id": "wen_wong_6626", "amount": 300})
    for i in range(20):
        text = writer.scenario.need(call, [], {}, random.Random(i), {"user_id": "wen_wong_6626"})
        assert text and "300" not in text
        asked = writer.scenario.need(call, [], {}, random.Random(i), {"user_id": "wen_wong_6626", "amount": 300})
        assert "300" in asked  # a figure of their own (a vary plan asking for more than the policy gives)
    assert "amount" not in writer.stated({}, [call])


# ---------------------------------------------------------------- (c) facts said once
def test_facts_sharing_a_phrase_are_said_once_in_one_sentence(airline):
    writer = Writer(airline)
    facts = {"cancel_reason": "airline_cancelled_flight", "grievance": "cancelled_flight", "grievance_reservation": "VE6OG5"}
    for i in range(20):
        text = writer.scenario.fact_text(facts, random.Random(i))
        assert text.count("cancelled") == 1, text
        assert sum(text.count(f) for f in ("This is because", "You are asking because", "The reason is that")) == 1, text
        assert "VE6OG5" in text


# ---------------------------------------------------------------- (d) a toggle's reason fits its direction
@pytest.mark.parametrize("outcome, symptom", [
    ("Airplane Mode is now OFF.", True),  # the fix for a phone without signal
    ("Airplane Mode is now ON.", False),  # switching it on cures no missing signal
])
def test_a_toggles_reason_follows_the_way_it_goes(telecom, outcome, symptom):
    writer = Writer(telecom)
    call = Call("user", "toggle_airplane_mode", {})
    usual = set(telecom.words.needs["toggle_airplane_mode"])
    for i in range(10):
        text = writer.scenario.need(call, [], {}, random.Random(i), {}, outcome)
        assert (text in usual) == symptom, text


def test_every_telecom_toggle_has_a_reason_for_each_way(telecom):
    for name in ("toggle_airplane_mode", "toggle_data", "toggle_roaming", "toggle_data_saver_mode", "toggle_wifi", "toggle_wifi_calling"):
        assert name in telecom.words.needs_if, name


def test_outcome_needs_name_real_tools_and_parameters():
    words = parse_words('[needs_if.toggle_nothing]\n"is now ON" = ["You want {colour}."]\n'
                        '[needs_if.toggle_data]\n"is now OFF" = ["You want {colour}."]')
    problems = name_problems(words, {"toggle_data": []}, {})
    assert "needs_if.toggle_nothing: no tool 'toggle_nothing'" in problems
    assert any("'{colour}' is no parameter of toggle_data" in p for p in problems)
    with pytest.raises(ValueError, match="needs_if"):
        parse_words('[needs_if.toggle_data]\n"is now OFF" = []')


def test_a_record_is_named_by_its_own_fields_not_the_gold_elements(airline):
    # a booking's payment element {payment_id, amount} beside the certificate it draws on: the
    # certificate is worth its own amount, not the 374 the booking takes from it
    from eigendsl.verify.choices import expressions

    certificate = {"source": "certificate", "id": "certificate_1", "amount": 250.0}
    said = expressions(airline.words, ("payment_methods", "payment_id"), certificate, {"amount": 374})
    assert "the certificate worth 250" in said and not any("374" in s for s in said)

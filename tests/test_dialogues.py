"""Dialogues that teach the job: the protocol a domain declares, the oracle that follows it, the
customer-like scripted user, and the monitor that counts writes made without a confirmation."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT

from eigendsl.compiler import load_domain
from eigendsl.episode.agents import OracleAgent
from eigendsl.episode.episode import Episode, play, run_episode
from eigendsl.episode.protocol import Protocol, agent_writes, check
from eigendsl.episode.users import ScriptedUser
from eigendsl.episode import talk
from eigendsl.verify.reward import TaskChecker

DOMAINS = ["airline", "retail", "telecom"]


def writes_checked(turns: list[dict]) -> dict:
    return check(Protocol(confirm_writes=True, calls_per_turn=1), turns, {"cancel"})


def test_the_monitor_counts_a_write_without_a_listed_action_and_a_yes():
    call = {"role": "assistant", "tool_calls": [{"id": "1", "name": "cancel", "arguments": {}}]}
    asked = {"role": "assistant", "content": "I will cancel reservation X. Shall I go ahead?"}
    assert writes_checked([asked, {"role": "user", "content": "Yes, please."}, call]) == \
        {"writes": 1, "unconfirmed_writes": 0, "crowded_messages": 0}
    assert writes_checked([call])["unconfirmed_writes"] == 1  # never asked
    assert writes_checked([asked, {"role": "user", "content": "No, wait."}, call])["unconfirmed_writes"] == 1
    # one yes is one write: a second write needs its own
    assert writes_checked([asked, {"role": "user", "content": "Yes."}, call, call])["unconfirmed_writes"] == 1
    two = {"role": "assistant", "tool_calls": [{"id": "1", "name": "read"}, {"id": "2", "name": "read"}]}
    assert writes_checked([two])["crowded_messages"] == 1
    assert check(Protocol(), [call], {"cancel"})["unconfirmed_writes"] == 0  # a domain that declares nothing


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_oracle_follows_the_protocol_and_the_user_discloses_as_asked(domain):
    compiled = load_domain(ROOT / "domains" / f"{domain}.eig")
    assert Protocol.of(compiled.ir) == Protocol(confirm_writes=True, calls_per_turn=1)
    for task in compiled.ir.tasks:
        result = run_episode(compiled, task, OracleAgent(), ScriptedUser())
        assert result.reward == 1.0, (task.id, result.breakdown.details)
        assert result.protocol["unconfirmed_writes"] == 0 and result.protocol["crowded_messages"] == 0, task.id
        users = [m["content"] for m in result.messages if m["role"] == "user" and m.get("content")]
        agents = [m["content"] for m in result.messages[1:] if m["role"] == "assistant" and m.get("content")]
        opening, reason = users[0], str(task.user.texts.get("reason") or "")
        held = [str(v) for v in task.user.knows.values() if str(v) not in reason]
        assert not [v for v in held if v in opening], (task.id, opening)  # no details before they are asked for
        if len(held) >= 2:
            assert sum(any(v in u for v in held) for u in users[1:]) >= 2, (task.id, users)  # over several turns
        assert agents[-1].rstrip().endswith("?") or "TRANSFERRED" in agents[-1]  # it closes, it does not go silent
        assert "All done" not in " ".join(agents)


class SilentGoldPlayer:
    """The old oracle: the gold's tool calls with no words between them."""

    def reset(self, task, domain, seed):
        self.plan = [c for c in task.gold or () if c.actor == "agent"]

    def respond(self, messages, tools):
        if self.plan:
            c = self.plan.pop(0)
            return {"role": "assistant", "tool_calls": [{"id": f"s{len(self.plan)}", "name": c.name, "arguments": dict(c.args)}]}
        return {"role": "assistant", "content": "Done."}


class NeverAsks(SilentGoldPlayer):
    """An agent that knows what to do but never asks: it calls a tool only once every value it
    needs has been said in the conversation or returned by a tool, else it stops."""

    def respond(self, messages, tools):
        heard = " ".join(str(m.get("content") or "") for m in messages if m["role"] in ("user", "tool"))
        if self.plan and all(v in heard for v in strings(self.plan[0].args)):
            return super().respond(messages, tools)
        self.plan = []
        return {"role": "assistant", "content": "Done."}


def strings(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("domain", ["airline", "retail"])
def test_an_agent_that_never_asks_fails_the_monitor_and_most_tasks(domain):
    compiled = load_domain(ROOT / "domains" / f"{domain}.eig")
    writes = agent_writes(compiled.ir)
    writing = [t for t in compiled.ir.tasks if any(c.name in writes for c in t.gold or ())]
    for task in writing:
        silent = run_episode(compiled, task, SilentGoldPlayer(), ScriptedUser())
        assert silent.protocol["writes"] >= 1 and silent.protocol["unconfirmed_writes"] == silent.protocol["writes"]
    rewards = [run_episode(compiled, t, NeverAsks(), ScriptedUser()).reward for t in compiled.ir.tasks]
    assert sum(rewards) <= len(rewards) / 2, rewards


def test_each_seed_is_another_dialogue_with_the_same_tool_calls():
    compiled = load_domain(ROOT / "domains" / "airline.eig")
    task = next(t for t in compiled.ir.tasks if len(t.user.knows) >= 2 and any(c.name in agent_writes(compiled.ir) for c in t.gold))
    texts, calls = set(), set()
    for seed in range(10):
        episode = play(Episode(compiled, task, ScriptedUser(variant=seed)), OracleAgent(), seed)
        result = episode.result()
        assert result.reward == 1.0
        texts.add(json.dumps([m.get("content") for m in result.messages if m["role"] in ("assistant", "user")]))
        calls.add(json.dumps([c for m in result.messages for c in m.get("tool_calls", [])], sort_keys=True))
    assert len(texts) >= 8 and len(calls) == 1


def test_scenarios_are_said_in_the_first_person():
    said = talk.first_person("Yesterday you booked a trip. Your sister invited you elsewhere, so you want to cancel it.")
    assert said == "Yesterday I booked a trip. My sister invited me elsewhere, so I want to cancel it."
    assert talk.first_person("You are calling about your line.") == "I am calling about my line."


def test_actions_and_costs_name_real_tools_and_parameters():
    from eigendsl.words import name_problems, parse_words

    words = parse_words('[actions]\nbook = ["book {flight} for {value.who}"]\nfly = ["fly"]\n[costs]\nsail = ["{added.x.0}"]')
    problems = name_problems(words, {"book": ["flight"]}, {})
    assert "actions.fly: no tool 'fly'" in problems and "costs.sail: no tool 'sail'" in problems
    assert any("'{value.who}' is no parameter of book" in p for p in problems)
    assert not any("'{flight}'" in p for p in problems)


def listings(compiled, task, tool: str | None = None) -> list[tuple[str, dict, str]]:
    """(listing, call, result text) for each listed write of the oracle's episode."""
    result = run_episode(compiled, task, OracleAgent(), ScriptedUser())
    assert result.reward == 1.0, task.id
    msgs, out = result.messages, []
    for i, m in enumerate(msgs):
        for call in m.get("tool_calls") or ():
            if call["name"] in compiled.words.actions and tool in (None, call["name"]):
                said = next(x["content"] for x in reversed(msgs[:i]) if x["role"] == "assistant" and x.get("content"))
                out.append((said, call, msgs[i + 1]["content"]))
    return out


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_listed_write_is_said_in_the_customers_terms(domain):
    """The oracle lists each write as the domain's words say it: values named as the customer
    names them (no JSON, no payment ids), not the tool's description."""
    compiled = load_domain(ROOT / "domains" / f"{domain}.eig")
    docs = {t.name: (t.doc or "").split(". ")[0].lower()[:40] for t in compiled.ir.tools}
    found = [x for task in compiled.ir.tasks for x in listings(compiled, task)]
    assert found
    for said, call, _ in found:
        assert "{" not in said and "credit_card_" not in said and "gift_card_" not in said, said
        assert docs[call["name"]] not in said.lower(), said


@pytest.mark.parametrize("domain, tool, phrase", [
    ("airline", "update_reservation_baggages", "{}, charged to"),
    ("retail", "cancel_pending_order", "{} "),
])
def test_the_cost_said_is_the_amount_the_write_appends(domain, tool, phrase):
    compiled = load_domain(ROOT / "domains" / f"{domain}.eig")
    seen = 0
    for task in compiled.ir.tasks:
        for said, call, result in listings(compiled, task, tool):
            env = TaskChecker(compiled, task).start()
            for step in task.gold:
                if step.name == tool:
                    break
                env.call(step.name, step.args, step.actor)
            key = next(iter(call["arguments"].values()))
            table = "reservations" if domain == "airline" else "orders"
            before = len(env.read(table)[key]["payment_history"])
            appended = json.loads(result)["payment_history"][before:]
            if appended:
                seen += 1
                assert phrase.format(appended[0]["amount"]) in said, (said, appended)
    assert seen >= 1


def test_a_customer_who_asks_what_it_costs_hears_the_price_before_saying_yes():
    """A scenario that says "ask whether this costs anything" has the user ask before the first
    yes; the oracle lists the action again with its cost, and only then writes."""
    import dataclasses

    compiled = load_domain(ROOT / "domains" / "airline.eig")
    task = next(t for t in compiled.ir.tasks if any(c.name == "update_reservation_baggages" for c in t.gold or ()))
    texts = dict(task.user.texts, instructions="At first ask whether this costs anything; whatever the answer, go ahead with it.")
    task = dataclasses.replace(task, user=dataclasses.replace(task.user, texts=texts))
    result = run_episode(compiled, task, OracleAgent(), ScriptedUser())
    assert result.reward == 1.0 and result.protocol["unconfirmed_writes"] == 0
    msgs = result.messages
    write = next(i for i, m in enumerate(msgs) for c in m.get("tool_calls") or () if c["name"] == "update_reservation_baggages")
    question = next(i for i, m in enumerate(msgs) if m["role"] == "user" and m.get("content") in talk.COST)
    assert question < write
    again = msgs[question + 1]["content"]
    assert "paid bags come to" in again or "for the paid bags" in again, again  # the price, before the yes
    assert msgs[write - 1]["role"] == "user" and msgs[write - 1]["content"] in talk.YES

"""Real models' habits, taken as the benchmark takes them: several calls in one message whatever
their ids, object arguments with keys their records lack, arguments sent as JSON text.

The pairing of tool results with calls mirrors tau2's Environment.set_state (results follow
their message's calls in order; a given id must be the call's); object arguments follow the
benchmark's pydantic models (unknown keys dropped, unless the model forbids them: a `closed`
record); the runtime and the Z3 encoding agree on calls made so.
"""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from chat_server import ChatServer, completion
from conftest import ROOT, domain_source, root_for, shared_dir
from eigendsl.cli import main
from eigendsl.compiler import load_domain
from eigendsl.interop.score import RecordError, Scorer
from eigendsl.interop.tau2_results import gold_simulation
from eigendsl.verify.agreement import Tally, evaluate


def load_scorer(domain: str) -> Scorer:
    shared = shared_dir(domain)
    user_db = shared / "user_db.json"
    return Scorer.load(ROOT / "compiled" / domain, shared / "tasks.json", shared / "db.json",
                       user_db if user_db.is_file() else None)


@pytest.fixture(scope="module")
def airline() -> Scorer:
    return load_scorer("airline")


def one_message(record: dict, ids) -> dict:
    """The record with every tool call in one assistant message (content ""), ids from `ids(i)`,
    and their results after it in order."""
    record = copy.deepcopy(record)
    msgs = record["messages"]
    calls = [c for m in msgs if m.get("tool_calls") for c in m["tool_calls"]]
    results = [m for m in msgs if m["role"] == "tool"]
    rest = [m for m in msgs if m["role"] != "tool" and not m.get("tool_calls")]
    for i, (c, r) in enumerate(zip(calls, results)):
        c["id"] = r["id"] = ids(i)
        if ids(i) is None:
            del c["id"], r["id"]
    record["messages"] = rest[:2] + [{"role": "assistant", "content": "", "tool_calls": calls}] + results + rest[2:]
    return record



@pytest.mark.parametrize("ids", [lambda i: "-1", lambda i: None, lambda i: f"call_{i}", lambda i: ""],
                         ids=["repeated", "missing", "unique", "empty"])
def test_several_calls_in_one_message_are_paired_in_order_whatever_the_ids(airline, ids):
    checker = airline.checker("12")
    gold = gold_simulation(checker)
    assert airline.score(gold)["reward"] == 1.0
    line = airline.score(one_message(gold, ids))
    assert line["reward"] == 1.0 and "replay" not in line["details"], line
    # A wrong write among them still costs the reward.
    wrong = [(c.actor, c.name, {**c.args, "total_baggages": 9} if "total_baggages" in c.args else dict(c.args))
             for c in checker.task.gold]
    assert airline.score(one_message(gold_simulation(checker, calls=wrong), ids))["reward"] == 0.0


def test_ids_reused_across_messages_and_results_out_of_order(airline):
    gold = gold_simulation(airline.checker("12"))
    for m in gold["messages"]:
        for c in m.get("tool_calls") or []:
            c["id"] = "call_0"
        if m["role"] == "tool":
            m["id"] = "call_0"
    assert airline.score(gold)["reward"] == 1.0
    # OpenAI pairs by id: results of one message in another order still answer their calls.
    record = one_message(gold_simulation(airline.checker("12")), lambda i: f"c{i}")
    tools = [i for i, m in enumerate(record["messages"]) if m["role"] == "tool"]
    msgs = record["messages"]
    msgs[tools[0]], msgs[tools[-1]] = msgs[tools[-1]], msgs[tools[0]]
    line = airline.score(record)
    assert line["reward"] == 1.0 and "replay" not in line["details"], line


def test_results_the_benchmark_cannot_pair_are_refused_with_a_reason(airline):
    record = one_message(gold_simulation(airline.checker("12")), lambda i: f"c{i}")
    tools = [m for m in record["messages"] if m["role"] == "tool"]
    tools[0]["id"] = "other"
    with pytest.raises(RecordError, match="message 3: a tool result with id 'other' where the next call .* 'c0'"):
        airline.score(record)
    # A result after a message that is not a call's answers nothing (the calls before it stay without one).
    record = one_message(gold_simulation(airline.checker("12")), lambda i: "-1")
    msgs = record["messages"]
    msgs.insert(len(msgs) - 3, {"role": "assistant", "content": "One moment."})
    with pytest.raises(RecordError, match="a tool result for no tool call \\(id '-1'\\)"):
        airline.score(record)
    # Calls kept without their results (as RL frameworks keep them) are replayed (docs/conformance.md).
    record = one_message(gold_simulation(airline.checker("12")), lambda i: "-1")
    record["messages"] = [m for m in record["messages"] if m["role"] != "tool"]
    assert airline.score(record)["reward"] == 1.0


# ---------------------------------------------------------------- object arguments as the benchmark reads them

def gold_args(scorer: Scorer, task_id: str, name: str) -> dict:
    return next(dict(c.args) for c in scorer.checker(task_id).task.gold if c.name == name)


def test_object_arguments_follow_the_benchmarks_models(airline):
    args = gold_args(airline, "17", "update_reservation_flights")
    flights = args["flights"]

    def call(flights, **extra):
        return airline.domain.environment().call("update_reservation_flights", {**args, "flights": flights, **extra})

    base = call(flights)
    extra = call([{**f, "origin": "LAS", "destination": "IAH", "price": 1} for f in flights])
    assert base.ok and extra.ok and extra.content == base.content  # FlightInfo drops unknown keys
    assert not call([{"flight_number": f["flight_number"]} for f in flights]).ok  # a missing key: pydantic raises
    assert not call([{**f, "flight_number": 170} for f in flights]).ok             # a str field takes no int
    assert not call([f["flight_number"] for f in flights]).ok                      # not objects
    assert not call(flights, note="x").ok                                          # an unknown argument
    passengers = gold_args(airline, "17", "update_reservation_passengers")
    env = airline.domain.environment()
    loose = {**passengers, "passengers": [{**p, "age": 30, "seat": "4A"} for p in passengers["passengers"]]}
    assert env.call("update_reservation_passengers", loose).content == \
        airline.domain.environment().call("update_reservation_passengers", passengers).content
    telecom = load_domain(domain_source("telecom"))
    env = telecom.environment()
    assert env.call("set_apn_settings", {"apn_settings": {"apn_name": "internet", "mms_port": "8080"}}, "user").ok
    refused = env.call("set_apn_settings", {"apn_settings": {"apn_name": "internet", "colour": "red"}}, "user")
    assert not refused.ok and "unknown field 'colour' (APNSettings)" in refused.error  # BaseModelNoExtra


def test_a_strict_domain_still_refuses_unknown_keys(tmp_path):
    text = domain_source("airline").read_text().replace('arguments = "lax"', 'arguments = "strict"')
    (tmp_path / "airline.eig").write_text(text)
    for name in ("airline.data.json", "airline.words.toml"):
        (tmp_path / name).symlink_to(ROOT / "domains" / name)
    strict = load_domain(tmp_path / "airline.eig", root=root_for(tmp_path))
    result = strict.environment().call("update_reservation_flights", {
        "reservation_id": "XEHM4B", "cabin": "business", "payment_id": "credit_card_2408938",
        "flights": [{"flight_number": "HAT005", "date": "2024-05-20", "price": 1}]})
    assert not result.ok and "unknown field 'price' (FlightInfo)" in result.error


def test_the_encoding_agrees_with_the_runtime_on_calls_with_unknown_keys(airline):
    """Arguments are validated once, before either semantics sees them (env._arguments): the
    guards the verifier proves and the runtime runs read the same values, unknown keys dropped."""
    domain = airline.domain
    tally = Tally()
    flights = gold_args(airline, "17", "update_reservation_flights")
    passengers = gold_args(airline, "17", "update_reservation_passengers")
    cases = [("update_reservation_flights", {**flights, "flights": [{**f, "origin": "LAS", "price": 1} for f in flights["flights"]]}),
             ("update_reservation_passengers", {**passengers, "passengers": [{**p, "age": 34} for p in passengers["passengers"]]})]
    guards = 0
    for name, raw in cases:
        env = domain.environment()
        target = domain.callables[("tool", "agent", name)]
        args = env._arguments(target, raw)  # what both the runtime and the encoding are given
        assert args == env._arguments(target, flights if name == "update_reservation_flights" else passengers)
        for g, _ in target.guards:  # the policy guards watching the call, in both semantics
            evaluate(domain, env, g.function, args, tally, f"guard of {g.policy} on {name}", unknown_state=True)
            guards += 1
    assert guards and not tally.disagreements, tally.disagreements
    assert tally.counts[("concrete", "agree")] == guards and tally.total("agree") > guards


# ---------------------------------------------------------------- eval keeps what the model sent

def test_eval_of_a_model_with_these_habits_scores_the_same_again(tmp_path):
    shared = shared_dir("airline")
    scorer = load_scorer("airline")
    task = scorer.checker("17").task

    def loose(args: dict) -> dict:  # list-of-object arguments with keys their records lack
        return {k: [{**x, "note": "as asked"} if isinstance(x, dict) else x for x in v] if isinstance(v, list) else v
                for k, v in args.items()}

    calls = [{"name": c.name, "arguments": json.dumps(loose(dict(c.args)))} for c in task.gold if c.actor == "agent"]

    def handler(request, n):
        if not any(m["role"] == "tool" for m in request["messages"]):
            reply = completion("", calls)
            for c in reply["choices"][0]["message"]["tool_calls"]:
                c["id"] = "-1"
            return reply
        return completion("All done. " + " ".join(task.communicate))

    out = tmp_path / "results.json"
    with ChatServer(handler) as server:
        result = CliRunner().invoke(main, [
            "eval", str(ROOT / "compiled" / "airline"), "--tasks", str(shared / "tasks.json"), "--db", str(shared / "db.json"),
            "--task-ids", "17", "--agent", "openai:test-model", "--agent-base-url", server.base_url,
            "--out", str(out), "--tau2-out", str(tmp_path / "tau2.json"), "--no-progress"])
    assert result.exit_code == 0, result.output
    episode = json.loads(out.read_text())["episodes"][0]
    sent = next(m for m in episode["messages"] if m.get("tool_calls"))
    assert sent["content"] == "" and [c["id"] for c in sent["tool_calls"]] == ["-1"] * len(calls)
    assert [c["arguments"] for c in sent["tool_calls"]] == [c["arguments"] for c in calls]  # the JSON text as sent
    for source in (out, tmp_path / "tau2.json"):
        scored = tmp_path / f"{source.stem}.scored.jsonl"
        result = CliRunner().invoke(main, ["score", str(ROOT / "compiled" / "airline"), "--tasks", str(shared / "tasks.json"),
                                           "--db", str(shared / "db.json"), "--simulations", str(source), "--out", str(scored)])
        assert result.exit_code == 0 and "skipped 0" in result.output, result.output
        line = json.loads(scored.read_text())
        assert line["reward"] == episode["reward"] == 1.0, line
    # The report shows every call and, after them, every result, as they came.
    result = CliRunner().invoke(main, ["report", str(out), "-o", str(tmp_path / "report.html")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "report.html").read_text()
    assert all(page.count(f"→ {c['name']}(") == 1 for c in calls) and page.count('class="msg tool') >= len(calls)


@pytest.mark.parametrize("rule", ["lax", "strict"])
def test_open_and_closed_records_under_each_rule(tmp_path, rule):
    (tmp_path / "shop.json").write_text(json.dumps({"notes": {}}))
    (tmp_path / "shop.eig").write_text(f'''
domain shop {{
  data = "shop.json"
  arguments = "{rule}"
}}
record Item {{ name: str, note: str? }}
record Box closed {{ size: int }}
state {{ notes: map<str, str> }}
tool keep(item: Item, box: Box) -> str writes "Keep an item in a box." {{
  notes[item.name] = "{{box.size}}"
  return item.name
}}
''')
    env = load_domain(tmp_path / "shop.eig", root=root_for(tmp_path)).environment()
    ok = {"item": {"name": "a", "note": None}, "box": {"size": 2}}
    assert env.call("keep", ok).ok
    extra = env.call("keep", {**ok, "item": {**ok["item"], "colour": "red"}})
    assert extra.ok == (rule == "lax"), extra.error                      # an open record: dropped under lax only
    closed = env.call("keep", {**ok, "box": {"size": 2, "colour": "red"}})
    assert not closed.ok and "unknown field 'colour' (Box)" in closed.error  # a closed record: refused under both
    no_note = env.call("keep", {**ok, "item": {"name": "a"}})
    assert no_note.ok == (rule == "strict")                              # pydantic requires an Optional without default
    assert env.call("keep", {**ok, "box": {"size": "3"}}).ok == (rule == "lax")  # a field coerced as pydantic does

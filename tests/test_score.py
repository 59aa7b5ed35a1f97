"""The benchmark's reward for any trajectory: `eigendsl score`, its rules, the judge, tau2 results.

The acceptance suite builds trajectories from the benchmark's own tasks (gold, perturbed, cut by
each termination reason) and compares the scorer's reward with the reward the benchmark's rules
give, computed here independently: premature endings score 0; DB compares the JSON text of the
final databases; ENV_ASSERTION runs the assertions; COMMUNICATE looks for each string in some
agent message; ACTION matches each gold action against the calls by the benchmark's
compare rule (the call's own keys when the gold names none).
"""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from click.testing import CliRunner

from chat_server import ChatServer, completion
from conftest import DOMAINS, ROOT, domain_source, root_for, shared_dir
from eigendsl.cli import main
from eigendsl.episode.episode import Episode, UserError
from eigendsl.episode.users import ScriptedUser
from eigendsl.interop.score import RecordError, Scorer, parse_record, read_simulations
from eigendsl.interop.tau2_results import gold_simulation, tau2_messages
from eigendsl.compiler import load_domain
from eigendsl.episode.judge import ChatJudge, JudgeError, parse_verdicts

ACTOR = {"assistant": "agent", "user": "user"}
PREMATURE = ("max_steps", "too_many_errors", "agent_error", "user_error")


@pytest.fixture(scope="module", autouse=True)
def cache_dir(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("EIGENDSL_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


def load_scorer(domain: str, tasks_path=None, judge=None) -> Scorer:
    shared = shared_dir(domain)
    user_db = shared / "user_db.json"
    return Scorer.load(ROOT / "compiled" / domain, tasks_path or shared / "tasks.json", shared / "db.json",
                       user_db if user_db.is_file() else None, judge)


_scorers: dict[str, Scorer] = {}


def scorer_for(domain: str) -> Scorer:
    if domain not in _scorers:
        _scorers[domain] = load_scorer(domain)
    return _scorers[domain]


def tau2_tasks(domain: str) -> dict[str, dict]:
    return {t["id"]: t for t in json.loads((shared_dir(domain) / "tasks.json").read_text())}


# ---------------------------------------------------------------- the benchmark's rules, independently

def bench_compare(gold: dict, name: str, arguments: dict) -> bool:
    if gold["name"] != name:
        return False
    keys = list(arguments) if gold.get("compare_args") is None else gold["compare_args"]
    if not keys:
        return True
    return {k: v for k, v in arguments.items() if k in keys} == {k: v for k, v in gold["arguments"].items() if k in keys}


def db_text(env) -> str:
    """The final databases as JSON text (as changes to the shared initial data: equal texts, equal dbs)."""
    sides = sorted(set(env.domain.base.sides.values()))
    return hashlib.sha256(json.dumps({s: env.diff(side=s) for s in sides}, sort_keys=True).encode()).hexdigest()


def bench_reward(scorer: Scorer, task: dict, record: dict) -> float:
    if record["termination_reason"] not in ("user_stop", "agent_stop"):
        return 0.0
    criteria = task.get("evaluation_criteria")
    if criteria is None:
        return 1.0
    basis = criteria.get("reward_basis") or ["DB", "COMMUNICATE"]
    checker = scorer.checker(task["id"])
    calls = [c for m in record["messages"] if m["role"] in ACTOR for c in m.get("tool_calls") or []]
    predicted = checker.start()
    for c in calls:
        predicted.call(c["name"], c["arguments"], ACTOR[c["requestor"]])
    gold = checker.start()
    for a in criteria.get("actions") or []:
        gold.call(a["name"], a["arguments"], ACTOR[a.get("requestor", "assistant")])
    reward = 1.0
    if "DB" in basis:
        reward *= float(db_text(predicted) == db_text(gold))
    if "ENV_ASSERTION" in basis:
        for a in criteria.get("env_assertions") or []:
            result = predicted.run_assertion(a["func_name"], a["arguments"], ACTOR[a["env_type"]], record=False)
            reward *= float(result.ok and result.content == a.get("assert_value", True))
    if "COMMUNICATE" in basis:
        texts = [m["content"] for m in record["messages"] if m["role"] == "assistant" and m.get("content")]
        for info in criteria.get("communicate_info") or []:
            reward *= float(any(info.lower() in t.lower().replace(",", "") for t in texts))
    if "ACTION" in basis:
        for g in criteria.get("actions") or []:
            reward *= float(any(bench_compare(g, c["name"], c["arguments"]) for c in calls))
    return reward


# ---------------------------------------------------------------- trajectories from the benchmark's tasks

def perturbations(scorer: Scorer, task_id: str) -> list[tuple[str, dict]]:
    checker = scorer.checker(task_id)
    gold = [(c.actor, c.name, dict(c.args)) for c in checker.task.gold or ()]
    writes = [i for i, (a, n, _) in enumerate(gold) if (a, n) in scorer.writes]
    out = [("gold", gold_simulation(checker))]
    out.append(("nothing", gold_simulation(checker, calls=[])))
    if gold:
        out.append(("drop-last", gold_simulation(checker, calls=gold[:-1])))
        out.append(("reversed", gold_simulation(checker, calls=gold[::-1])))
        out.append(("doubled-last", gold_simulation(checker, calls=gold + gold[-1:])))
    if writes:
        i = writes[0]
        out.append(("drop-write", gold_simulation(checker, calls=gold[:i] + gold[i + 1:])))
        actor, name, args = gold[i]
        text_keys = [k for k, v in args.items() if isinstance(v, str)]
        if text_keys:
            changed = {**args, text_keys[-1]: args[text_keys[-1]] + "X"}
            out.append(("changed-write", gold_simulation(checker, calls=gold[:i] + [(actor, name, changed)] + gold[i + 1:])))
    silent = gold_simulation(checker)
    silent["messages"][-2]["content"] = "Done."
    out.append(("missing-message", silent))
    for reason in PREMATURE + ("agent_stop",):
        out.append((reason, gold_simulation(checker, termination=reason)))
    return out


@pytest.mark.parametrize("domain, count", [*((d, 24) for d in DOMAINS),
                                           *(pytest.param(d, None, marks=pytest.mark.slow) for d in DOMAINS)])
def test_rewards_agree_with_the_benchmark_rules(domain, count):
    """24 tasks per domain; the slow variant takes every task (278 tasks, up to 13 trajectories each; about 22 s)."""
    scorer = scorer_for(domain)
    tasks = tau2_tasks(domain)
    ids = sorted(tasks)[:count]
    kinds: dict[str, set[float]] = {}
    for task_id in ids:
        for kind, record in perturbations(scorer, task_id):
            line = scorer.score(record)
            expected = bench_reward(scorer, tasks[task_id], record)
            assert line["reward"] == expected, (task_id, kind, line)
            assert line["termination_reason"] == record["termination_reason"]
            kinds.setdefault(kind, set()).add(line["reward"])
    assert kinds["gold"] == {1.0} and kinds["agent_stop"] == {1.0}
    for reason in PREMATURE:
        assert kinds[reason] == {0.0}
    assert 0.0 in kinds["drop-write"] or domain == "telecom"


def test_retail_nl_assertions_say_they_were_not_judged():
    scorer = scorer_for("retail")
    task_id = next(t for t, task in tau2_tasks("retail").items() if task["evaluation_criteria"].get("nl_assertions"))
    line = scorer.score(gold_simulation(scorer.checker(task_id)))
    assert line["components"]["NL_ASSERTION"] is None
    assert line["details"]["NL_ASSERTION"]["not_evaluated"] and "judge" in line["details"]["NL_ASSERTION"]["note"]


# ---------------------------------------------------------------- argument coercion, as the benchmark

def with_arguments(scorer: Scorer, task_id: str, name: str, change) -> dict:
    checker = scorer.checker(task_id)
    calls = []
    for c in checker.task.gold:
        args = copy.deepcopy(dict(c.args))
        if c.name == name:
            change(args)
        calls.append((c.actor, c.name, args))
    return gold_simulation(checker, calls=calls)


def test_numbers_as_strings_and_floats_are_taken_as_the_benchmark_takes_them():
    scorer = scorer_for("airline")
    tasks = tau2_tasks("airline")

    def amount_text(args):
        args["payment_methods"][0]["amount"] = str(args["payment_methods"][0]["amount"])

    def amount_float(args):
        args["payment_methods"][0]["amount"] = float(args["payment_methods"][0]["amount"])

    def bags_float(args):
        args["total_baggages"] = float(args["total_baggages"])

    cases = [("20", "book_reservation", amount_text, 1.0),       # a record field: pydantic converts "250"
             ("20", "book_reservation", amount_float, 1.0),      # and 250.0
             ("20", "book_reservation", bags_float, 0.0),        # a parameter is stored as sent: 3.0
             ("12", "update_reservation_baggages", bags_float, 0.0)]
    for task_id, name, change, expected in cases:
        record = with_arguments(scorer, task_id, name, change)
        line = scorer.score(record)
        assert line["reward"] == expected == bench_reward(scorer, tasks[task_id], record), (task_id, change.__name__, line)
    line = scorer.score(with_arguments(scorer, "12", "update_reservation_baggages", bags_float))
    assert "reservations" in str(line["details"]["DB"]["differs"])


def test_a_strict_domain_refuses_what_the_benchmark_coerces(tmp_path):
    text = domain_source("airline").read_text().replace('arguments = "lax"', 'arguments = "strict"')
    (tmp_path / "airline.eig").write_text(text)
    (tmp_path / "airline.data.json").symlink_to(ROOT / "domains" / "airline.data.json")
    (tmp_path / "airline.words.toml").symlink_to(ROOT / "domains" / "airline.words.toml")
    strict = load_domain(tmp_path / "airline.eig", root=root_for(tmp_path))
    lax = load_domain(domain_source("airline"))
    assert (strict.arguments_rule, lax.arguments_rule) == ("strict", "lax")
    args = {"reservation_id": "7D3OSK", "total_baggages": 2.0, "nonfree_baggages": "1", "payment_id": "credit_card_7380483"}
    refused = strict.environment().call("update_reservation_baggages", args)
    assert not refused.ok and "expected an integer" in refused.error
    env = strict.environment()
    assert env.call("update_reservation_baggages", {**args, "nonfree_baggages": 1}).ok
    assert env.read("reservations")["7D3OSK"]["total_baggages"] == 2 and isinstance(env.read("reservations")["7D3OSK"]["total_baggages"], int)
    env = lax.environment()
    assert env.call("update_reservation_baggages", {**args, "nonfree_baggages": 1}).ok
    assert isinstance(env.read("reservations")["7D3OSK"]["total_baggages"], float)  # stored as sent


def test_the_arguments_setting_is_checked(tmp_path):
    text = domain_source("airline").read_text().replace('arguments = "lax"', 'arguments = "loose"')
    (tmp_path / "bad.eig").write_text(text)
    result = CliRunner().invoke(main, ["check", str(tmp_path / "bad.eig"), "--no-data"])
    assert result.exit_code == 1 and 'bad.eig:6:15: error: `arguments` must be "lax"' in result.output, result.output


# ---------------------------------------------------------------- ACTION, with missing and extra arguments

def test_action_compares_the_calls_own_arguments(tmp_path):
    tasks = json.loads((shared_dir("airline") / "tasks.json").read_text())
    task = next(t for t in tasks if t["id"] == "12")
    task["evaluation_criteria"]["reward_basis"] = ["ACTION"]
    (tmp_path / "tasks.json").write_text(json.dumps([task]))
    scorer = load_scorer("airline", tmp_path / "tasks.json")
    checker = scorer.checker("12")
    gold = [(c.actor, c.name, dict(c.args)) for c in checker.task.gold]
    name = "update_reservation_baggages"

    def variant(change):
        return gold_simulation(checker, calls=[(a, n, change(dict(x)) if n == name else x) for a, n, x in gold])

    missing = variant(lambda x: {k: v for k, v in x.items() if k != "payment_id"})
    extra = variant(lambda x: {**x, "note": "please"})
    as_float = variant(lambda x: {**x, "total_baggages": float(x["total_baggages"])})
    for record, expected in ((missing, 1.0), (extra, 0.0), (as_float, 1.0)):
        line = scorer.score(record)
        assert line["reward"] == expected == bench_reward(scorer, task, record), line
    # compare_args: only the named arguments count.
    task["evaluation_criteria"]["actions"][-1]["compare_args"] = ["reservation_id"]
    (tmp_path / "tasks.json").write_text(json.dumps([task]))
    scorer = load_scorer("airline", tmp_path / "tasks.json")
    assert scorer.score(extra)["reward"] == 1.0 == bench_reward(scorer, task, extra)


def test_telecom_action_tasks():
    scorer = scorer_for("telecom")
    tasks = tau2_tasks("telecom")
    task_id = next(t for t, task in tasks.items() if "ACTION" in task["evaluation_criteria"]["reward_basis"])
    checker = scorer.checker(task_id)
    no_transfer = [(c.actor, c.name, dict(c.args)) for c in checker.task.gold if c.name != "transfer_to_human_agents"]
    for record, expected in ((gold_simulation(checker), 1.0), (gold_simulation(checker, calls=no_transfer), 0.0)):
        line = scorer.score(record)
        assert line["reward"] == expected == bench_reward(scorer, tasks[task_id], record), line


# ---------------------------------------------------------------- replay disagreements and formats

def test_a_recorded_write_that_disagrees_is_flagged_and_refused():
    scorer = scorer_for("airline")
    scorer = Scorer(scorer.domain, scorer.tasks.values(), check_reads=True)
    record = gold_simulation(scorer.checker("12"))
    tool_messages = [m for m in record["messages"] if m["role"] == "tool"]
    read, write = tool_messages[0], tool_messages[-1]
    read["content"] = json.dumps({"something": "else"})
    line = scorer.score(record)
    assert line["reward"] == 1.0 and line["details"]["replay"][0]["writes"] is False
    write["content"] = json.dumps({"reservation_id": "other"})
    line = scorer.score(record)
    assert line["reward"] == 0.0 and "refuses" in line["details"]["replay_note"]
    # Both sides failing agree, whatever each says.
    failing = gold_simulation(scorer.checker("12"), calls=[("agent", "get_user_details", {"user_id": "nobody"})])
    failing["messages"][3]["content"] = "Error: User nobody not found (their words)"
    assert "replay" not in scorer.score(failing)["details"]


def test_openai_format_records_and_this_projects_episodes():
    scorer = scorer_for("airline")
    tau2 = gold_simulation(scorer.checker("12"))
    openai_messages = []
    for m in tau2["messages"]:
        if m["role"] == "tool":
            openai_messages.append({"role": "tool", "tool_call_id": m["id"], "content": m["content"]})
        elif m.get("tool_calls"):
            openai_messages.append({"role": m["role"], "content": None, "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                for c in m["tool_calls"]]})
        else:
            openai_messages.append({"role": m["role"], "content": m["content"]})
    line = scorer.score({"task_id": "12", "messages": openai_messages})
    assert line["reward"] == 1.0 and line["termination_reason"] == "user_stop" and "termination" in line["details"]
    cut = scorer.score({"task_id": "12", "messages": openai_messages, "termination": "max_steps"})
    assert cut["reward"] == 0.0
    # This project's episode messages, through the tau2 conversion, score the same.
    assert parse_record({"task_id": "12", "messages": tau2_messages([{"role": "assistant", "content": "hi"}])}).agent_texts == ["hi"]


@pytest.mark.parametrize("record, message", [
    (17, "a record must be a JSON object"),
    ({"messages": []}, "no task_id"),
    ({"task_id": ["12"], "messages": []}, 'task_id must be a string or an integer, not \\["12"\\]'),
    ({"task_id": float("nan"), "messages": []}, "task_id must be a string or an integer, not NaN"),
    ({"task_id": "12", "messages": "x"}, "no messages list"),
    ({"task_id": "12", "messages": [{"role": "tool", "tool_call_id": "z", "content": "?"}]}, "a tool result for no tool call"),
    ({"task_id": "12", "messages": [{"role": "robot", "content": "?"}]}, "unknown role"),
    ({"task_id": "12", "messages": [{"role": "assistant", "tool_calls": [{"id": 1}]}]}, "has no name"),
    ({"task_id": "nope", "messages": []}, "unknown task id"),
])
def test_malformed_records_say_what_is_wrong(record, message):
    with pytest.raises(RecordError, match=message):
        scorer_for("airline").score(record)


def test_score_command_from_any_directory(tmp_path, monkeypatch):
    scorer = scorer_for("airline")
    sims = [gold_simulation(scorer.checker(t)) for t in ("0", "12")]
    sims[1]["termination_reason"] = "too_many_errors"
    sims.insert(1, {"id": "broken", "task_id": "12", "messages": [{"role": "tool", "content": 3}]})
    (tmp_path / "results.json").write_text(json.dumps({"timestamp": "t", "info": {}, "tasks": [], "simulations": sims}))
    monkeypatch.chdir(tmp_path)
    shared = shared_dir("airline")
    args = ["score", str(ROOT / "compiled" / "airline"), "--tasks", str(shared / "tasks.json"), "--db", str(shared / "db.json"),
            "--simulations", "results.json", "--out", "scores.jsonl"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "record 2 (id broken)" in result.output
    lines = [json.loads(x) for x in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert [(x["id"], x["reward"], x["termination_reason"]) for x in lines] == [("0:gold", 1.0, "user_stop"), ("12:gold", 0.0, "too_many_errors")]
    assert set(lines[0]) == {"id", "task_id", "reward", "components", "termination_reason", "details"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "scores.jsonl"]
    (tmp_path / "lines.jsonl").write_text("{not json\n" + json.dumps(sims[0]) + "\n")
    assert isinstance(read_simulations(tmp_path / "lines.jsonl")[0], RecordError)
    result = CliRunner().invoke(main, args[:-4] + ["--simulations", "missing.json", "--out", "x.jsonl"])
    assert result.exit_code == 1 and "cannot read" in result.output and "Traceback" not in result.output


def test_eval_from_any_directory_writes_tau2_results_that_score_the_same(tmp_path, monkeypatch):
    shared = shared_dir("airline")
    monkeypatch.chdir(tmp_path)
    args = ["eval", str(ROOT / "compiled" / "airline"), "--tasks", str(shared / "tasks.json"), "--db", str(shared / "db.json"),
            "--task-ids", "0,12", "--out", "out/results.json", "--tau2-out", "out/tau2.json", "--no-progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no compiled cache in the working directory
    tau2 = json.loads((tmp_path / "out" / "tau2.json").read_text())
    assert set(tau2) == {"timestamp", "info", "tasks", "simulations"} and len(tau2["simulations"]) == 2
    sim = tau2["simulations"][1]
    assert sim["termination_reason"] == "user_stop" and sim["reward_info"]["reward"] == 1.0
    calls = [c for m in sim["messages"] if m.get("tool_calls") for c in m["tool_calls"]]
    assert calls and all(isinstance(c["arguments"], dict) and c["requestor"] == "assistant" for c in calls)
    assert [t["id"] for t in tau2["tasks"]] == ["0", "12"]
    result = CliRunner().invoke(main, ["score", str(ROOT / "compiled" / "airline"), "--tasks", str(shared / "tasks.json"),
                                       "--db", str(shared / "db.json"), "--simulations", "out/tau2.json", "--out", "out/s.jsonl",
                                       "--check-reads"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in (tmp_path / "out" / "s.jsonl").read_text().splitlines()]
    assert [(x["id"], x["reward"]) for x in lines] == [("0:0", 1.0), ("12:0", 1.0)]
    assert all("replay" not in x["details"] for x in lines)


# ---------------------------------------------------------------- the judge, over HTTP

def test_judge_grades_nl_assertions_through_an_openai_endpoint():
    scorer_plain = scorer_for("retail")
    task_id = next(t for t, task in tau2_tasks("retail").items() if task["evaluation_criteria"].get("nl_assertions"))
    n = len(tau2_tasks("retail")[task_id]["evaluation_criteria"]["nl_assertions"])
    record = gold_simulation(scorer_plain.checker(task_id))

    def verdicts(met):
        return completion(json.dumps({"results": [{"expectedOutcome": "x", "reasoning": "r", "metExpectation": met}] * n}))

    for met, expected in ((True, 1.0), (False, 0.0)):
        with ChatServer(lambda req, k: verdicts(met)) as server:
            scorer = load_scorer("retail", judge=ChatJudge.from_spec("openai:judge-model", server.base_url, "k"))
            line = scorer.score(record)
        assert line["components"]["NL_ASSERTION"] == expected and line["reward"] == expected
        request = server.requests[0]
        assert request["model"] == "judge-model" and "Expected outcomes" in request["messages"][1]["content"]
        assert "assistant:" in request["messages"][1]["content"]
    with ChatServer(lambda req, k: completion("I think it went fine.")) as server:
        scorer = load_scorer("retail", judge=ChatJudge.from_spec("openai:m", server.base_url, "k"))
        with pytest.raises(RecordError, match="judge"):
            scorer.score(record)
    with pytest.raises(JudgeError):
        parse_verdicts('{"results": [{"metExpectation": "yes"}]}', 1)
    with pytest.raises(JudgeError):
        ChatJudge.from_spec("anthropic:x")


# ---------------------------------------------------------------- episodes cut short

class FailingUser(ScriptedUser):
    def respond(self, messages, tools):
        if len(messages) > 2:
            raise UserError("the user model is down")
        return super().respond(messages, tools)


@pytest.mark.parametrize("reason", PREMATURE)
def test_episode_result_is_zero_when_the_run_is_cut(compiled_domains, reason):
    domain = compiled_domains("airline")
    task = next(t for t in domain.ir.tasks if t.id == "add-paid-bags")
    episode = Episode(domain, task, FailingUser() if reason == "user_error" else ScriptedUser(),
                      max_steps=2 if reason == "max_steps" else 60, max_errors=3)
    episode.reset()
    # The greeting's answer is step 1; the gold calls, in one message, step 2.
    gold_calls = [{"id": f"g{i}", "function": {"name": c.name, "arguments": dict(c.args)}} for i, c in enumerate(task.gold)]
    step = episode.step({"role": "assistant", "tool_calls": gold_calls})
    if reason == "too_many_errors":
        bad = [{"id": f"b{i}", "function": {"name": "no_such_tool", "arguments": {}}} for i in range(3)]
        step = episode.step({"role": "assistant", "tool_calls": bad})
    elif reason == "agent_error":
        episode.fail_agent("the model is down")
    elif reason == "user_error":
        step = episode.step({"role": "assistant", "content": " ".join(task.communicate)})
    assert episode.done and episode.termination == reason
    assert episode.env.diff() == checker_gold_diff(episode)  # the right writes were made...
    result = episode.result()
    assert result.reward == 0.0 and result.termination == reason  # ...and still the run scores 0
    assert reason in result.breakdown.details["termination"]


def checker_gold_diff(episode):
    return episode.checker.gold_env.diff()


def test_many_skipped_records_are_summed_up_in_one_line(tmp_path):
    # a file of records for tasks TARGET lacks: the first few are listed, then one line by reason
    from click.testing import CliRunner

    from eigendsl.cli import main

    records = tmp_path / "runs.jsonl"
    records.write_text("".join(json.dumps({"task_id": f"nope-{i}", "messages": []}) + "\n" for i in range(40)))
    result = CliRunner().invoke(main, ["score", str(ROOT / "domains" / "airline.eig"), "--simulations", str(records),
                                       "--out", str(tmp_path / "out.jsonl")])
    lines = result.output.splitlines()
    assert result.exit_code == 1 and "scored 0 simulation(s), skipped 40" in result.output
    assert sum(line.startswith("skipped record") for line in lines) == 5
    summary = next(line for line in lines if line.startswith("skipped 40 records in all"))
    assert "40 x unknown task id" in summary and "(first: record 1: unknown task id 'nope-0')" in summary

"""`eigendsl synth`: the offline engine end to end, resuming, model roles over a local
chat-completions server, and export to tau2-bench's task format."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from chat_server import ChatServer, completion
from conftest import ROOT, SHARED, shared_dir

from eigendsl.cli import main
from eigendsl.compiler import compile_file
from eigendsl.interop.tau2_tasks import literal
from eigendsl.compiler import load_domain
from eigendsl.synth.engine import Engine, SynthConfig
from eigendsl.synth.portable import task_files
from eigendsl.verify.reward import TaskChecker

EIGENDSL = Path(sys.executable).parent / "eigendsl"


def kept_ids(out: Path) -> list[str]:
    return [json.loads(line)["task_id"] for line in (out / "rl.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def airline_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "airline"
    config = SynthConfig(target=str(ROOT / "domains" / "airline.eig"), tasks=30, batch=30, seed=3)
    report = Engine(config, out).run()
    return out, report


def test_offline_run_keeps_verified_tasks(airline_run):
    out, report = airline_run
    assert report["kept"] >= 30
    assert len(kept_ids(out)) == report["kept"]
    # every kept task recompiles on its own, replays its gold to reward 1, and the oracle with
    # the scripted user solved it (pass rate in rl.jsonl)
    domain = load_domain(ROOT / "domains" / "airline.eig")
    ids = set(kept_ids(out))
    seen = 0
    for path in task_files(out / "tasks"):
        c = compile_file(path)
        assert c.ok, [d.message for d in c.diagnostics if d.is_error]
        for task in c.domain.tasks:
            if task.id in ids:
                checker = TaskChecker(domain, task)
                assert checker.score(checker.replay(), checker.oracle_messages()).reward == 1.0, task.id
                seen += 1
    assert seen == report["kept"]
    text = "".join(p.read_text() for p in task_files(out / "tasks"))
    rates = [float(x) for x in re.findall(r"kill rate ([0-9.]+) of", text)]
    assert len(rates) == report["kept"] and min(rates) >= 0.8
    assert all(json.loads(line)["pass_rate"] == 1.0 for line in (out / "rl.jsonl").read_text().splitlines())
    kinds = report["coverage"]["kinds"]
    assert kinds.get("change") and (kinds.get("refusal", 0) + kinds.get("transfer", 0)) > 0
    assert report["rounds"][0]["rejections"]  # rejected drafts are counted by reason


def test_sft_records_are_chat_with_tools(airline_run):
    out, _ = airline_run
    first = json.loads((out / "sft.jsonl").read_text().splitlines()[0])
    assert set(first) == {"messages", "tools", "task_id", "plan", "round", "variant"}
    roles = [m["role"] for m in first["messages"]]
    assert roles[0] == "system" and "user" in roles and "tool" in roles
    call = next(m for m in first["messages"] if m.get("tool_calls"))["tool_calls"][0]
    assert call["type"] == "function" and isinstance(call["function"]["arguments"], dict)
    assert first["tools"][0]["type"] == "function"
    user = json.loads((out / "user_sft.jsonl").read_text().splitlines()[0])
    # the user model's view: the agent speaks as `user`, the simulated user answers as `assistant`
    assert [m["role"] for m in user["messages"][:3]] == ["system", "user", "assistant"]
    # the system message is the one `eval --user hf:` and the LLM user play from: the guide, then the scenario
    from eigendsl.episode.users import USER_GUIDE
    assert user["messages"][0]["content"].startswith(USER_GUIDE.split("\n")[0])
    # one format: the same dialogue, named the same way, with arguments as objects on both sides
    assert {k: user[k] for k in ("task_id", "plan", "round", "variant")} == {k: first[k] for k in ("task_id", "plan", "round", "variant")}
    assert first["task_id"] in {json.loads(line)["task_id"] for line in (out / "rl.jsonl").read_text().splitlines()}


def test_scenarios_are_in_the_customers_words(airline_run):
    # the user holds only the ids the domain's words say customers hold and the values they state
    # (no payment ids, no computed bag counts); the reason is no tool's description; persona and
    # style take the right article
    out, _ = airline_run
    domain = load_domain(ROOT / "domains" / "airline.eig")
    allowed = set(domain.words.holds) | set(domain.words.says)
    docs = [re.findall(r"[a-z]+", (t.doc or "").lower()) for t in domain.ir.tools]
    grams = {" ".join(d[i:i + 6]) for d in docs for i in range(len(d) - 5)}
    reasons = []
    for path in task_files(out / "tasks"):
        for task in compile_file(path).domain.tasks:
            assert {re.sub(r"^(second|other)_", "", k) for k in task.user.knows} <= allowed, task.id
            text = " ".join(task.user.texts.values())
            assert not any(g in " ".join(re.findall(r"[a-z]+", text.lower())) for g in grams), task.id
            assert not re.search(r"\b[Aa] (?!one\b|uni|use)[aeio]", text), text  # "A anxious", "a impatient" ("a university", "a one way trip" are right)
            reasons.append(task.user.texts["reason"])
    assert len(set(reasons)) > 0.9 * len(reasons)


def test_report_records_reflection_with_evidence(airline_run):
    _, report = airline_run
    updates = [u for r in report["rounds"] for u in r["reflection"]]
    assert any(u["action"] in ("reweight", "retire") and "attempted" in u["evidence"] for u in updates)
    # a round that finds the target already met attempts nothing, and so times nothing
    assert all(r["seconds"] for r in report["rounds"] if r["attempted"]) and report["rounds"][0]["seconds"]
    assert report["rounds"][0]["diversity"]["workflows"] > 1


def run_cli(*args, timeout=240):
    return subprocess.run([str(EIGENDSL), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_kept_set(tmp_path):
    args = ["synth", "domains/retail.eig", "--tasks", "24", "--batch", "8", "--rounds", "2", "--seed", "5", "--no-progress"]
    whole = run_cli(*args, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    cut = tmp_path / "cut"
    proc = subprocess.Popen([str(EIGENDSL), *args, "--out", str(cut)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        state = cut / "state.json"
        if state.is_file() and json.loads(state.read_text() or "{}").get("kept", 0) > 0:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), stderr
    if proc.returncode == 130:
        assert "rerun the same command to resume" in stderr
    again = run_cli(*args, "--out", str(cut))
    assert again.returncode == 0, again.stderr
    assert kept_ids(cut) == kept_ids(tmp_path / "whole")
    assert (cut / "tasks" / "round_1.eig").read_text() == (tmp_path / "whole" / "tasks" / "round_1.eig").read_text()


@pytest.mark.slow
def test_changed_configuration_is_refused_unless_fresh(tmp_path):
    out = tmp_path / "run"
    first = run_cli("synth", "domains/airline.eig", "--out", str(out), "--tasks", "4", "--rounds", "1", "--batch", "8", "--no-progress")
    assert first.returncode == 0, first.stderr
    changed = run_cli("synth", "domains/airline.eig", "--out", str(out), "--tasks", "4", "--rounds", "1", "--batch", "8", "--seed", "9", "--no-progress")
    assert changed.returncode == 1
    assert "another configuration" in changed.stderr and "Traceback" not in changed.stderr
    fresh = run_cli("synth", "domains/airline.eig", "--out", str(out), "--tasks", "4", "--rounds", "1", "--batch", "8", "--seed", "9", "--fresh", "--no-progress")
    assert fresh.returncode == 0, fresh.stderr
    bad = run_cli("synth", "domains/airline.eig", "--out", str(tmp_path / "x"), "--writer", "gpt-4")
    assert bad.returncode == 1 and "offline` or `openai:MODEL" in bad.stderr


# ---------------------------------------------------------------- model roles


def good_task(request_text: str, extra_gold: str = "", goal: str = "", facts_twice: bool = False) -> str:
    gold = request_text.split("Gold calls that work on the data:\n", 1)[1].strip().splitlines()
    knows = json.loads(re.search(r"Entities the user has: (\{.*\})", request_text).group(1))
    facts = json.loads(re.search(r"Facts: (\{.*\})", request_text).group(1))
    said = " ".join(f"Your {k.replace('_', ' ')} is {str(v).replace('_', ' ')}." for k, v in facts.items())
    fact_lines = [f"    fact {k} = {literal(v)}" for k, v in facts.items()]
    if facts_twice:
        fact_lines += ['    fact cancel_reason = "health"', '    fact cancel_reason = "other"']
    return "\n".join([
        'task "written" {', '  purpose "A model-written task."', "  user {", f'    reason "You need help with your booking. {said}"',
        "    knows { " + ", ".join(f"{k}: {literal(v)}" for k, v in knows.items()) + " }", *fact_lines, "  }",
        "  gold {", *[f"    {g}" for g in gold], *([f"    {extra_gold}"] if extra_gold else []), "  }",
        *([f"  goal {{ {goal} }}"] if goal else []), "  reward { DB, ACTION, POLICY }", "}"])


class ScriptedModels:
    """Answers each role's requests; the writer's first answers cycle through good and bad ones."""

    WRITER = ["prose", "syntax", "good", "vacuous", "contradictory", "failing_gold"]

    def __init__(self):
        self.lock = threading.Lock()
        self.writes = 0
        self.critic = 0
        self.seen: list[str] = []
        self.reflected: list[str] = []

    def __call__(self, request: dict, n: int):
        system = request["messages"][0]["content"] if request["messages"][0]["role"] == "system" else ""
        last = request["messages"][-1]["content"] or ""
        if system.startswith("You plan test tasks"):
            return completion('{"plans": [{"id": "x", "write": ')  # broken JSON
        if system.startswith("You review a test task"):
            with self.lock:
                self.critic += 1
                k = self.critic
            return completion("I think it is fine." if k == 1 else '{"realistic": true, "solvable": true, "why": "plain request"}')
        if system.startswith("You improve the instructions"):
            self.reflected.append(last)
            return completion("Write one task per answer. Give every value the user needs in knows, and state every fact in the reason.")
        if system.startswith("You write test tasks"):
            if len(request["messages"]) > 2:  # a repair: the compiler's diagnostics came back
                first = request["messages"][1]["content"]
                return completion("```eig\n" + good_task(first) + "\n```")
            with self.lock:
                kind = self.WRITER[self.writes % len(self.WRITER)]
                self.writes += 1
                self.seen.append(kind)
            if kind == "prose":
                return completion("Sure! The customer wants to change their booking and the agent should help them.")
            if kind == "syntax":
                return completion("```eig\n" + good_task(last).replace("  gold {", "  gold {{", 1) + "\n```")
            if kind == "vacuous":
                return completion("```eig\n" + good_task(last, goal="1 == 1") + "\n```")
            if kind == "contradictory":
                return completion(good_task(last, facts_twice=True))
            if kind == "failing_gold":
                return completion("```eig\n" + good_task(last, extra_gold='get_reservation_details(reservation_id: "NOPE00")') + "\n```")
            return completion("```eig\n" + good_task(last) + "\n```")
        if system.startswith("You are playing a customer"):
            said = sum(1 for m in request["messages"] if m["role"] == "assistant")
            return completion("I need help with my reservation." if said == 0 else "Thanks. ###STOP###")
        return completion("Sorry, I cannot help with that today.")  # the agent role


def test_model_roles_reject_bad_answers_with_reasons(tmp_path):
    models = ScriptedModels()
    out = tmp_path / "models"
    with ChatServer(models) as server:
        result = CliRunner().invoke(main, [
            "synth", str(ROOT / "domains" / "airline.eig"), "--out", str(out), "--tasks", "3", "--rounds", "1", "--batch", "12",
            "--concurrency", "1", "--no-progress", "--base-url", server.base_url, "--api-key", "test",
            "--writer", "openai:test-model", "--critic", "openai:test-model", "--planner", "openai:test-model",
            "--reflector", "openai:test-model", "--agent", "openai:test-model", "--user", "openai:test-model"])
    assert result.exit_code == 0, result.output + str(result.exception)
    report = json.loads((out / "report.json").read_text())
    reasons = {(r["role"], r["reason"]) for r in report["model_rejections"]}
    assert ("planner", "plans are not valid JSON of the plan model") in reasons
    assert ("writer", "prose instead of code") in reasons
    assert ("writer", "does not compile") in reasons
    assert ("writer", "contradictory facts") in reasons
    assert ("critic", "verdict is not valid JSON of the verdict model") in reasons
    rejections = report["rounds"][0]["rejections"]
    assert rejections.get("goal_vacuous") and rejections.get("gold_call_fails")
    assert {"prose", "syntax", "good", "vacuous", "contradictory", "failing_gold"} <= set(models.seen)
    # prose and syntax errors were repaired from the diagnostics; repaired and good tasks kept
    assert report["kept"] >= 1
    text = "".join(p.read_text() for p in task_files(out / "tasks"))
    assert "writer openai:test-model" in text
    # the model agent failed every episode; the oracle solves the tasks, so the agent is blamed
    assert report["rounds"][0]["attributed"].get("agent", 0) >= 1
    assert all(json.loads(line)["pass_rate"] == 0.0 for line in (out / "rl.jsonl").read_text().splitlines())
    assert (out / "prompts" / "writer_v2.md").is_file()
    assert any(u.get("action") == "rewrite_prompt" for u in report["rounds"][0]["reflection"])
    # the reflector is shown the round's quality figures, as report.json gives them
    shown = json.loads(models.reflected[0].split("Round 1: ", 1)[1])["quality"]
    assert shown == {k: v for k, v in report["rounds"][0]["quality"].items()}


# ---------------------------------------------------------------- export to tau2-bench


def test_export_tau2_replays_to_reward_one(airline_run, tmp_path):
    shared_dir("airline")  # skips when the reference data is absent
    reference = [t for d in ("airline", "retail", "telecom") if (SHARED / d / "tasks.json").is_file()
                 for t in json.loads((SHARED / d / "tasks.json").read_text())]
    out, _ = airline_run
    tasks_eig = out / "tasks" / "round_1.eig"
    exported = tmp_path / "tasks.json"
    result = CliRunner().invoke(main, ["export-tau2", str(tasks_eig), "-o", str(exported)])
    assert result.exit_code == 0, result.output
    tasks = json.loads(exported.read_text())
    top = set().union(*(t.keys() for t in reference))
    basis = {b for t in reference for b in t["evaluation_criteria"]["reward_basis"]}
    criteria = set().union(*(t["evaluation_criteria"].keys() for t in reference))
    scenario = set().union(*(t["user_scenario"].keys() for t in reference))
    instructions = set().union(*(t["user_scenario"]["instructions"].keys() for t in reference if isinstance(t["user_scenario"]["instructions"], dict)))
    for t in tasks:
        assert set(t) <= top and set(t["evaluation_criteria"]) <= criteria and set(t["evaluation_criteria"]["reward_basis"]) <= basis
        assert set(t["user_scenario"]) <= scenario and set(t["user_scenario"]["instructions"]) <= instructions
    # gold replay through `eigendsl replay` ends in the state the eig checker's gold replay
    # reaches (DB = 1), and an oracle evaluation of the exported file earns reward 1 on all
    records = tmp_path / "records.jsonl"
    result = CliRunner().invoke(main, ["replay", str(ROOT / "compiled" / "airline"), "--tau2-tasks", str(exported), "--out", str(records)])
    assert result.exit_code == 0, result.output
    domain = load_domain(ROOT / "compiled" / "airline")
    c = compile_file(tasks_eig)
    by_id = {t.id: t for t in c.domain.tasks}
    for line in records.read_text().splitlines():
        record = json.loads(line)
        gold = TaskChecker(domain, by_id[record["task_id"]]).gold_env
        assert record["db_hash"] == gold.state_hash("agent"), record["task_id"]
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = CliRunner().invoke(main, ["eval", "compiled/airline", "--tasks", str(exported), "--out", str(tmp_path / "eval.json"), "--no-progress"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "eval.json").read_text())["summary"]
    assert summary["pass_hat_k"]["1"] == 1.0 and summary["episodes"] == len(tasks)


def test_shards_merge_without_duplicates(airline_run, tmp_path):
    out, report = airline_run
    result = CliRunner().invoke(main, ["synth-merge", str(tmp_path / "merged"), str(out), str(out)])
    assert result.exit_code == 0, result.output
    assert f"{report['kept']} distinct task(s)" in result.output
    c = compile_file(tmp_path / "merged" / "tasks" / "merged.eig")
    assert c.ok and len([t for t in c.domain.tasks if t.id.startswith("airline-s3-")]) == report["kept"]
    assert len((tmp_path / "merged" / "sft.jsonl").read_text().splitlines()) == report["kept"]


def kept_coverage(out: Path, domain) -> dict:
    """Coverage computed from a run's output alone: the write tools in the kept tasks' gold,
    the guard branches their provenance comments name, and the shares of multi-write and
    refusal or transfer tasks."""
    writes = {t.name for t in domain.ir.tools if t.effect == "writes" and domain.words.asks_for(t.name)}
    seen_tools, branches = set(), set()
    for path in task_files(out / "tasks"):
        for line in path.read_text().splitlines():
            if line.startswith("# branch ") and " · guards " in line:
                branches |= {b.strip() for b in line.split(" · guards ")[1].split(" · ")[0].split(",") if b.strip()}
        c = compile_file(path)
        assert c.ok, [d.message for d in c.diagnostics if d.is_error]
        seen_tools |= {g.name for task in c.domain.tasks for g in task.gold if g.name in writes}
    rows = [json.loads(line) for line in (out / "rl.jsonl").read_text().splitlines()]
    return {"missing_write_tools": sorted(writes - seen_tools), "guard_branches": branches,
            "multi_write": sum(r["writes"] >= 2 for r in rows) / len(rows),
            "refusal_or_transfer": sum(r["branch"] != "allow" for r in rows) / len(rows)}


def test_fresh_writes_every_telecom_tool_no_seed_calls():
    # the write tools no telecom seed task calls get an allowed draft from the data (a line's
    # customer found by the row that lists it; a phone setup that makes a user-side call
    # change something), and a refusal plan can land on another customer's line
    import random

    from eigendsl.synth import graph as tool_graph
    from eigendsl.synth.operators import Writer

    domain = load_domain(ROOT / "domains" / "telecom.eig")
    writer, g = Writer(domain), tool_graph.build(domain.ir)
    rng = random.Random(0)
    for tool in ("suspend_line", "disable_roaming", "disconnect_vpn", "grant_app_permission", "reseat_sim_card", "set_apn_settings"):
        drafts = [writer.fresh("p", tool, tool_graph.feeders(g, tool), rng, "allow") for _ in range(12)]
        assert any(not isinstance(d, str) and d.branch == "allow" and tool in d.workflow for d in drafts), (tool, drafts)
    refusals = [writer.fresh("p", "suspend_line", tool_graph.feeders(g, "suspend_line"), rng, "forbid") for _ in range(12)]
    assert any(not isinstance(d, str) and "identify_customer/suspend_line:forbid" in d.guards for d in refusals)


def test_a_write_customers_never_ask_for_is_not_planned():
    # telecom's words give connect_vpn no need (in tau2-bench its reward depends on the tasks run
    # before it): no plan asks for it, alone or composed, while every asked-for write is planned
    import random

    from eigendsl.synth import graph as tool_graph
    from eigendsl.synth.operators import Writer
    from eigendsl.synth.plans import enumerate_plans

    domain = load_domain(ROOT / "domains" / "telecom.eig")
    assert not domain.words.asks_for("connect_vpn") and domain.words.asks_for("disconnect_vpn")
    writer, g = Writer(domain), tool_graph.build(domain.ir)
    plans = enumerate_plans(writer, g, 10_000, 0)
    partners = {p.id: (p.partner or "").removeprefix("fresh:") for p in plans}
    assert not [p.id for p in plans if "connect_vpn" in (p.write, partners[p.id])]
    asked = {t for t in tool_graph.write_tools(g) if domain.words.asks_for(t)}
    assert asked <= {p.write for p in plans} | set(partners.values())
    assert writer.fresh("p", "connect_vpn", [], random.Random(0), "allow") is not None  # the operator itself still can


def test_a_fresh_request_opens_with_the_lookup_the_customer_makes_possible():
    # retail customers do not hold their user id: a fresh request that reads their profile first
    # (another customer's order, refused) starts by finding the id from the email they say, and
    # the user knows that email, not the id
    import random

    from eigendsl.synth import graph as tool_graph
    from eigendsl.synth.operators import Writer

    domain = load_domain(ROOT / "domains" / "retail.eig")
    writer, g = Writer(domain), tool_graph.build(domain.ir)
    rng = random.Random(3)
    drafts = [writer.fresh("p", "modify_pending_order_address", tool_graph.feeders(g, "modify_pending_order_address"),
                           rng, "forbid") for _ in range(12)]
    kept = [d for d in drafts if not isinstance(d, str) and any(c.name == "get_user_details" for c in d.gold)]
    assert kept, drafts
    for d in kept:
        first = d.gold[0]
        assert first.name in ("find_user_id_by_email", "find_user_id_by_name_zip"), [c.name for c in d.gold]
        assert "user_id" not in d.knows and all(d.knows.get(k) == v for k, v in first.args.items())


@pytest.mark.slow
def test_small_telecom_run_covers_every_write_tool(tmp_path):
    out = tmp_path / "telecom"
    Engine(SynthConfig(target=str(ROOT / "domains" / "telecom.eig"), tasks=300, seed=0), out).run()
    cov = kept_coverage(out, load_domain(ROOT / "domains" / "telecom.eig"))
    assert cov["missing_write_tools"] == []
    assert "identify_customer/suspend_line:forbid" in cov["guard_branches"]
    assert cov["multi_write"] >= 0.3 and cov["refusal_or_transfer"] >= 0.1


def test_a_user_told_to_push_back_does_so_once_and_hears_the_reason_again(airline_run):
    # scenarios whose instructions say "insist once" or "ask why once": the scripted user pushes
    # back on the refusal once, the oracle repeats the guard's reason, and the dialogue ends
    out, _ = airline_run
    pushed = 0
    for line in (out / "user_sft.jsonl").read_text().splitlines():
        record = json.loads(line)
        if "insist once" not in record["messages"][0]["content"] and "ask why once" not in record["messages"][0]["content"]:
            continue
        turns = [m for m in record["messages"][1:] if m.get("content")]
        refusal = next((i for i, m in enumerate(turns) if m["role"] == "user" and re.search(r"sorry|cannot|can't|not possible|allowed to", m["content"])), None)
        if refusal is None:  # a scenario whose request was allowed after all: nothing to push back on
            continue
        pushed += 1
        push, again = turns[refusal + 1], turns[refusal + 2]
        assert push["role"] == "assistant" and "###STOP###" not in push["content"], turns
        assert again["role"] == "user" and again["content"] != turns[refusal]["content"], turns
        assert turns[-1]["role"] == "assistant" and "###STOP###" in turns[-1]["content"]
    assert pushed >= 1

"""Episodes with real agents and users: the OpenAI client over HTTP, the oracle, the scripted user."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from chat_server import ChatServer, completion
from conftest import ROOT, root_for, shared_dir
from eigendsl.cli import main
from eigendsl.compiler import compile_file
from eigendsl.episode.agents import OpenAIAgent, OracleAgent, RandomAgent
from eigendsl.episode.chat import ChatConfig, EndpointError
from eigendsl.episode.episode import STOP, Episode, run_episode
from eigendsl.episode.fidelity import identifiers
from eigendsl.episode.users import LLMUser, ScriptedUser
from eigendsl.eval.runner import pass_hat_k
from eigendsl.interop.tau2 import load_tasks
from eigendsl.interop.tau2_tasks import to_eig
from eigendsl.runtime.environment import CompiledDomain
from eigendsl.compiler import load_domain

AIRLINE_TASK = '''
task "add-bag" {
  user {
    reason "You want one more checked bag on your trip."
    known "You are Theo Gupta."
    knows { user_id: "theo_gupta_8245", reservation_id: "7D3OSK" }
  }
  gold {
    update_reservation_baggages(reservation_id: "7D3OSK", total_baggages: 2, nonfree_baggages: 1, payment_id: "credit_card_7380483")
  }
  goal { reservations["7D3OSK"].total_baggages == 2  reservations["7D3OSK"].nonfree_baggages == 1 }
  communicate { "50" }
  reward { DB, GOAL, COMMUNICATE }
}
'''

TELECOM_TASK = '''
task "airplane" {
  user {
    reason "Your phone has no service."
    known "You are Maria Gonzalez, phone number 555-410-7001."
    knows { phone_number: "555-410-7001" }
  }
  setup {
    user set_user_info(name: "Maria Gonzalez", phone_number: "555-410-7001")
    user turn_airplane_mode_on()
  }
  gold { user toggle_airplane_mode() }
  assert { user assert_service_status(expected_status: "connected") }
  reward { ENV_ASSERTION }
}
'''


def domain_with(tmp_path, name: str, extra: str) -> CompiledDomain:
    for data in [*ROOT.glob(f"domains/{name}.*.json"), *ROOT.glob(f"domains/{name}.words.toml")]:
        shutil.copy(data, tmp_path / data.name)
    (tmp_path / f"{name}.eig").write_text((ROOT / "domains" / f"{name}.eig").read_text() + "\n" + extra)
    c = compile_file(tmp_path / f"{name}.eig")
    assert c.ok, [d.message for d in c.diagnostics if d.is_error]
    return CompiledDomain.from_compilation(c)


def task_of(domain, task_id):
    return next(t for t in domain.ir.tasks if t.id == task_id)


def chat(server, **kw) -> ChatConfig:
    return ChatConfig(model="test-model", base_url=server.base_url, api_key="test", **kw)


# ---------------------------------------------------------------- the protocol


def test_oracle_and_scripted_user_solve_a_task(tmp_path):
    domain = domain_with(tmp_path, "airline", AIRLINE_TASK)
    result = run_episode(domain, task_of(domain, "add-bag"), OracleAgent(), ScriptedUser())
    assert result.reward == 1.0 and result.termination == "user_stop"
    roles = [m["role"] for m in result.messages]
    assert roles[:3] == ["assistant", "user", "assistant"]  # the agent greets first
    assert STOP in result.messages[-1]["content"]
    assert result.fidelity == []


def test_dual_control_user_acts_on_their_phone(tmp_path):
    domain = domain_with(tmp_path, "telecom", TELECOM_TASK)
    task = task_of(domain, "airplane")
    result = run_episode(domain, task, OracleAgent(), ScriptedUser())
    assert result.reward == 1.0, result.breakdown.details
    user_calls = [m for m in result.messages if m["role"] == "user" and m.get("tool_calls")]
    assert [c["name"] for m in user_calls for c in m["tool_calls"]] == ["toggle_airplane_mode"]
    assert any(m["role"] == "tool" and m["side"] == "user" for m in result.messages)
    # Doing nothing leaves the phone in airplane mode: the env assertion fails.
    idle = run_episode(domain, task, RandomAgent(turns=0), ScriptedUser())
    assert idle.reward == 0.0


def test_rl_api_reset_and_step(tmp_path):
    domain = domain_with(tmp_path, "airline", AIRLINE_TASK)
    episode = Episode(domain, task_of(domain, "add-bag"), ScriptedUser())
    view = episode.reset()
    assert view[0]["role"] == "system" and "policy" in view[0]["content"].lower()
    # the user opens with the need; its details come when the agent asks for them
    assert view[-1]["role"] == "user" and "7D3OSK" not in view[-1]["content"]
    asked = episode.step({"role": "assistant", "content": "What is your reservation id?"})
    assert not asked.done and asked.observation[-1]["role"] == "user" and "7D3OSK" in asked.observation[-1]["content"]
    step = episode.step({"role": "assistant", "tool_calls": [
        {"id": "c1", "function": {"name": "get_reservation_details", "arguments": '{"reservation_id": "7D3OSK"}'}}]})
    assert not step.done and step.observation[-1]["role"] == "tool" and '"7D3OSK"' in step.observation[-1]["content"]
    step = episode.step({"role": "assistant", "tool_calls": [{"id": "c2", "function": {"name": "update_reservation_baggages",
        "arguments": {"reservation_id": "7D3OSK", "total_baggages": 2, "nonfree_baggages": 1, "payment_id": "credit_card_7380483"}}}]})
    step = episode.step({"role": "assistant", "content": "Your bag is added; it costs 50 dollars."})
    assert step.done and step.reward == 1.0 and step.info["termination"] == "user_stop"
    result = episode.result()
    assert result.breakdown.components == {"DB": 1.0, "GOAL": 1.0, "COMMUNICATE": 1.0}
    with pytest.raises(RuntimeError):
        episode.step({"role": "assistant", "content": "hello?"})
    # Episodes are cheap and independent: a thousand share one loaded domain.
    many = [Episode(domain, task_of(domain, "add-bag"), ScriptedUser()) for _ in range(1000)]
    for e in many[:50]:
        e.reset()
    assert all(e.env.diff() == {} for e in many[:50])


def test_limits_end_episodes(tmp_path):
    domain = domain_with(tmp_path, "airline", AIRLINE_TASK)
    task = task_of(domain, "add-bag")

    class Stubborn:
        def reset(self, *a):
            pass

        def respond(self, messages, tools):
            return {"role": "assistant", "tool_calls": [{"id": "x", "name": "get_user_details", "arguments": {"user_id": "nobody"}}]}

    errors = run_episode(domain, task, Stubborn(), ScriptedUser(), max_errors=3)
    assert errors.termination == "too_many_errors" and errors.tool_errors == 3
    steps = run_episode(domain, task, Stubborn(), ScriptedUser(), max_steps=5, max_errors=100)
    assert steps.termination == "max_steps"


# ---------------------------------------------------------------- the OpenAI-compatible agent over HTTP


def test_openai_agent_tool_calls_broken_json_and_tokens(tmp_path):
    domain = domain_with(tmp_path, "airline", AIRLINE_TASK)

    def handler(request, n):
        assert request["model"] == "test-model" and request["tools"][0]["type"] == "function"
        if n == 1:
            return completion(tool_calls=[{"name": "get_reservation_details", "arguments": "{not json"}])
        if n == 2:
            assert "not valid JSON" in request["messages"][-1]["content"]
            return completion(tool_calls=[{"name": "update_reservation_baggages", "arguments": {
                "reservation_id": "7D3OSK", "total_baggages": 2, "nonfree_baggages": 1, "payment_id": "credit_card_7380483"}}])
        return completion("Done: one more bag, 50 dollars charged.")

    with ChatServer(handler) as server:
        result = run_episode(domain, task_of(domain, "add-bag"), OpenAIAgent(chat(server)), ScriptedUser())
    assert result.reward == 1.0 and result.tool_errors == 1
    assert result.tokens["agent"] == {"prompt": 33, "completion": 21}
    assert len(server.requests) == 3


def test_malformed_replies_are_retried_then_reported(tmp_path):
    domain = domain_with(tmp_path, "airline", AIRLINE_TASK)
    task = task_of(domain, "add-bag")
    bad = [{"id": "x", "object": "chat.completion", "choices": []},
           {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": None}}]},
           ("raw", "this is not json")]
    with ChatServer(lambda req, n: bad[(n - 1) % 3] if n <= 3 else completion("All done, 50 dollars.")) as server:
        recovered = run_episode(domain, task, OpenAIAgent(chat(server, reply_retries=3)), ScriptedUser())
    assert recovered.termination == "user_stop" and len(server.requests) == 4
    with ChatServer(lambda req, n: bad[0]) as server:
        failed = run_episode(domain, task, OpenAIAgent(chat(server, reply_retries=1)), ScriptedUser())
    assert failed.termination == "agent_error" and "no choices" in failed.messages[-1]["usage"]["error"]
    assert failed.reward == 0.0


def test_server_errors_are_retried_and_timeouts_reported(tmp_path):
    domain = domain_with(tmp_path, "airline", AIRLINE_TASK)
    task = task_of(domain, "add-bag")

    def flaky(req, n):
        return ("status", 503, {"error": {"message": "overloaded"}}) if n <= 2 else completion("Sorry, I cannot help. Goodbye.")

    with ChatServer(flaky) as server:
        result = run_episode(domain, task, OpenAIAgent(chat(server, max_retries=3)), ScriptedUser())
    assert result.termination == "user_stop" and len(server.requests) == 3
    # An endpoint that does not answer, or refuses the key, is no result about the model.
    with ChatServer(lambda req, n: ("delay", 1.5, completion("late"))) as server:
        with pytest.raises(EndpointError, match="did not answer within 0.3s"):
            run_episode(domain, task, OpenAIAgent(chat(server, timeout=0.3, max_retries=1, down_after=0.5, down_tries=2)), ScriptedUser())
    with ChatServer(lambda req, n: ("status", 401, {"error": {"message": "bad key"}})) as server:
        with pytest.raises(EndpointError, match="refused the credentials"):
            run_episode(domain, task, OpenAIAgent(chat(server)), ScriptedUser())


# ---------------------------------------------------------------- the LLM user over HTTP


def test_llm_user_with_tools_and_fidelity_monitor(tmp_path):
    domain = domain_with(tmp_path, "telecom", TELECOM_TASK)
    task = task_of(domain, "airplane")

    def user_model(request, n):
        system = request["messages"][0]["content"]
        assert "555-410-7001" in system and "###STOP###" in system
        assert {t["function"]["name"] for t in request["tools"]} >= {"toggle_airplane_mode", "check_status_bar"}
        if n == 1:
            return completion("My phone 555-410-7001 has no service; my account is C9999 and ticket ZX81QP.")
        if n == 2:
            return completion(tool_calls=[{"name": "toggle_airplane_mode", "arguments": {}}])
        if n == 3:
            assert request["messages"][-1]["role"] == "tool"
            return completion("Done, airplane mode is off now.")
        return completion("###STOP###")

    with ChatServer(user_model) as server:
        result = run_episode(domain, task, OracleAgent(), LLMUser(chat(server)))
    assert result.reward == 1.0 and result.termination == "user_stop"
    assert result.tokens["user"]["completion"] == 28
    flagged = {f["value"] for f in result.fidelity}
    assert flagged == {"C9999", "ZX81QP"}  # invented; the phone number is in the scenario
    assert identifiers("user_id mia_li_3668, order #W2611340, a@b.co") == [
        ("email", "a@b.co"), ("identifier", "mia_li_3668"), ("code", "W2611340")]


def test_user_model_failure_ends_the_episode(tmp_path):
    domain = domain_with(tmp_path, "airline", AIRLINE_TASK)
    empty = {"id": "x", "object": "chat.completion", "choices": []}
    with ChatServer(lambda req, n: empty) as server:
        result = run_episode(domain, task_of(domain, "add-bag"), OracleAgent(), LLMUser(chat(server, max_retries=0)))
    assert result.termination == "user_error" and result.reward == 0.0
    with ChatServer(lambda req, n: ("status", 500, {"error": {"message": "down"}})) as server:
        with pytest.raises(EndpointError, match="the user endpoint .* answered 500: down"):
            run_episode(domain, task_of(domain, "add-bag"), OracleAgent(), LLMUser(chat(server, max_retries=0)))


# ---------------------------------------------------------------- evaluation


def test_pass_hat_k():
    assert pass_hat_k({"a": [1, 1, 0, 0], "b": [1, 1, 1, 1]}, 1) == pytest.approx((0.5 + 1) / 2)
    assert pass_hat_k({"a": [1, 1, 0, 0], "b": [1, 1, 1, 1]}, 2) == pytest.approx((1 / 6 + 1) / 2)
    assert pass_hat_k({"a": [1, 0]}, 3) is None


@pytest.mark.parametrize("domain", ["airline", "retail", "telecom"])
def test_oracle_passes_every_benchmark_task_and_random_does_not(domain, tmp_path):
    shared = shared_dir(domain)
    tasks_file = tmp_path / f"{domain}.eig"
    tasks_file.write_text(to_eig(load_tasks(shared / "tasks.json"), ROOT / "domains" / f"{domain}.eig", tasks_file, "tasks.json"))
    user_db = shared / "user_db.json"
    compiled = load_domain(tasks_file, shared / "db.json", user_db if user_db.is_file() else None, root=root_for(tasks_file))
    oracle = [run_episode(compiled, t, OracleAgent(), ScriptedUser()).reward for t in compiled.ir.tasks]
    assert sum(oracle) == len(oracle)
    do_nothing = [t.id for t in compiled.ir.tasks if run_episode(compiled, t, RandomAgent(turns=0), ScriptedUser()).reward == 1.0]
    randoms = {t.id: run_episode(compiled, t, RandomAgent(), ScriptedUser(), seed=i).reward for i, t in enumerate(compiled.ir.tasks)}
    # A random agent earns reward only where changing nothing is the right outcome.
    assert sum(v for k, v in randoms.items() if k not in do_nothing) <= 0.1 * len(randoms)


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_eval_command_with_openai_agent(tmp_path):
    domain_with(tmp_path, "airline", AIRLINE_TASK)
    agent_calls = []

    def agent_model(req, n):
        agent_calls.append(n)
        return completion("Your bag is added for 50 dollars.")

    out = tmp_path / "results.json"
    with ChatServer(agent_model) as server:
        result = run_cli("eval", tmp_path / "airline.eig", "--agent", "openai:test-model", "--agent-base-url", server.base_url,
                         "--agent-api-key", "sekret-key-123", "--task-ids", "add-bag", "--trials", "3", "--concurrency", "2", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert set(data["summary"]["pass_hat_k"]) == {"1", "2", "3"}
    assert data["summary"]["pass_hat_k"]["1"] == 0.0  # it talks but never adds the bag
    assert data["summary"]["tokens"]["agent"]["prompt"] == 11 * len(agent_calls)
    assert len(data["episodes"]) == 3 and data["config"]["agent"] == {"kind": "openai", "model": "test-model",
                                                                      "base_url": server.base_url}
    assert "sekret-key-123" not in out.read_text() + out.with_name("results.json.jsonl").read_text()
    rerun = run_cli("eval", tmp_path / "airline.eig", "--agent", "openai:test-model", "--agent-base-url", server.base_url,
                    "--task-ids", "add-bag", "--trials", "3", "--out", out, "--no-progress")
    assert rerun.exit_code == 0 and "3 episode(s) done, 0 to run" in rerun.output
    other = run_cli("eval", tmp_path / "airline.eig", "--agent", "random", "--task-ids", "add-bag", "--trials", "3", "--out", out, "--no-progress")
    assert other.exit_code == 1 and "different configuration" in other.output
    judged = run_cli("eval", tmp_path / "airline.eig", "--agent", "openai:test-model", "--agent-base-url", server.base_url,
                     "--task-ids", "add-bag", "--trials", "3", "--out", out, "--no-progress", "--judge", "openai:judge-model",
                     "--judge-base-url", "http://127.0.0.1:9/v1")
    assert judged.exit_code == 1 and "different configuration" in judged.output  # a judge grades differently


def test_interrupted_eval_resumes_without_repeating(tmp_path):
    domain_with(tmp_path, "airline", AIRLINE_TASK + AIRLINE_TASK.replace('"add-bag"', '"add-bag-2"'))
    eigendsl = Path(sys.executable).parent / "eigendsl"

    out = tmp_path / "interrupted.json"
    log = out.with_name(out.name + ".jsonl")
    interrupted = threading.Event()

    def slow_agent(req, n):
        # an episode is one request: the first four are answered, the others wait for the
        # interrupt, so that a busy machine cannot finish the run before the signal arrives
        if n > 4:
            interrupted.wait(60)
        return ("delay", 0.15, completion("All done: 50 dollars."))

    with ChatServer(slow_agent) as server:
        def command(out):
            return [str(eigendsl), "eval", str(tmp_path / "airline.eig"), "--agent", "openai:test-model", "--agent-base-url",
                    server.base_url, "--task-ids", "add-bag,add-bag-2", "--trials", "5", "--out", str(out), "--no-progress"]

        # the default SIGINT disposition in the child: one started from a background job inherits
        # "ignore", and Python then installs no KeyboardInterrupt handler
        proc = subprocess.Popen(command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.time() + 60
        while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 3):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        interrupted.set()
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130 and "rerun the same command to resume" in stderr
        finished = len(log.read_text().splitlines())
        assert 3 <= finished < 10
        resumed = subprocess.run(command(out), capture_output=True, text=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr
        assert f"{finished} episode(s) done, {10 - finished} to run" in resumed.stdout
        whole = tmp_path / "whole.json"
        assert subprocess.run(command(whole), capture_output=True, text=True, timeout=120).returncode == 0
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert sorted((e["task_id"], e["trial"]) for e in lines) == sorted((t, k) for t in ("add-bag", "add-bag-2") for k in range(5))

    def essence(path):
        data = json.loads(path.read_text())
        return data["summary"]["pass_hat_k"], [(e["task_id"], e["trial"], e["reward"], e["termination"], e["steps"]) for e in data["episodes"]]

    assert essence(out) == essence(whole)

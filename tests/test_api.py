"""The public Python API (eigendsl.api): its names, loading, episodes stepped with OpenAI-style
messages, rewards with components and verdicts, scoring, and errors as exceptions with diagnostics."""

from __future__ import annotations

import json

import pytest

import eigendsl.api as eig
from eigendsl.episode.agents import OracleAgent

from conftest import ROOT

AIRLINE = ROOT / "compiled" / "airline"


@pytest.fixture(scope="module")
def airline():
    return eig.load(AIRLINE)


def play_oracle(domain, task_id, user="scripted"):
    episode = domain.episode(task_id, user=user)
    messages = episode.reset()
    agent = OracleAgent()
    agent.reset(domain.task(task_id), domain.compiled, 0)
    while not episode.done:
        messages = episode.step(agent.respond(messages, domain.tools)).observation
    return episode


def test_the_public_names_are_stable():
    assert set(eig.__all__) == {"load", "task_files", "Domain", "EpisodeRun", "Session", "Reward", "LoadError",
                                "TaskError", "NoUser", "StepResult"}
    assert all(hasattr(eig, n) for n in eig.__all__)


def test_a_compiled_folder_and_its_source_load_alike(airline):
    source = eig.load(ROOT / "domains" / "airline.eig")
    assert airline.name == source.name == "airline"
    assert airline.task_ids == source.task_ids and len(airline.task_ids) >= 5
    assert {t["function"]["name"] for t in airline.tools} >= {"get_user_details", "cancel_reservation"}
    assert all(t["function"]["description"] and t["function"]["parameters"]["type"] == "object" for t in airline.tools)
    assert airline.policy == airline.compiled.policy_text and len(airline.policy) > 200


def test_the_oracle_earns_1_with_components_and_verdicts(airline):
    episode = play_oracle(airline, "cancel-within-a-day")
    reward = episode.reward()
    assert reward.reward == 1.0 and reward.termination == "user_stop" and not reward.premature
    assert set(reward.components) == {"DB", "GOAL", "ACTION", "COMMUNICATE", "POLICY"}
    assert [v["tool"] for v in reward.verdicts][-1] == "cancel_reservation"
    assert all(g["verdict"] == "ok" for v in reward.verdicts for g in v["guards"])
    assert any(v["guards"] for v in reward.verdicts)  # the write's policies were checked
    json.dumps(reward.to_json())


def test_an_agent_that_only_talks_earns_0(airline):
    episode = airline.episode("cancel-within-a-day")
    messages = episode.reset()
    assert messages[0]["role"] == "system" and messages[-1]["role"] == "user"
    while not episode.done:
        step = episode.step({"role": "assistant", "content": "Is there anything else I can help you with?"})
    assert step.done and step.reward == 0.0 and episode.reward().components["DB"] == 0.0
    cut = airline.episode("cancel-within-a-day", max_steps=2)
    cut.reset()
    while not cut.done:  # tool calls, no words: the user never gets a turn to end it
        cut.step({"role": "assistant", "tool_calls": [{"id": "r", "type": "function", "function": {
            "name": "get_reservation_details", "arguments": '{"reservation_id": "MHZSTK"}'}}]})
    assert cut.reward().termination == "max_steps" and cut.reward().premature  # scored 0, nothing evaluated
    assert set(cut.reward().components.values()) == {None}


def test_no_user_opens_with_the_scenario_and_stops_at_the_first_text(airline):
    episode = airline.episode("cancel-within-a-day", user="none")
    opening = episode.reset()[-1]["content"]
    task = airline.task("cancel-within-a-day")
    assert all(str(v) in opening for v in task.user.knows.values())
    step = episode.step({"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
        "name": "get_user_details", "arguments": json.dumps({"user_id": task.user.knows.get("user_id", "x")})}}]})
    assert not step.done and step.observation[-1]["role"] == "tool"
    step = episode.step({"role": "assistant", "content": "Done."})
    assert step.done and episode.reward().termination == "user_stop"


def test_a_model_user_plays_through_an_openai_endpoint(airline):
    pytest.importorskip("openai")
    from chat_server import ChatServer, completion

    said = iter(["I want to cancel reservation MHZSTK.", "###STOP###"])
    with ChatServer(lambda request, n: completion(next(said))) as server:
        episode = airline.episode("cancel-within-a-day", user="openai:test-model", base_url=server.base_url, api_key="k")
        assert episode.reset()[-1] == {"role": "user", "content": "I want to cancel reservation MHZSTK."}
        step = episode.step({"role": "assistant", "content": "Sorry, I cannot help with that."})
        scenario = server.requests[0]["messages"][0]["content"]
    assert step.done and episode.reward().termination == "user_stop" and step.reward == 0.0
    assert "nadia_alvarez_6074" in scenario  # the user model was prompted with the task's scenario


def test_an_outside_trajectory_is_scored(airline):
    played = play_oracle(airline, "add-paid-bags").result()
    assert airline.score({"task_id": "add-paid-bags", "messages": played["messages"]}).reward == 1.0
    idle = airline.score({"task_id": "add-paid-bags", "messages": [{"role": "assistant", "content": "Bye."}]})
    assert idle.reward == 0.0 and idle.components["DB"] == 0.0
    with pytest.raises(eig.TaskError, match="unknown task id"):
        airline.score({"task_id": "no-such-task", "messages": []})


def test_a_session_runs_tools_directly_and_reports_bad_calls_as_results(airline):
    task = airline.task("cancel-within-a-day")
    session = airline.session("cancel-within-a-day")
    for call in task.gold:
        assert session.call(call.name, dict(call.args))["ok"]
    assert session.reward(task.communicate).reward == 1.0
    bad = session.call("no_such_tool", {})
    assert not bad["ok"] and bad["text"].startswith("Error:")
    assert not session.call("cancel_reservation", {"reservation_id": 5})["ok"]
    with pytest.raises(eig.TaskError):
        airline.session().reward()


def test_tau2_json_tasks_load(tmp_path, monkeypatch):
    monkeypatch.setenv("EIGENDSL_CACHE", str(tmp_path))
    domain = eig.load(AIRLINE, ROOT / "examples" / "airline_tasks.json")
    assert "look-up-trip" in domain.task_ids and domain.name == "airline"


def test_failures_are_exceptions_with_diagnostics(tmp_path, airline):
    bad = tmp_path / "bad.eig"
    bad.write_text('domain d "x" {\n  tool oops(\n}\n')
    with pytest.raises(eig.LoadError) as caught:
        eig.load(bad)
    assert caught.value.diagnostics and caught.value.diagnostics[0].span.line >= 1
    with pytest.raises(eig.LoadError, match="no such"):
        eig.load(AIRLINE, tmp_path / "missing.eig")
    with pytest.raises(eig.LoadError, match="not a synth output folder"):
        eig.load(AIRLINE, tmp_path)
    tasks = tmp_path / "tasks.eig"
    tasks.write_text(f'import "{(ROOT / "domains" / "airline.eig").as_posix()}"\n\ntask t1 {{ user {{ nonsense }} }}\n')
    with pytest.raises(eig.LoadError) as caught:
        eig.load(AIRLINE, tasks, root=str(ROOT.parent))
    assert caught.value.diagnostics and caught.value.sources
    with pytest.raises(eig.TaskError, match="unknown task id"):
        airline.episode("no-such-task")
    with pytest.raises(ValueError, match="unknown user"):
        airline.episode("cancel-within-a-day", user="robot")

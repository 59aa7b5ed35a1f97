"""The verifiers door: verifiers' own rollout loop, an AsyncOpenAI client and the local chat server; the oracle's messages earn 1, an idle agent 0."""

from __future__ import annotations

import asyncio
import json

import pytest

vf = pytest.importorskip("verifiers", reason="verifiers is not installed (pip install 'eigendsl[verifiers]')")
if not hasattr(vf, "MultiTurnEnv"):  # 0.4's v1 stack has no in-process multi-turn environment
    pytest.skip(f"verifiers {vf.__version__} has no MultiTurnEnv (the adapter needs 0.3.x)", allow_module_level=True)

from openai import AsyncOpenAI  # noqa: E402

import eigendsl.api as eig  # noqa: E402
from eigendsl.episode.agents import OracleAgent  # noqa: E402

from chat_server import ChatServer, completion  # noqa: E402
from conftest import ROOT  # noqa: E402

TASKS = ["cancel-within-a-day", "refuse-basic-economy-cancel"]


@pytest.fixture(scope="module")
def domain():
    return eig.load(ROOT / "compiled" / "airline")


@pytest.fixture(scope="module")
def env(domain):
    from eigendsl.adapters.verifiers import load_environment

    return load_environment(domain, task_ids=TASKS)


def oracle_server(domain):
    """A chat server that answers each conversation as the oracle of the task whose opening it carries."""
    openings = {}
    for task_id in TASKS:
        messages = domain.episode(task_id).reset()
        openings[next(m["content"] for m in messages if m["role"] == "user")] = task_id
    oracles = {}

    def handler(request, n):
        opening = next(m["content"] for m in request["messages"] if m["role"] == "user")
        task_id = openings[opening]
        if task_id not in oracles:
            oracles[task_id] = OracleAgent()
            oracles[task_id].reset(domain.task(task_id), domain.compiled, 0)
        said = oracles[task_id].respond(request["messages"], request.get("tools") or [])
        calls = [{"name": c["name"], "arguments": c["arguments"]} for c in said.get("tool_calls") or ()]
        return completion(said.get("content"), calls or None)

    return handler


def plain(message) -> dict:
    """A message of verifiers' output (a pydantic model, or a dict whose tool calls are JSON strings) as a dict."""
    m = message.model_dump() if hasattr(message, "model_dump") else dict(message)
    m["tool_calls"] = [json.loads(c) if isinstance(c, str) else c for c in m.get("tool_calls") or ()]
    return m


def generate(env, server):
    """verifiers' own loop (Environment.generate: rollouts, then the rubric) with an AsyncOpenAI client;
    each output also carries the episode's own record (state column `eig`)."""
    async def run():
        client = vf.OpenAIChatCompletionsClient(AsyncOpenAI(base_url=server.base_url, api_key="test", max_retries=0))
        return await env.generate(env.get_dataset(), client=client, model="test-model", max_concurrent=2,
                                  on_progress=lambda *a: None, state_columns=["eig"])

    return asyncio.run(run())


def test_the_dataset_is_the_tasks_and_the_rubric_the_checker(env, domain):
    rows = env.get_dataset()
    assert [r["info"]["task_id"] for r in rows] == TASKS
    first = rows[0]["prompt"]
    assert first[0] == {"role": "system", "content": domain.policy} and first[-1]["role"] == "user"
    assert first == domain.episode(TASKS[0]).reset()  # what the episode opens with, greeting included
    assert sorted(t.name for t in env.tool_defs) == sorted(t["function"]["name"] for t in domain.tools)
    rubric = env.rubric.rubrics[0]
    assert [f.__name__ for f in rubric.funcs][0] == "reward" and rubric.weights[0] == 1.0
    counted = {c.value for t in TASKS for c in domain.task(t).reward}
    assert {f.__name__ for f in rubric.funcs[1:]} == counted and set(rubric.weights[1:]) == {0.0}


def test_the_oracle_earns_1_through_verifiers_rollout_loop(env, domain):
    with ChatServer(oracle_server(domain)) as server:
        results = generate(env, server)
        requests = server.requests
    outputs = results["outputs"]
    assert [o["info"]["task_id"] for o in outputs] == TASKS
    for out in outputs:
        assert out["reward"] == 1.0, (out["info"], out.get("stop_condition"), out["metrics"])
        assert out["stop_condition"] == "has_final_env_response" and out["eig"]["termination"] == "user_stop"
        assert out["eig"]["task_id"] == out["info"]["task_id"] and out["eig"]["reward"] == 1.0
        assert all(v == 1.0 for k, v in out["metrics"].items() if k in {"DB", "ACTION", "COMMUNICATE"}), out["metrics"]
        completion_ = [plain(m) for m in out["completion"]]
        assert completion_[-1]["role"] == "user" and "###STOP###" in completion_[-1]["content"]
    cancelled = [plain(m) for m in outputs[0]["completion"]]
    calls = [c["name"] for m in cancelled if m["role"] == "assistant" for c in m.get("tool_calls") or ()]
    assert "cancel_reservation" in calls
    tool_answers = [m for m in cancelled if m["role"] == "tool"]
    assert tool_answers and json.loads(tool_answers[0]["content"])  # the tools' real results came back
    assert requests and all(r["model"] == "test-model" and r.get("tools") for r in requests)


def test_an_idle_agent_earns_0(env, domain):
    with ChatServer(lambda request, n: completion("ok")) as server:
        results = generate(env, server)
    for out in results["outputs"]:
        assert out["reward"] == 0.0 and out["eig"]["termination"] in {"user_stop", "max_steps"}
        assert out["metrics"]["ACTION"] == 0.0  # the gold actions were never called
        said = [plain(m) for m in out["completion"]]
        assert said[0]["role"] == "assistant" and said[0]["content"] == "ok" and said[1]["role"] == "user"


def test_a_model_error_ends_the_episode_at_reward_0(domain):
    from eigendsl.adapters.verifiers import load_environment

    env = load_environment(domain, task_ids=TASKS[:1])
    with ChatServer(lambda request, n: ("status", 400, {"error": {"message": "bad request"}})) as server:
        out = generate(env, server)["outputs"][0]
    assert out["reward"] == 0.0 and out["stop_condition"] == "has_error" and out["eig"]["termination"] == "agent_error"
    assert out["metrics"]["DB"] == 0.0  # the run scored 0 without evaluating: not a component it passed


def test_verifiers_own_loader_finds_the_adapter():
    env = vf.load_environment("eigendsl.adapters.verifiers", target=str(ROOT / "compiled" / "airline"), task_ids=TASKS[:1])
    assert [r["info"]["task_id"] for r in env.get_dataset()] == TASKS[:1]


def test_an_llm_user_opens_each_rollout_live(domain):
    from eigendsl.adapters.verifiers import load_environment

    def handler(request, n):
        if request["model"] == "test-user":  # the simulated user's model: it opens, then stops
            said = sum(m["role"] == "assistant" for m in request["messages"])
            return completion("Please cancel my reservation MHZSTK." if said == 0 else "###STOP###")
        return completion("ok")  # the agent under training

    with ChatServer(handler) as server:
        env = load_environment(domain, task_ids=TASKS[:1], user="openai:test-user",
                               user_options={"base_url": server.base_url, "api_key": "test"})
        row_opening = env.get_dataset()[0]["prompt"][-1]["content"]
        out = generate(env, server)["outputs"][0]
    opening = plain(out["prompt"][-1])
    assert opening["role"] == "user" and opening["content"] == "Please cancel my reservation MHZSTK." != row_opening
    said = [plain(m) for m in out["completion"]]
    assert [m["role"] for m in said] == ["assistant", "user"] and said[-1]["content"] == "###STOP###"
    assert out["reward"] == 0.0 and out["eig"]["termination"] == "user_stop"


def test_a_user_class_gives_each_concurrent_rollout_its_own_user(domain):
    from eigendsl.adapters.verifiers import load_environment
    from eigendsl.episode.users import ScriptedUser

    env = load_environment(domain, task_ids=TASKS, user=ScriptedUser)
    with ChatServer(oracle_server(domain)) as server:
        outputs = generate(env, server)["outputs"]
    assert [o["reward"] for o in outputs] == [1.0, 1.0]

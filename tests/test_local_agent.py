"""The local transformers agent: chat template with tools, generation, tool-call parsing."""

from __future__ import annotations

import json

import pytest

from eigendsl.episode.local import parse_generation


def test_parse_generation():
    text = 'Let me look.<tool_call>{"name": "get_user_details", "arguments": {"user_id": "a_1"}}</tool_call>'
    msg = parse_generation(text)
    assert msg["content"] == "Let me look." and msg["tool_calls"][0]["name"] == "get_user_details"
    assert msg["tool_calls"][0]["arguments"] == {"user_id": "a_1"}
    broken = parse_generation("<tool_call>{oops</tool_call>")
    assert broken["tool_calls"][0] == {"id": "local_0", "name": "", "arguments": "{oops"}
    assert parse_generation("just text") == {"role": "assistant", "content": "just text"}
    two = parse_generation('<tool_call>{"name": "a", "arguments": {}}</tool_call>\n<tool_call>{"name": "b", "parameters": {"x": 1}}')
    assert [c["name"] for c in two["tool_calls"]] == ["a", "b"] and two["tool_calls"][1]["arguments"] == {"x": 1}


def test_tiny_local_model_plays_an_episode(tmp_path, compiled_domains):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_model import build_tiny_model

    from eigendsl.episode.episode import Episode
    from eigendsl.episode.local import TransformersAgent
    from eigendsl.episode.users import ScriptedUser

    domain = compiled_domains("airline")
    corpus = [domain.policy_text, json.dumps(domain.tool_schemas("agent")), "Hi! How can I help you today?"] * 3
    folder = build_tiny_model(tmp_path / "tiny", corpus)
    model, tokenizer = TransformersAgent.load(str(folder))
    agent = TransformersAgent(model, tokenizer, max_new_tokens=12)
    prompt = agent.prompt([{"role": "system", "content": "policy"}, {"role": "user", "content": "hello"}], domain.tool_schemas("agent"))
    assert "get_user_details" in prompt and prompt.rstrip().endswith("<|assistant|>")

    from eigendsl import ir

    task = ir.TaskDef("t", {}, ir.UserScenario({"reason": "I want to check reservation 7D3OSK."}),
                      (), (), (), (), (), (), ("DB",))
    episode = Episode(domain, task, ScriptedUser(), max_steps=6)
    messages = episode.reset()
    agent.reset(task, domain, seed=1)
    for _ in range(3):
        if episode.done:
            break
        reply = agent.respond(messages, episode.tools)
        assert reply["role"] == "assistant" and reply["usage"]["completion_tokens"] <= 12
        messages = episode.step(reply).observation
    assert episode.result().reward in (0.0, 1.0)

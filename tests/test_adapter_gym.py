"""The Gymnasium door: a registered text environment per domain; the oracle's messages earn 1, an idle agent 0."""

from __future__ import annotations

import pytest

gymnasium = pytest.importorskip("gymnasium")

from eigendsl.episode.agents import OracleAgent  # noqa: E402

from conftest import ROOT  # noqa: E402

TASK = "cancel-within-a-day"


def run(env, task_id, policy):
    messages, info = env.reset(seed=0, options={"task_id": task_id})
    assert env.observation_space.contains(messages) and info["task_id"] == task_id
    total = 0.0
    while True:
        action = policy(messages, info.get("tools") or env.unwrapped.domain.tools)
        assert env.action_space.contains(action)
        messages, reward, terminated, truncated, info = env.step(action)
        total += reward
        if terminated or truncated:
            return total, info, terminated


def test_the_project_domains_are_registered_and_the_oracle_earns_1():
    import eigendsl.adapters.gym  # noqa: F401  registers eigendsl/airline-v0 and the others

    assert {"eigendsl/airline-v0", "eigendsl/retail-v0", "eigendsl/telecom-v0"} <= set(gymnasium.registry)
    env = gymnasium.make("eigendsl/airline-v0")
    oracle = OracleAgent()
    oracle.reset(env.unwrapped.domain.task(TASK), env.unwrapped.domain.compiled, 0)
    reward, info, terminated = run(env, TASK, oracle.respond)
    assert reward == 1.0 and terminated and info["components"]["DB"] == 1.0 and info["termination"] == "user_stop"
    assert info["verdicts"][-1]["tool"] == "cancel_reservation"


def test_an_idle_agent_earns_0_and_a_cut_episode_is_truncated():
    from eigendsl.adapters.gym import register

    env = gymnasium.make(register(ROOT / "compiled" / "airline", env_id="eigendsl/airline-short-v0", max_steps=4))
    idle = lambda messages, tools: {"role": "assistant", "content": "One moment please."}  # noqa: E731
    reward, info, terminated = run(env, TASK, idle)
    assert reward == 0.0
    assert (terminated, info["termination"]) in {(True, "user_stop"), (False, "max_steps")}
    reward, info, terminated = run(env, TASK, lambda m, t: {"role": "assistant", "tool_calls": [
        {"id": "x", "type": "function", "function": {"name": "get_user_details", "arguments": "{}"}}]})
    assert reward == 0.0 and not terminated and info["termination"] in {"max_steps", "too_many_errors"}


def test_a_seeded_reset_draws_a_task_of_the_domain():
    from eigendsl.adapters.gym import EigEnv

    env = EigEnv(ROOT / "compiled" / "airline", user="none")
    _, first = env.reset(seed=3)
    _, again = env.reset(seed=3)
    assert first["task_id"] == again["task_id"] in env.domain.task_ids

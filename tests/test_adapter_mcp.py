"""The MCP door: `eigendsl serve TARGET --mcp` in a real subprocess, driven by the SDK's own client
over stdio and streamable HTTP: the airline tools, a booking and a cancellation through them, bad
calls answered with the tool's error, the policy resource, the reward; sessions kept apart."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("mcp_types", reason="the MCP door needs mcp 2 (the adapters extra)")

import anyio  # noqa: E402
from mcp import Client, StdioServerParameters, stdio_client  # noqa: E402

import eigendsl.api as eig  # noqa: E402

from conftest import ROOT  # noqa: E402

AIRLINE = ROOT / "compiled" / "airline"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def serve_args(*extra) -> list[str]:
    return ["-m", "eigendsl.cli", "serve", str(AIRLINE), "--mcp", *extra]


async def play_gold(client, task) -> dict:
    for call in task.gold:
        result = await client.call_tool(call.name, dict(call.args))
        assert not result.is_error, result.content[0].text
    reward = await client.call_tool("episode_reward", {"messages": list(task.communicate)})
    return json.loads(reward.content[0].text)


def test_stdio_lists_the_tools_books_and_answers_bad_calls_with_their_error():
    task = eig.load(AIRLINE).task("book-evening-flight")

    async def main():
        params = StdioServerParameters(command=sys.executable, args=serve_args("--task", task.id), env=ENV, cwd=str(ROOT))
        async with Client(stdio_client(params)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert {"book_reservation", "cancel_reservation", "episode_reward"} <= set(tools)
            assert tools["book_reservation"].input_schema["properties"]["flights"]["type"] == "array"
            assert tools["cancel_reservation"].description
            unknown = await client.call_tool("no_such_tool", {})
            wrong = await client.call_tool("book_reservation", {"user_id": 7})
            assert unknown.is_error and wrong.is_error and wrong.content[0].text.startswith("Error:")
            before = json.loads((await client.read_resource("eig://reward")).contents[0].text)
            assert before["reward"] == 0.0
            reward = await play_gold(client, task)
            assert reward["reward"] == 1.0 and reward["components"]["DB"] == 1.0
            assert reward["verdicts"][-1]["tool"] == "book_reservation"
            policy = (await client.read_resource("eig://policy")).contents[0].text
            assert policy.startswith("# Airline") and "eig://task" in {str(r.uri) for r in (await client.list_resources()).resources}

    anyio.run(main)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server():
    port = free_port()
    process = subprocess.Popen([sys.executable, *serve_args("--task", "cancel-within-a-day", "--http", "--port", str(port))],
                               env=ENV, cwd=str(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    process.terminate()
    process.wait(timeout=10)


def test_http_sessions_each_have_their_own_environment(http_server):
    task = eig.load(AIRLINE).task("cancel-within-a-day")

    async def main():
        async with Client(http_server) as cancelling, Client(http_server) as idle:
            assert "cancel_reservation" in {t.name for t in (await idle.list_tools()).tools}
            reward = await play_gold(cancelling, task)
            assert reward["reward"] == 1.0
            untouched = json.loads((await idle.call_tool("episode_reward", {})).content[0].text)
            assert untouched["reward"] == 0.0 and untouched["verdicts"] == []  # nothing of the other session
            seen = {}
            for name, client in (("cancelling", cancelling), ("idle", idle)):
                details = await client.call_tool("get_reservation_details", {"reservation_id": "MHZSTK"})
                seen[name] = json.loads(details.content[0].text)["status"]
            assert seen["cancelling"] == "cancelled" != seen["idle"]  # each session keeps its own state
        async with Client(http_server) as fresh:  # a new session starts from the task's initial state
            assert (await play_gold(fresh, task))["reward"] == 1.0

    anyio.run(main)


def test_serve_without_a_known_task_says_so():
    result = subprocess.run([sys.executable, *serve_args("--task", "no-such-task")], env=ENV, cwd=str(ROOT),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "unknown task id" in result.stderr and "Traceback" not in result.stderr

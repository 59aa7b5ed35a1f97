"""An MCP server on a compiled domain (the official `mcp` SDK): its tools, its policy as a resource, a fresh environment per session, the reward.

    eigendsl serve compiled/airline --mcp                       # stdio
    eigendsl serve compiled/airline --mcp --http --port 8765    # streamable HTTP at /mcp
    eigendsl serve compiled/airline --mcp --task cancel-within-a-day

Each client session gets its own environment (the task's initial state with its setup applied
when --task names one, else the domain's data); every session shares the loaded domain, so a
session costs one overlay on the shared base state. Tools:

- the domain's agent tools, with their JSON schemas and descriptions; a bad call (unknown tool,
  wrong arguments, a guard that refuses) answers with the tool's own error (isError), never an
  exception that ends the session;
- `episode_reward` (with --task): the reward of the state reached so far, its components and
  every call's policy verdicts; `messages` are the agent's texts to the user, which the
  COMMUNICATE component reads.

Resources: `eig://policy` (the policy document the agent reads), `eig://task` (with --task: the
user's scenario) and `eig://reward` (the reward as JSON, as `episode_reward` gives it).

Sessions need a connection to hang an environment on. Over stdio the process is one; over HTTP the
server advertises only the handshake protocol versions in `server/discover`, so the SDK's clients
open a stateful session (Mcp-Session-Id): a 2026-07-28 request stands alone, with nothing to keep
an environment in.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

from ..api import Domain, Session, TaskError
from ..episode.users import scenario_prompt

REWARD_TOOL = "episode_reward"
POLICY, TASK, REWARD = "eig://policy", "eig://task", "eig://reward"


class Sessions:
    """One api.Session per client session, dropped with it (memory stays flat). Over stdio the
    process is the one session; over HTTP each MCP session (Mcp-Session-Id) is a connection."""

    def __init__(self, domain: Domain, task_id: str | None, per_connection: bool):
        self.domain, self.task_id = domain, task_id
        self.per_connection = per_connection
        self.by_connection: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.only: Session | None = None
        self.server: Server | None = None  # over HTTP, to prune the SDK's records of ended sessions

    def of(self, ctx) -> Session:
        if not self.per_connection:  # stdio: a 2026-07-28 client's requests each come on a connection of their own
            self.only = self.only or self.domain.session(self.task_id)
            return self.only
        connection = ctx.session._connection
        session = self.by_connection.get(connection)
        if session is None:
            self.prune()
            session = self.by_connection[connection] = self.domain.session(self.task_id)
        return session

    def prune(self) -> None:
        """Forget the transports of sessions the clients ended: mcp 2.0.0's session manager keeps
        each terminated one in its table (its clean-up skips terminated transports), a few KB per
        session that would grow without end on a long-running server."""
        manager = getattr(self.server, "_session_manager", None)
        table = getattr(manager, "_server_instances", None)
        if not isinstance(table, dict):
            return
        for session_id in [k for k, t in table.items() if getattr(t, "is_terminated", False)]:
            table.pop(session_id, None)
            getattr(manager, "_session_owners", {}).pop(session_id, None)


def text(value: Any) -> list[types.TextContent]:
    return [types.TextContent(type="text", text=value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))]


def build_server(domain: Domain, task_id: str | None = None, http: bool = False) -> Server:
    """The MCP server for one loaded domain (and, optionally, one task every session starts on);
    `http`: many sessions, one per MCP session, else the stdio process's one."""
    if task_id is not None:
        domain.session(task_id)  # an unknown task or a failing setup is the caller's error, now
    sessions = Sessions(domain, task_id, per_connection=http)
    tools = [types.Tool(name=t["function"]["name"], description=t["function"].get("description") or None,
                        input_schema=t["function"]["parameters"]) for t in domain.tools]
    if task_id is not None:
        if any(t.name == REWARD_TOOL for t in tools):
            raise TaskError(f"the domain has a tool named {REWARD_TOOL}, which the server needs for the reward")
        tools.append(types.Tool(
            name=REWARD_TOOL, input_schema={"type": "object", "properties": {"messages": {
                "type": "array", "items": {"type": "string"}, "description": "What the agent told the user (for COMMUNICATE)."}}},
            description="The task's reward for the state reached so far: the reward, its components and each call's policy verdicts."))
    names = {t.name for t in tools}

    async def list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        session = sessions.of(ctx)
        arguments = params.arguments or {}
        if params.name == REWARD_TOOL and task_id is not None:
            messages = arguments.get("messages") or []
            if not isinstance(messages, list):
                return types.CallToolResult(content=text("Error: messages must be a list of strings"), is_error=True)
            reward = session.reward([m for m in messages if isinstance(m, str)]).to_json()
            return types.CallToolResult(content=text(reward), structured_content=reward)
        if params.name not in names:
            return types.CallToolResult(content=text(f"Error: unknown tool {params.name!r}"), is_error=True)
        result = session.call(params.name, arguments)
        return types.CallToolResult(content=text(result["text"]), is_error=not result["ok"])

    async def list_resources(ctx, params) -> types.ListResourcesResult:
        resources = [types.Resource(name="policy", uri=POLICY, mime_type="text/markdown",
                                    description=f"The {domain.name} policy the agent follows.")]
        if task_id is not None:
            resources += [types.Resource(name="task", uri=TASK, mime_type="text/plain", description="The user's scenario."),
                          types.Resource(name="reward", uri=REWARD, mime_type="application/json",
                                         description="This session's reward so far, its components and verdicts.")]
        return types.ListResourcesResult(resources=resources)

    async def read_resource(ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        if uri == POLICY:
            body, mime = domain.policy, "text/markdown"
        elif uri == TASK and task_id is not None:
            body, mime = scenario_prompt(domain.task(task_id)), "text/plain"
        elif uri == REWARD and task_id is not None:
            body, mime = json.dumps(sessions.of(ctx).reward().to_json(), ensure_ascii=False), "application/json"
        else:
            raise ValueError(f"no resource {uri}")
        return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type=mime, text=body)])

    server = Server(f"eigendsl-{domain.name}", instructions=domain.policy, on_list_tools=list_tools,
                    on_call_tool=call_tool, on_list_resources=list_resources, on_read_resource=read_resource)
    if http:
        sessions_only(server)
        sessions.server = server
    return server


def serve_stdio(server: Server) -> None:
    import anyio
    from mcp.server.stdio import stdio_server

    async def main():
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def sessions_only(server: Server) -> None:
    """Answer `server/discover` with the handshake versions alone, so that HTTP clients open a session
    (see the module's docstring). Over stdio the process is the session, and either era keeps it."""

    async def discover(ctx, params) -> types.DiscoverResult:
        return types.DiscoverResult(supported_versions=list(HANDSHAKE_PROTOCOL_VERSIONS),
                                    capabilities=server.get_capabilities(protocol_version=ctx.protocol_version))

    server.add_request_handler("server/discover", types.RequestParams, discover)


def http_app(server: Server, host: str = "127.0.0.1"):
    """The ASGI app serving streamable HTTP at /mcp (a server built with http=True)."""
    return server.streamable_http_app(host=host)


def serve_http(server: Server, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(http_app(server, host), host=host, port=port, log_level="warning")

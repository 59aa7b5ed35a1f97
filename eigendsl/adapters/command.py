"""The `eigendsl serve` command: a compiled domain served to other stacks (MCP over stdio or streamable HTTP); registered in cli.py."""

from __future__ import annotations

import click

from ..console import UsageProblem, print_diagnostics


@click.command()
@click.argument("target", type=click.Path())
@click.option("--mcp", "as_mcp", is_flag=True, required=True, help="Serve the domain as an MCP server (the only door served so far).")
@click.option("--task", "task_id", help="Start every session on this task (its setup applied), with the reward tool and resources.")
@click.option("--tasks", "tasks_file", type=click.Path(), help="Tasks to take --task from: an .eig task file, tau2 JSON or a synth output folder.")
@click.option("--http", is_flag=True, help="Streamable HTTP at http://HOST:PORT/mcp instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on with --http.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on with --http.")
def serve(target, as_mcp, task_id, tasks_file, http, host, port) -> None:
    """Serve TARGET (a compiled folder or .eig) to an MCP client: its tools, its policy as a
    resource, a fresh environment per session and, with --task, the episode's reward."""
    from ..api import LoadError, TaskError, load

    try:
        from .mcp import build_server, serve_http, serve_stdio
    except ImportError as e:
        raise UsageProblem(f"serving needs the adapters extra: pip install 'eigendsl\\[adapters]' ({e.name} is missing)") from None  # escaped: not rich markup
    try:
        domain = load(target, tasks_file)
        server = build_server(domain, task_id, http=http)
    except LoadError as e:
        if e.diagnostics:
            print_diagnostics(e.diagnostics, e.sources)
            raise SystemExit(1)
        raise UsageProblem(str(e))
    except TaskError as e:
        raise UsageProblem(str(e))
    if http:
        serve_http(server, host, port)
    else:
        serve_stdio(server)

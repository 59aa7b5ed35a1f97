"""The `eigendsl compile`, `check` and `call` commands: a domain checked, written out, or one tool run (registered in cli.py)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from .compiler import compile_file
from .console import ROOT_HELP, UsageProblem, compile_or_exit, err, failures_reported, out, plural, print_diagnostics
from .ir import Side


def task_summary(report) -> str:
    tasks = report.tasks
    if not tasks:
        return ""
    ones = sum(t.gold_reward == 1.0 for t in tasks)
    findings = [f for t in tasks for f in t.findings]
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    line = (f"{plural(len(tasks), 'task')}: gold replay earns reward 1 on {ones}; {plural(errors, 'error')}, "
            f"{plural(warnings, 'warning')} in task findings")
    rate = report.kill_rate()
    if rate is not None:
        weak = sum(1 for t in tasks if t.mutants and t.mutants["weak"])
        line += f"; checker kill rate {rate:.2f} ({plural(weak, 'weak checker')})"
    return line + f" [{report.seconds:.1f}s]"


def policy_summary(domain, report) -> str:
    """What Z3 showed about the policies: per tool, whether its guards can hold together."""
    tools: dict[tuple[str, str], list] = {}
    for policy in domain.policies:
        for g in policy.guards:
            tools.setdefault((g.function.actor, g.tool), []).append(g)
    if not tools:
        return ""
    by_kind: dict[str, list] = {}
    for f in report.domain_findings:
        by_kind.setdefault(f.kind, []).append(f)

    def tools_with(kind: str) -> set:
        spans = {f.span for f in by_kind.get(kind, [])}
        return {key for key, guards in tools.items() if any(g.span in spans for g in guards)}

    conflicting, undecided = len(tools_with("guard_conflict")), len(tools_with("guard_unknown"))
    fine = sorted(name for (_, name) in set(tools) - tools_with("guard_conflict") - tools_with("guard_unknown"))
    line = f"policies: Z3 shows the guards on {len(fine)} of {plural(len(tools), 'guarded tool')} can hold together"
    if fine:
        line += f" ({', '.join(fine[:6])}{', ...' if len(fine) > 6 else ''})"
    if conflicting:
        line += f"; {conflicting} contradict"
    if undecided:
        line += f"; {undecided} undecided"
    skipped = by_kind.get("guard_not_analysed", [])
    if skipped:
        line += f"; {plural(len(skipped), 'guard')} not analysed (outside the Z3 encoding, see the notes above)"
    return line

@click.command()
@click.argument("domain", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default: compiled/<file name>).")
@click.option("--db", type=click.Path(dir_okay=False), help="Use this agent-side data instead of the domain's own.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="Use this user-side data instead of the domain's own.")
@click.option("--mutate", is_flag=True, help="Also mutation-test the task checkers (slower).")
@click.option("--root", type=click.Path(file_okay=False), help=ROOT_HELP)
def compile(domain: str, out_dir: str | None, db: str | None, user_db: str | None, mutate: bool, root: str | None) -> None:
    """Compile DOMAIN.eig into a self-contained folder (IR, tool schemas, policy, data, check report)."""
    from .backends.folder import write_folder
    from .compiler import analyse

    started = time.perf_counter()
    c = compile_or_exit(domain, db, user_db, root=root)
    report = analyse(c, mutate)
    if report is not None:
        found = report.diagnostics()
        print_diagnostics(found, c.sources)
        if any(d.is_error for d in found):
            raise SystemExit(1)
    target = Path(out_dir) if out_dir else Path("compiled") / Path(domain).stem
    try:
        files = write_folder(c, target, report)
    except OSError as e:
        raise UsageProblem(f"cannot write {target}: {e.strerror or e}")
    d = c.domain
    agent_tools = sum(t.actor == Side.AGENT for t in d.tools)
    user_tools = len(d.tools) - agent_tools
    guards = sum(len(p.guards) for p in d.policies)
    tools = plural(agent_tools, "agent tool") + (f", {plural(user_tools, 'user tool')}" if user_tools else "")
    out.print(
        f"compiled [bold]{d.name}[/]: {tools}, {plural(len(d.policies), 'policy', 'policies')} ({plural(guards, 'guard')}), "
        f"{plural(len(d.tasks), 'task')} "
        f"-> {target}/ ({len(files)} files, {time.perf_counter() - started:.2f}s)"
    )
    if report is not None and report.tasks:
        out.print(task_summary(report))


@click.command()
@click.argument("domain", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the diagnostics and the per-task report as JSON.")
@click.option("--mutate", is_flag=True, help="Mutation-test each task's checker and report kill rates.")
@click.option("--no-data", is_flag=True, help="Check the language only: skip the data, the analyses and the tasks' replays.")
@click.option("--db", type=click.Path(dir_okay=False), help="Analyse on this agent-side data instead of the domain's own.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="Analyse on this user-side data instead of the domain's own.")
@click.option("--root", type=click.Path(file_okay=False), help=ROOT_HELP)
def check(domain: str, as_json: bool, mutate: bool, no_data: bool, db: str | None, user_db: str | None, root: str | None) -> None:
    """Parse and check DOMAIN.eig, analyse its policies and tasks; exit 0 when there are no errors, else 1."""
    from .compiler import analyse

    c = compile_file(domain, db, user_db, with_data=not no_data, root=root)
    report = analyse(c, mutate) if c.ok and not no_data else None
    found = report.diagnostics() if report is not None else []
    ok = c.ok and not any(d.is_error for d in found)
    if as_json:
        payload = report.to_json(c.diagnostics) if report is not None else {"diagnostics": [d.to_json() for d in c.diagnostics], "tasks": []}
        sys.stdout.write(json.dumps(payload, indent=1) + "\n")
    else:
        print_diagnostics(c.diagnostics + found, c.sources)
        proofs = policy_summary(c.domain, report) if report is not None else ""
        if proofs:
            out.print(proofs)
        if report is not None and report.tasks:
            out.print(task_summary(report))
        if ok:
            out.print(f"{domain}: ok")
    raise SystemExit(0 if ok else 1)

@click.command()
@click.argument("compiled", type=click.Path())
@click.argument("tool")
@click.argument("arguments", required=False, default="{}")
@click.option("--actor", type=click.Choice(["agent", "user"]), default="agent", show_default=True)
@click.option("--db", type=click.Path(dir_okay=False), help="Agent-side data to use instead of the compiled db.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="User-side data to use instead of the compiled one.")
def call(compiled: str, tool: str, arguments: str, actor: str, db: str | None, user_db: str | None) -> None:
    """Call TOOL of COMPILED (a compiled folder or a domain .eig file) once with ARGUMENTS (a JSON object) on a fresh environment."""
    from .runtime.environment import DomainLoadError
    from .compiler import load_domain

    with failures_reported(DomainLoadError):
        domain = load_domain(compiled, db, user_db)
    env = domain.environment()
    result = env.call(tool, arguments, actor)
    text = result.text if not result.ok or isinstance(result.content, str) else json.dumps(result.content, indent=1, ensure_ascii=False)
    sys.stdout.write(text + "\n")
    for verdict in result.violations:
        err.print(f"policy {verdict.policy}: violated ({'enforce' if verdict.enforce else 'monitor'})")
    changes = env.diff()
    if changes:
        rows = sum(len(v) if isinstance(v, dict) else 1 for v in changes.values())
        err.print(f"({rows} row(s) would change: {', '.join(sorted(changes))})")
    raise SystemExit(0 if result.ok else 1)

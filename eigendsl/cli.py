"""The `eigendsl` command: compile, check and replay domains (more subcommands join as they land)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from . import __version__
from .compiler import Compilation, compile_file
from .syntax.diagnostics import CompileError, Diagnostic, render

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class UsageProblem(click.ClickException):
    """A user-facing failure: printed as `error: message`, exit status 1."""

    def show(self, file=None) -> None:
        err.print(f"[bold red]error:[/] {self.message}", markup=True, soft_wrap=True)


def print_diagnostics(diagnostics: list[Diagnostic], sources: dict[str, str]) -> None:
    for d in diagnostics:
        sys.stderr.write(render(d, sources) + "\n")
    errors = sum(d.is_error for d in diagnostics)
    warnings = sum(d.severity == "warning" for d in diagnostics)
    if errors or warnings:
        parts = []
        if errors:
            parts.append(f"{errors} error{'s' if errors != 1 else ''}")
        if warnings:
            parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
        sys.stderr.write(", ".join(parts) + "\n")


def compile_or_exit(path: str, db: str | None = None, user_db: str | None = None, with_data: bool = True) -> Compilation:
    c = compile_file(path, db, user_db, with_data=with_data)
    print_diagnostics(c.diagnostics, c.sources)
    if not c.ok:
        raise SystemExit(1)
    return c


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="eigendsl")
def main() -> None:
    """eigendsl: declarative tool-use environments with verifiable rewards."""


def task_summary(report) -> str:
    tasks = report.tasks
    if not tasks:
        return ""
    ones = sum(t.gold_reward == 1.0 for t in tasks)
    findings = [f for t in tasks for f in t.findings]
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    line = f"{len(tasks)} tasks: gold replay earns reward 1 on {ones}; {errors} error(s), {warnings} warning(s) in task findings"
    rate = report.kill_rate()
    if rate is not None:
        weak = sum(1 for t in tasks if t.mutants and t.mutants["weak"])
        line += f"; checker kill rate {rate:.2f} ({weak} weak checker(s))"
    return line + f" [{report.seconds:.1f}s]"


@main.command()
@click.argument("domain", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default: compiled/<file name>).")
@click.option("--db", type=click.Path(dir_okay=False), help="Use this agent-side data instead of the domain's own.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="Use this user-side data instead of the domain's own.")
@click.option("--mutate", is_flag=True, help="Also mutation-test the task checkers (slower).")
def compile(domain: str, out_dir: str | None, db: str | None, user_db: str | None, mutate: bool) -> None:
    """Compile DOMAIN.eig into a self-contained folder (IR, tool schemas, policy, data, check report)."""
    from .backends.folder import analyse, write_folder

    started = time.perf_counter()
    c = compile_or_exit(domain, db, user_db)
    report = analyse(c, mutate)
    if report is not None:
        found = report.diagnostics()
        print_diagnostics(found, c.sources)
        if any(d.is_error for d in found):
            raise SystemExit(1)
    target = Path(out_dir) if out_dir else Path("compiled") / Path(domain).stem
    files = write_folder(c, target, report)
    d = c.domain
    agent_tools = sum(t.actor == "agent" for t in d.tools)
    user_tools = len(d.tools) - agent_tools
    guards = sum(len(p.guards) for p in d.policies)
    tools = f"{agent_tools} agent tools" + (f", {user_tools} user tools" if user_tools else "")
    out.print(
        f"compiled [bold]{d.name}[/]: {tools}, {len(d.policies)} policies ({guards} guards), {len(d.tasks)} tasks "
        f"-> {target}/ ({len(files)} files, {time.perf_counter() - started:.2f}s)"
    )
    if report is not None and report.tasks:
        out.print(task_summary(report))


@main.command()
@click.argument("domain", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the diagnostics and the per-task report as JSON.")
@click.option("--mutate", is_flag=True, help="Mutation-test each task's checker and report kill rates.")
@click.option("--no-data", is_flag=True, help="Check the language only: skip the data, the analyses and the tasks' replays.")
@click.option("--db", type=click.Path(dir_okay=False), help="Analyse on this agent-side data instead of the domain's own.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="Analyse on this user-side data instead of the domain's own.")
def check(domain: str, as_json: bool, mutate: bool, no_data: bool, db: str | None, user_db: str | None) -> None:
    """Parse and check DOMAIN.eig, analyse its policies and tasks; exit 0 when there are no errors, else 1."""
    from .backends.folder import analyse

    c = compile_file(domain, db, user_db, with_data=not no_data)
    report = analyse(c, mutate) if c.ok and not no_data else None
    found = report.diagnostics() if report is not None else []
    ok = c.ok and not any(d.is_error for d in found)
    if as_json:
        payload = report.to_json(c.diagnostics) if report is not None else {"diagnostics": [d.to_json() for d in c.diagnostics], "tasks": []}
        sys.stdout.write(json.dumps(payload, indent=1) + "\n")
    else:
        print_diagnostics(c.diagnostics + found, c.sources)
        if report is not None and report.tasks:
            out.print(task_summary(report))
        if ok:
            out.print(f"{domain}: ok")
    raise SystemExit(0 if ok else 1)


@main.command()
@click.argument("compiled", type=click.Path())
@click.option("--tau2-tasks", "tasks_path", required=True, type=click.Path(dir_okay=False), help="tau2-bench tasks JSON to replay.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Where to write one JSON record per task.")
@click.option("--db", type=click.Path(dir_okay=False), help="Agent-side data to replay on instead of the compiled db.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="User-side data to replay on instead of the compiled one.")
@click.option("--expected", type=click.Path(dir_okay=False), help="Reference records to compare with; prints conformance figures.")
def replay(compiled: str, tasks_path: str, out_path: str, db: str | None, user_db: str | None, expected: str | None) -> None:
    """Replay each task's gold actions in COMPILED and write tau2-bench-style records."""
    from .interop.conformance import compare, read_jsonl
    from .interop.tau2 import TaskFileError, load_tasks, replay as run_replay, write_jsonl_atomic
    from .runtime.environment import CompiledDomain, DomainLoadError

    try:
        domain = CompiledDomain.load(compiled, db, user_db)
        tasks = load_tasks(tasks_path)
    except CompileError as e:
        print_diagnostics(e.diagnostics, {})
        raise SystemExit(1)
    except (DomainLoadError, TaskFileError) as e:
        raise UsageProblem(str(e))
    started = time.perf_counter()
    n = write_jsonl_atomic(out_path, run_replay(domain, tasks))
    out.print(f"replayed {n} tasks in {time.perf_counter() - started:.2f}s -> {out_path}")
    if expected:
        try:
            report = compare(read_jsonl(out_path), read_jsonl(expected))
        except (OSError, ValueError, KeyError) as e:
            raise UsageProblem(f"cannot compare with {expected}: {e}")
        summary = report.summary()
        out.print(
            f"conformance: {report.matched}/{report.records} records match; "
            f"error text {summary['error_text_agreement']}; db_hash {summary['db_hash_agreement']}"
            + (f"; user_db_hash {summary['user_db_hash_agreement']}" if report.user_hashes_total else "")
        )
        for task_id, diff in report.mismatches[:20]:
            out.print(f"  {task_id}: {diff}")
        if report.missing:
            out.print(f"  missing: {', '.join(report.missing[:20])}")
        if report.matched != report.records:
            raise SystemExit(1)


def load_eval_tasks(target: str, tasks_file: str | None, db: str | None, user_db: str | None):
    """The domain to run and its tasks: TARGET's own, or those of an .eig / tau2 JSON task file."""
    from .runtime.environment import CompiledDomain

    domain = CompiledDomain.load(target, db, user_db)
    if tasks_file is None:
        return domain, list(domain.ir.tasks)
    folder = Path(target)
    data = db or (str(folder / "db.json") if (folder / "db.json").is_file() else None)
    udata = user_db or (str(folder / "user_db.json") if (folder / "user_db.json").is_file() else None)
    path = Path(tasks_file)
    if path.suffix == ".json":
        from .interop.tau2 import TaskFileError, load_tasks
        from .interop.tau2_tasks import to_eig

        source = domain_source(folder)
        try:
            tasks = load_tasks(path)
        except TaskFileError as e:
            raise UsageProblem(str(e))
        out_dir = Path(".eigendsl")
        out_dir.mkdir(exist_ok=True)
        converted = out_dir / f"{path.stem}.tasks.eig"
        converted.write_text(to_eig(tasks, source, converted, path.name), encoding="utf-8")
        path = converted
    c = compile_or_exit(str(path), data, udata)
    return CompiledDomain.from_compilation(c), list(c.domain.tasks)


def domain_source(target: Path) -> Path:
    if target.suffix == ".eig":
        return target
    try:
        manifest = json.loads((target / "manifest.json").read_text())
    except (OSError, ValueError):
        raise UsageProblem(f"{target} has no manifest.json; pass the domain's .eig file instead")
    for name in manifest.get("sources", {}):
        if Path(name).is_file() and Path(name).stem == manifest["domain"]:
            return Path(name)
    raise UsageProblem(f"cannot find the source of domain {manifest['domain']} to convert tau2 tasks; run from the project root")


@main.command("eval")
@click.argument("target", type=click.Path())
@click.option("--tasks", "tasks_file", type=click.Path(dir_okay=False), help="Tasks to run: an .eig task file or a tau2 tasks JSON (default: TARGET's own).")
@click.option("--task-ids", help="Comma-separated task ids to run (default: all).")
@click.option("--agent", help="oracle | random | openai:MODEL | hf:PATH (default: oracle).")
@click.option("--user", help="scripted | openai:MODEL (default: scripted).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="JSON or TOML file with agent, user and run settings.")
@click.option("--agent-base-url")
@click.option("--agent-api-key")
@click.option("--agent-temperature", type=float)
@click.option("--agent-max-tokens", type=int)
@click.option("--user-base-url")
@click.option("--user-api-key")
@click.option("--user-temperature", type=float)
@click.option("--trials", type=int, help="Trials per task (default 1).")
@click.option("--concurrency", type=int, help="Episodes run at once (default 1).")
@click.option("--max-steps", type=int, help="Messages before an episode is cut (default 100).")
@click.option("--max-errors", type=int, help="Failed tool calls before an episode is cut (default 10).")
@click.option("--out", "out_path", default="results.json", show_default=True, type=click.Path(dir_okay=False))
@click.option("--overwrite", is_flag=True, help="Start afresh instead of resuming OUT.")
@click.option("--db", type=click.Path(dir_okay=False), help="Agent-side data to run on.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="User-side data to run on.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def evaluate(target, tasks_file, task_ids, agent, user, config_file, agent_base_url, agent_api_key, agent_temperature,
             agent_max_tokens, user_base_url, user_api_key, user_temperature, trials, concurrency, max_steps, max_errors,
             out_path, overwrite, db, user_db, no_progress) -> None:
    """Run agents on tasks with a simulated user: pass^k over trials, resumable results."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .eval.config import ConfigProblem, agent_factory, public_config, settings, user_factory
    from .eval.runner import EvalError, Evaluation
    from .runtime.environment import DomainLoadError

    try:
        s = settings(config_file, agent, user, {
            "agent.base_url": agent_base_url, "agent.api_key": agent_api_key, "agent.temperature": agent_temperature,
            "agent.max_tokens": agent_max_tokens, "user.base_url": user_base_url, "user.api_key": user_api_key,
            "user.temperature": user_temperature, "trials": trials, "concurrency": concurrency,
            "max_steps": max_steps, "max_errors": max_errors,
            "task_ids": [t for t in task_ids.split(",") if t] if task_ids else None,
        })
        domain, tasks = load_eval_tasks(target, tasks_file, db, user_db)
        if s.task_ids:
            unknown = sorted(set(s.task_ids) - {t.id for t in tasks})
            if unknown:
                raise UsageProblem(f"unknown task id(s): {', '.join(unknown[:5])}")
            tasks = [t for t in tasks if t.id in set(s.task_ids)]
        if not tasks:
            raise UsageProblem(f"{target} has no tasks; pass --tasks FILE")
        run = Evaluation(domain, tasks, agent_factory(s.agent), user_factory(s.user),
                         public_config(s, domain.name, [t.id for t in tasks]), Path(out_path), s.trials, s.concurrency,
                         {"max_steps": s.max_steps, "max_errors": s.max_errors})
        todo = run.prepare(overwrite)
    except CompileError as e:
        print_diagnostics(e.diagnostics, {})
        raise SystemExit(1)
    except (ConfigProblem, EvalError, DomainLoadError) as e:
        raise UsageProblem(str(e))
    already = len(run.episodes)
    if already:
        out.print(f"resuming {out_path}: {already} episode(s) done, {len(todo)} to run")
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("avg reward {task.fields[avg]}"), TimeElapsedColumn()]
    with Progress(*columns, console=err, disable=no_progress, transient=False) as progress:
        bar = progress.add_task("episodes", total=already + len(todo), completed=already, avg="-")

        def done(entry):
            rewards = [e["reward"] for e in run.episodes]
            progress.update(bar, advance=1, avg=f"{sum(rewards) / len(rewards):.3f}")

        try:
            run.run(todo, done)
        except KeyboardInterrupt:
            progress.stop()
            err.print(f"interrupted: {len(run.episodes)} finished episode(s) kept in {out_path}; rerun the same command to resume")
            raise SystemExit(130)
        except EvalError as e:
            run.finish()
            raise UsageProblem(str(e))
    run.finish()
    print_summary(json.loads(Path(out_path).read_text())["summary"], out_path)


def print_summary(summary: dict, out_path: str) -> None:
    from rich.table import Table

    table = Table(title=f"{summary['episodes']} episodes ({summary['tasks']} tasks x {summary['trials']} trials)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for k, v in summary["pass_hat_k"].items():
        table.add_row(f"pass^{k}", "-" if v is None else f"{v:.3f}")
    table.add_row("average reward", "-" if summary["average_reward"] is None else f"{summary['average_reward']:.3f}")
    for reason, n in summary["terminations"].items():
        table.add_row(f"ended by {reason}", str(n))
    for side in ("agent", "user"):
        t = summary["tokens"][side]
        if t["prompt"] or t["completion"]:
            table.add_row(f"{side} tokens (prompt / completion)", f"{t['prompt']} / {t['completion']}")
    table.add_row("fidelity flags (episodes)", f"{summary['fidelity_flags']} ({summary['episodes_with_fidelity_flags']})")
    out.print(table)
    out.print(f"results: {out_path}")


@main.command("import-tau2")
@click.argument("tasks_path", metavar="TASKS.json", type=click.Path(dir_okay=False))
@click.option("--domain", "domain_path", required=True, type=click.Path(dir_okay=False), help="The domain the tasks belong to.")
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The .eig task file to write.")
def import_tau2(tasks_path: str, domain_path: str, out_path: str) -> None:
    """Convert tau2-bench tasks into an eig task file that imports DOMAIN, then check it."""
    from .interop.tau2 import TaskFileError, load_tasks
    from .interop.tau2_tasks import to_eig

    try:
        tasks = load_tasks(tasks_path)
    except TaskFileError as e:
        raise UsageProblem(str(e))
    if not Path(domain_path).is_file():
        raise UsageProblem(f"no such domain file: {domain_path}")
    from .files import write_atomic

    out_file = Path(out_path)
    write_atomic(out_file, [to_eig(tasks, Path(domain_path), out_file, Path(tasks_path).name)])
    c = compile_or_exit(str(out_file))
    out.print(f"imported {len(c.domain.tasks)} tasks -> {out_file} (checked)")


@main.command()
@click.argument("target", type=click.Path())
@click.option("--model", required=True, help="A local model folder, or tiny: (tiny:hidden=64,layers=2) for a tiny random model.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Checkpoints, metrics.jsonl and final/.")
@click.option("--stage", type=click.Choice(["sft", "user-sft", "grpo"]), default="sft", show_default=True)
@click.option("--data", type=click.Path(dir_okay=False), help="SFT dialogues (sft.jsonl, user_sft.jsonl; default: oracle dialogues).")
@click.option("--tasks", "tasks_file", type=click.Path(), help="Tasks: an .eig task file, a synth output folder or tau2 JSON.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="train.toml with the stages' settings.")
def train(target, model, out_dir, stage, data, tasks_file, config_file) -> None:
    """Train on TARGET's tasks: SFT of the agent or the user model, or GRPO; rerun to resume."""
    from .train.command import run

    run(target, model, out_dir, stage, data, tasks_file, config_file)


@main.command()
@click.argument("compiled", type=click.Path())
@click.argument("tool")
@click.argument("arguments", required=False, default="{}")
@click.option("--actor", type=click.Choice(["agent", "user"]), default="agent", show_default=True)
@click.option("--db", type=click.Path(dir_okay=False), help="Agent-side data to use instead of the compiled db.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="User-side data to use instead of the compiled one.")
def call(compiled: str, tool: str, arguments: str, actor: str, db: str | None, user_db: str | None) -> None:
    """Call TOOL of COMPILED once with ARGUMENTS (a JSON object) on a fresh environment."""
    from .runtime.environment import CompiledDomain, DomainLoadError

    try:
        domain = CompiledDomain.load(compiled, db, user_db)
    except CompileError as e:
        print_diagnostics(e.diagnostics, {})
        raise SystemExit(1)
    except DomainLoadError as e:
        raise UsageProblem(str(e))
    env = domain.environment()
    result = env.call(tool, arguments, actor)
    text = result.text if not result.ok or isinstance(result.content, str) else json.dumps(result.content, indent=1, ensure_ascii=False)
    sys.stdout.write(text + "\n")
    for verdict in result.violations:
        err.print(f"policy {verdict.policy}: violated (monitor)")
    changes = env.diff()
    if changes:
        rows = sum(len(v) if isinstance(v, dict) else 1 for v in changes.values())
        err.print(f"({rows} row(s) would change: {', '.join(sorted(changes))})")
    raise SystemExit(0 if result.ok else 1)


if __name__ == "__main__":
    main()

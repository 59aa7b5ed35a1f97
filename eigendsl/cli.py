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


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"


ROOT_HELP = "Folder that import and data paths may reach (default: the file's own folder)."


def compile_or_exit(path: str, db: str | None = None, user_db: str | None = None, with_data: bool = True,
                    root: str | None = None) -> Compilation:
    c = compile_file(path, db, user_db, with_data=with_data, root=root)
    print_diagnostics(c.diagnostics, c.sources)
    if not c.ok:
        raise SystemExit(1)
    return c


NO_ARGS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class Commands(click.Group):
    """Click's group, with click's own usage mistakes printed as `error: message` like every other failure."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NO_ARGS_HELP as e:  # bare `eigendsl`: the help, as click shows it
            e.show()
            sys.exit(e.exit_code)
        except click.UsageError as e:
            if e.ctx is not None:
                sys.stderr.write(f"{e.ctx.get_usage()}\nTry '{e.ctx.command_path} --help' for help.\n")
            err.print(f"[bold red]error:[/] {e.format_message()}", markup=True, soft_wrap=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:  # every command's failures read the same: `error: ...`
            err.print(f"[bold red]error:[/] {e.format_message()}", markup=True, soft_wrap=True)
            sys.exit(e.exit_code)
        except click.Abort:
            err.print("[bold red]error:[/] aborted", markup=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
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


@main.command()
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
    agent_tools = sum(t.actor == "agent" for t in d.tools)
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


@main.command()
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


@main.command()
@click.argument("compiled", type=click.Path())
@click.option("--tau2-tasks", "tasks_path", required=True, type=click.Path(dir_okay=False), help="tau2-bench tasks JSON to replay.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Where to write one JSON record per task.")
@click.option("--db", type=click.Path(dir_okay=False), help="Agent-side data to replay on instead of the compiled db.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="User-side data to replay on instead of the compiled one.")
@click.option("--expected", type=click.Path(dir_okay=False), help="Reference records to compare with; prints conformance figures.")
def replay(compiled: str, tasks_path: str, out_path: str, db: str | None, user_db: str | None, expected: str | None) -> None:
    """Replay each task's gold actions in COMPILED (a compiled folder or a domain .eig file) and write tau2-bench-style records."""
    from .interop.conformance import compare, read_jsonl
    from .interop.tau2 import TaskFileError, load_tasks, replay as run_replay, write_jsonl_atomic
    from .runtime.environment import DomainLoadError
    from .compiler import load_domain

    try:
        domain = load_domain(compiled, db, user_db)
        tasks = load_tasks(tasks_path)
    except CompileError as e:
        print_diagnostics(e.diagnostics, {})
        raise SystemExit(1)
    except (DomainLoadError, TaskFileError) as e:
        raise UsageProblem(str(e))
    started = time.perf_counter()
    try:
        n = write_jsonl_atomic(out_path, run_replay(domain, tasks))
    except OSError as e:
        raise UsageProblem(f"cannot write {out_path}: {e.strerror or e}")
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


def load_eval_tasks(target: str, tasks_file: str | None, db: str | None, user_db: str | None, root: str | None = None):
    """The domain to run and its tasks: TARGET's own, or those of an .eig / tau2 JSON task file."""
    from .interop.task_source import TaskSourceError, task_file_compilation
    from .runtime.environment import CompiledDomain
    from .compiler import load_domain
    from .files import not_a_file

    if tasks_file is None:
        domain = load_domain(target, db, user_db, root=root)
        return domain, list(domain.ir.tasks)
    if not Path(tasks_file).is_file():
        raise UsageProblem(not_a_file(Path(tasks_file), "task file"))
    try:
        c = task_file_compilation(target, tasks_file, db, user_db, root)
    except TaskSourceError as e:
        raise UsageProblem(str(e))
    print_diagnostics(c.diagnostics, c.sources)
    if not c.ok:
        raise SystemExit(1)
    return CompiledDomain.from_compilation(c), list(c.domain.tasks)


def refuse_unstartable(domain, tasks: list, hint: str, tasks_file: str | None = None) -> None:
    """Stop, with each failing setup step shown (a tau2 JSON file's in its own terms), when a task's setup fails."""
    from .interop.task_source import tau2_setup_lines
    from .verify.analyses import setup_failures

    broken = setup_failures(domain, tasks)
    if broken and tasks_file is not None and Path(tasks_file).suffix == ".json":
        err.print("\n".join(tau2_setup_lines(tasks_file, domain, broken)), markup=False, soft_wrap=True)
    elif broken:
        print_diagnostics([f.diagnostic() for f in broken], {})
    if broken:
        raise UsageProblem(f"{len(broken)} task(s) cannot start; {hint}")


@main.command("eval")
@click.argument("target", type=click.Path())
@click.option("--tasks", "tasks_file", type=click.Path(dir_okay=False), help="Tasks to run: an .eig task file or a tau2 tasks JSON (default: TARGET's own).")
@click.option("--task-ids", help="Comma-separated task ids to run (default: all).")
@click.option("--agent", help="oracle | random | openai:MODEL | hf:PATH (default: oracle).")
@click.option("--user", help="scripted | openai:MODEL | hf:PATH, a user model from `train --stage user-sft` (default: scripted).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="JSON or TOML file with agent, user and run settings.")
@click.option("--agent-base-url", metavar="URL", help="The agent model's OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (default: the OpenAI API).")
@click.option("--agent-api-key", metavar="KEY", help="API key for the agent's endpoint (default: $OPENAI_API_KEY); never written to results.")
@click.option("--agent-temperature", type=float, help="Sampling temperature of the agent model (default: the endpoint's).")
@click.option("--agent-max-tokens", type=int, help="Most tokens per agent reply (default: the endpoint's).")
@click.option("--user-base-url", metavar="URL", help="The simulated user's OpenAI-compatible endpoint (default: the OpenAI API).")
@click.option("--user-api-key", metavar="KEY", help="API key for the user's endpoint (default: $OPENAI_API_KEY); never written to results.")
@click.option("--user-temperature", type=float, help="Sampling temperature of the user model (default: the endpoint's).")
@click.option("--trials", type=int, help="Trials per task (default 1).")
@click.option("--concurrency", type=int, help="Episodes run at once (default 1).")
@click.option("--max-steps", type=int, help="Messages before an episode is cut (default 100).")
@click.option("--max-errors", type=int, help="Failed tool calls before an episode is cut (default 10).")
@click.option("--out", "out_path", default="results.json", show_default=True, type=click.Path(dir_okay=False),
              help="Results file (summary and episodes); OUT.jsonl beside it gets one line per finished episode.")
@click.option("--overwrite", is_flag=True, help="Start afresh instead of resuming OUT.")
@click.option("--db", type=click.Path(dir_okay=False), help="Agent-side data to run on.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="User-side data to run on.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--tau2-out", type=click.Path(dir_okay=False), help="Also write the results in tau2-bench's results format.")
@click.option("--judge", help="NL-assertion judge: openai:MODEL (default: none; such components are reported as not evaluated).")
@click.option("--judge-base-url", help="The judge's OpenAI-compatible endpoint.")
@click.option("--root", type=click.Path(file_okay=False), help=ROOT_HELP)
def evaluate(target, tasks_file, task_ids, agent, user, config_file, agent_base_url, agent_api_key, agent_temperature,
             agent_max_tokens, user_base_url, user_api_key, user_temperature, trials, concurrency, max_steps, max_errors,
             out_path, overwrite, db, user_db, no_progress, tau2_out=None, judge=None, judge_base_url=None, root=None) -> None:
    """Run agents on tasks with a simulated user: pass^k over trials, resumable results.

    TARGET is a compiled folder or a domain .eig file (compiled on the fly). An endpoint that
    cannot be reached, refuses the key or stays overloaded stops the run (exit 1) without
    recording those episodes: rerun the same command to run them."""
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
        domain, tasks = load_eval_tasks(target, tasks_file, db, user_db, root)
        if s.task_ids:
            unknown = sorted(set(s.task_ids) - {t.id for t in tasks})
            if unknown:
                raise UsageProblem(f"unknown task id(s): {', '.join(unknown[:5])}")
            tasks = [t for t in tasks if t.id in set(s.task_ids)]
        if not tasks:
            raise UsageProblem(f"{tasks_file} holds no tasks" if tasks_file else f"{target} has no tasks; pass --tasks FILE")
        refuse_unstartable(domain, tasks, "fix them or leave them out with --task-ids", tasks_file)
        config = public_config(s, domain.name, [t.id for t in tasks])
        if judge:  # the judge grades NL assertions, so its results are another run's (no judge: fingerprints as before)
            config["judge"] = {k: v for k, v in (("model", judge), ("base_url", judge_base_url)) if v}
        run = Evaluation(domain, tasks, agent_factory(s.agent), user_factory(s.user), config, Path(out_path), s.trials, s.concurrency,
                         {"max_steps": s.max_steps, "max_errors": s.max_errors}, judge_from(judge, judge_base_url))
        try:
            todo = run.prepare(overwrite)
        except OSError as e:
            raise EvalError(f"cannot use {out_path} for results: {e.strerror or e}") from None
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
            try:
                run.finish()
            except OSError:
                pass  # the message says the results could not be written
            raise UsageProblem(str(e))
    try:
        run.finish()
    except OSError as e:
        raise UsageProblem(f"cannot write the results to {out_path}: {e.strerror or e}; the finished episodes are kept "
                           f"in {run.log}: rerun the same command once there is room")
    print_summary(json.loads(Path(out_path).read_text())["summary"], out_path)
    if tau2_out:
        from .interop.tau2_results import write_results

        try:
            write_results(tau2_out, run)
        except OSError as e:
            raise UsageProblem(f"cannot write {tau2_out}: {e.strerror}")
        out.print(f"tau2-bench results: {tau2_out}")


def judge_from(spec: str | None, base_url: str | None):
    """The NL-assertion judge of --judge, or None."""
    from .episode.judge import ChatJudge, JudgeError

    if not spec:
        return None
    try:
        return ChatJudge.from_spec(spec, base_url)
    except JudgeError as e:
        raise UsageProblem(str(e))


def print_summary(summary: dict, out_path: str) -> None:
    from rich.table import Table

    table = Table(title=f"{plural(summary['episodes'], 'episode')} ({plural(summary['tasks'], 'task')} x {plural(summary['trials'], 'trial')})")
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
    for policy, n in summary.get("policy_violations", {}).items():
        table.add_row(f"calls violating policy {policy}", str(n))
    out.print(table)
    out.print(f"results: {out_path}")


@main.command()
@click.argument("target", type=click.Path())
@click.option("--tasks", "tasks_file", type=click.Path(dir_okay=False), help="An .eig task file or tau2 tasks JSON (default: TARGET's own tasks).")
@click.option("--simulations", required=True, type=click.Path(dir_okay=False), help="tau2 results JSON, or JSON lines of SimulationRun / OpenAI-message records.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Where to write one JSON line per simulation.")
@click.option("--db", type=click.Path(dir_okay=False), help="Agent-side data to replay on.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="User-side data to replay on.")
@click.option("--judge", help="NL-assertion judge: openai:MODEL (default: none; such components are reported as not evaluated).")
@click.option("--judge-base-url", help="The judge's OpenAI-compatible endpoint.")
@click.option("--judge-api-key", help="The judge's API key (default: $OPENAI_API_KEY).")
@click.option("--check-reads", is_flag=True, help="Also re-run read-only calls and flag recorded results that differ.")
def score(target, tasks_file, simulations, out_path, db, user_db, judge, judge_base_url, judge_api_key, check_reads) -> None:
    """Score trajectories produced anywhere with the benchmark's reward rules."""
    from .interop.score import ScoreInputError, Scorer, score_file
    from .interop.task_source import TaskSourceError
    from .runtime.environment import DomainLoadError
    from .episode.judge import ChatJudge, JudgeError

    from .files import same_file

    for option, given in (("--simulations", simulations), ("--tasks", tasks_file)):
        if given and same_file(out_path, given):
            raise UsageProblem(f"--out {out_path} is the {option} file, which scoring would overwrite; write elsewhere")
    started = time.perf_counter()
    try:
        judge_obj = ChatJudge.from_spec(judge, judge_base_url, judge_api_key) if judge else None
        scorer = Scorer.load(target, tasks_file, db, user_db, judge_obj, check_reads)
        scored, skipped = score_file(scorer, simulations, out_path, on_error=lambda m: err.print(f"skipped {m}", markup=False))
    except CompileError as e:
        print_diagnostics(e.diagnostics, {})
        raise SystemExit(1)
    except (DomainLoadError, TaskSourceError, ScoreInputError, JudgeError) as e:
        raise UsageProblem(str(e))
    except OSError as e:
        raise UsageProblem(f"cannot write {out_path}: {e.strerror}")
    seconds = time.perf_counter() - started
    out.print(f"scored {scored} simulation(s), skipped {skipped}, in {seconds:.2f}s -> {out_path}")
    if skipped and not scored:
        raise SystemExit(1)


@main.command("import-tau2")
@click.argument("tasks_path", metavar="TASKS.json", type=click.Path(dir_okay=False))
@click.option("--domain", "domain_path", required=True, type=click.Path(dir_okay=False), help="The domain the tasks belong to.")
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The .eig task file to write.")
@click.option("--root", type=click.Path(file_okay=False), help="Folder the written file's import may reach when it is checked (default: the one holding both files).")
def import_tau2(tasks_path: str, domain_path: str, out_path: str, root: str | None) -> None:
    """Convert tau2-bench tasks into an eig task file that imports DOMAIN, then check it."""
    import os

    from .interop.tau2 import TaskFileError, load_tasks
    from .interop.tau2_tasks import TaskImportError, to_eig

    try:
        tasks = load_tasks(tasks_path)
    except TaskFileError as e:
        raise UsageProblem(str(e))
    if not Path(domain_path).is_file():
        raise UsageProblem(f"no such domain file: {domain_path}")
    from .files import write_atomic

    out_file = Path(out_path)
    try:
        text = to_eig(tasks, Path(domain_path), out_file, Path(tasks_path).name)
    except TaskImportError as e:
        raise UsageProblem(f"{tasks_path}: {e}")
    write_atomic(out_file, [text])
    # Both files were named on the command line, so the tree that holds both may be read.
    root = root or os.path.commonpath([Path(domain_path).resolve().parent, out_file.resolve().parent])
    c = compile_or_exit(str(out_file), root=root)
    out.print(f"imported {len(c.domain.tasks)} tasks -> {out_file} (checked)")


@main.command()
@click.argument("run_file", metavar="RUN", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False), help="The HTML file to write (default: RUN with .html).")
def report(run_file: str, out_path: str | None) -> None:
    """Render an eval results file (.json or .jsonl), a synth report.json or a train metrics.jsonl as one static HTML page."""
    from .files import same_file, write_atomic
    from .report.load import ReportError, load, render

    target = Path(out_path) if out_path else Path(run_file).with_suffix(".html")
    if same_file(target, run_file):
        raise UsageProblem(f"the page would overwrite {run_file}; name another file with -o")
    try:
        run = load(run_file)
        text = render(run)
        write_atomic(target, [text])
    except ReportError as e:
        raise UsageProblem(str(e))
    except OSError as e:
        raise UsageProblem(f"cannot write {target}: {e.strerror or e}")
    out.print(f"report of {run_file} ({run.kind}) -> {target} ({len(text.encode()) // 1024} KiB)")


@main.command()
@click.argument("target", type=click.Path())
@click.option("--model", required=True, help="A local model folder, or tiny: (tiny:hidden=64,layers=2) for a tiny random model.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Checkpoints, metrics.jsonl and final/.")
@click.option("--stage", type=click.Choice(["sft", "user-sft", "grpo"]), default="sft", show_default=True,
              help="sft: the agent on dialogues; user-sft: the simulated user; grpo: the agent on episodes' rewards.")
@click.option("--data", type=click.Path(dir_okay=False), help="SFT dialogues (sft.jsonl, user_sft.jsonl; default: oracle dialogues).")
@click.option("--tasks", "tasks_file", type=click.Path(), help="Tasks: an .eig task file, a synth output folder or tau2 JSON.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="train.toml with the stages' settings.")
def train(target, model, out_dir, stage, data, tasks_file, config_file) -> None:
    """Train on TARGET's tasks: SFT of the agent or the user model, or GRPO; rerun to resume."""
    from .runtime.environment import DomainLoadError
    from .train.command import run, task_file
    from .train.config import TrainError

    try:
        tasks_path = task_file(tasks_file)
        domain, task_list = load_eval_tasks(target, tasks_path, None, None)
        refuse_unstartable(domain, task_list, "fix them or leave them out of the task file", tasks_path)
        out.print(run(domain, task_list, target, model, out_dir, stage, data, tasks_file, config_file))
    except CompileError as e:
        print_diagnostics(e.diagnostics, {})
        raise SystemExit(1)
    except (TrainError, DomainLoadError) as e:
        raise UsageProblem(str(e))


@main.command()
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

    try:
        domain = load_domain(compiled, db, user_db)
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
        err.print(f"policy {verdict.policy}: violated ({'enforce' if verdict.enforce else 'monitor'})")
    changes = env.diff()
    if changes:
        rows = sum(len(v) if isinstance(v, dict) else 1 for v in changes.values())
        err.print(f"({rows} row(s) would change: {', '.join(sorted(changes))})")
    raise SystemExit(0 if result.ok else 1)


from .synth.command import export_tau2, synth, synth_merge  # noqa: E402  (the synthesiser's commands live with it)

for command in (synth, synth_merge, export_tau2):
    main.add_command(command)

if __name__ == "__main__":
    main()

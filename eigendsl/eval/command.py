"""The `eigendsl eval` command: agents run on tasks with a simulated user, pass^k printed (registered in cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..console import ROOT_HELP, UsageProblem, err, failures_reported, out, plural, print_diagnostics


def load_eval_tasks(target: str, tasks_file: str | None, db: str | None, user_db: str | None, root: str | None = None):
    """The domain to run and its tasks (the API's loader), its task files' warnings printed; a load
    that fails prints the compiler's diagnostics and exits 1, or says what is wrong."""
    from ..api import LoadError, load

    try:
        loaded = load(target, tasks_file, db=db, user_db=user_db, root=root)
    except LoadError as e:
        if e.diagnostics:
            print_diagnostics(e.diagnostics, e.sources)
            raise SystemExit(1)
        raise UsageProblem(str(e))
    if loaded.warnings:
        print_diagnostics(loaded.warnings, loaded.sources)
    return loaded.compiled, loaded.tasks


def refuse_unstartable(domain, tasks: list, hint: str, tasks_file: str | None = None) -> None:
    """Stop, with each failing setup step shown (a tau2 JSON file's in its own terms), when a task's setup fails."""
    from ..interop.task_source import tau2_setup_lines
    from ..verify.analyses import setup_failures

    broken = setup_failures(domain, tasks)
    if broken and tasks_file is not None and Path(tasks_file).suffix == ".json":
        err.print("\n".join(tau2_setup_lines(tasks_file, domain, broken)), markup=False, soft_wrap=True)
    elif broken:
        print_diagnostics([f.diagnostic() for f in broken], {})
    if broken:
        raise UsageProblem(f"{len(broken)} task(s) cannot start; {hint}")


def warn_foreign(domain, tasks: list) -> None:
    """Say so when tasks' gold actions fail on the data they will run on: the benchmark's tasks
    run on the project's own data (no --db) find none of their users or orders and score 0
    for the data's sake, not the agent's."""
    from ..verify.reward import TaskChecker, TaskSetupError

    failing = []
    for task in tasks:
        try:
            env = TaskChecker(domain, task).replay()
        except TaskSetupError:
            continue
        first = next((e for e in env.trace if not e.ok and e.kind == "tool"), None)
        if first is not None:
            failing.append(f"task {task.id}: {first.name}: {first.error}")
    if failing:
        err.print(f"warning: the gold actions of {len(failing)} of {plural(len(tasks), 'task')} fail on this data ({failing[0]}); "
                  "if the tasks were written for other data, give it with --db (and --user-db)", markup=False, soft_wrap=True)


@click.command("eval")
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

    from .config import ConfigProblem, agent_factory, public_config, settings, user_factory
    from .runner import EvalError, Evaluation
    from ..runtime.environment import DomainLoadError

    with failures_reported(ConfigProblem, EvalError, DomainLoadError):
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
        warn_foreign(domain, tasks)
        config = public_config(s, domain.name, [t.id for t in tasks])
        if judge:  # the judge grades NL assertions, so its results are another run's (no judge: fingerprints as before)
            config["judge"] = {k: v for k, v in (("model", judge), ("base_url", judge_base_url)) if v}
        run = Evaluation(domain, tasks, agent_factory(s.agent), user_factory(s.user), config, Path(out_path), s.trials, s.concurrency,
                         {"max_steps": s.max_steps, "max_errors": s.max_errors}, judge_from(judge, judge_base_url, s.judge.model_dump()))
        try:
            todo = run.prepare(overwrite)
        except OSError as e:
            raise EvalError(f"cannot use {out_path} for results: {e.strerror or e}") from None
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
        from ..interop.tau2_results import write_results

        try:
            write_results(tau2_out, run)
        except OSError as e:
            raise UsageProblem(f"cannot write {tau2_out}: {e.strerror}")
        out.print(f"tau2-bench results: {tau2_out}")


def judge_from(spec: str | None, base_url: str | None, endpoint: dict | None = None):
    """The NL-assertion judge of --judge (waiting for its endpoint as `endpoint` says), or None."""
    from ..episode.judge import ChatJudge, JudgeError

    if not spec:
        return None
    try:
        return ChatJudge.from_spec(spec, base_url, endpoint=endpoint)
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
    kept = summary.get("protocol") or {}
    if kept.get("writes"):
        table.add_row("writes without confirmation (episodes)",
                      f"{kept['unconfirmed_writes']} of {kept['writes']} ({kept['episodes_with_unconfirmed_writes']})")
    if kept.get("crowded_messages"):
        table.add_row("messages with too many tool calls", str(kept["crowded_messages"]))
    for policy, n in summary.get("policy_violations", {}).items():
        table.add_row(f"calls violating policy {policy}", str(n))
    out.print(table)
    out.print(f"results: {out_path}")

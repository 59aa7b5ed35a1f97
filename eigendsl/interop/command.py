"""The `eigendsl replay`, `score` and `import-tau2` commands: tau2-bench's tasks and trajectories in and out (registered in cli.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click

from ..console import UsageProblem, compile_or_exit, err, failures_reported, out


@click.command()
@click.argument("compiled", type=click.Path())
@click.option("--tau2-tasks", "tasks_path", required=True, type=click.Path(dir_okay=False), help="tau2-bench tasks JSON to replay.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Where to write one JSON record per task.")
@click.option("--db", type=click.Path(dir_okay=False), help="Agent-side data to replay on instead of the compiled db.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="User-side data to replay on instead of the compiled one.")
@click.option("--expected", type=click.Path(dir_okay=False), help="Reference records to compare with; prints conformance figures.")
def replay(compiled: str, tasks_path: str, out_path: str, db: str | None, user_db: str | None, expected: str | None) -> None:
    """Replay each task's gold actions in COMPILED (a compiled folder or a domain .eig file) and write tau2-bench-style records."""
    from .conformance import compare, read_jsonl
    from .tau2 import TaskFileError, load_tasks, replay as run_replay, write_jsonl_atomic
    from ..runtime.environment import DomainLoadError
    from ..compiler import load_domain

    with failures_reported(DomainLoadError, TaskFileError):
        domain = load_domain(compiled, db, user_db)
        tasks = load_tasks(tasks_path)
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

@click.command()
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
    from .leaderboard import published, summary
    from .score import ScoreInputError, Scorer, score_file
    from .task_source import TaskSourceError
    from ..runtime.environment import DomainLoadError
    from ..episode.judge import ChatJudge, JudgeError

    from ..files import same_file

    for option, given in (("--simulations", simulations), ("--tasks", tasks_file)):
        if given and same_file(out_path, given):
            raise UsageProblem(f"--out {out_path} is the {option} file, which scoring would overwrite; write elsewhere")
    started = time.perf_counter()
    try:
        with failures_reported(DomainLoadError, TaskSourceError, ScoreInputError, JudgeError):
            judge_obj = ChatJudge.from_spec(judge, judge_base_url, judge_api_key) if judge else None
            scorer = Scorer.load(target, tasks_file, db, user_db, judge_obj, check_reads)
            pub = published(simulations)  # a tau2-bench results file: its own tasks, and pass^k below
            if (tasks_file is None and pub is not None and pub.tasks and str(simulations).endswith(".json")
                    and not pub.simulated <= set(scorer.tasks)):
                # The runs are of tasks TARGET does not have, and the file carries them: score by those.
                scorer = Scorer.load(target, simulations, db, user_db, judge_obj, check_reads)
                out.print(f"tasks: the {len(pub.tasks)} the results file carries", markup=False, highlight=False)
            lines, reasons = [], []

            def skip(message: str) -> None:
                reasons.append(message)
                if len(reasons) <= SKIPS_SHOWN:  # the first few as they come; the rest in one summary line
                    err.print(f"skipped {message}", markup=False)

            scored, skipped = score_file(scorer, simulations, out_path, on_error=skip, collect=lines)
    except OSError as e:
        raise UsageProblem(f"cannot write {out_path}: {e.strerror}")
    seconds = time.perf_counter() - started
    if len(reasons) > SKIPS_SHOWN:
        err.print(skipped_summary(reasons), markup=False)
    out.print(f"scored {scored} simulation(s), skipped {skipped}, in {seconds:.2f}s -> {out_path}")
    if pub is not None:  # pass^k as the benchmark's leaderboard computes it
        for line in summary(pub, lines, reasons):
            out.print(line, markup=False, highlight=False)
    if skipped and not scored:
        raise SystemExit(1)


SKIPS_SHOWN = 5


def skipped_summary(reasons: list[str]) -> str:
    """One line for many skipped records: how many of each kind of reason, with the first of each."""
    kinds: dict[str, list[str]] = {}
    for r in reasons:
        why = re.sub(r"^record \d+: ", "", r)
        kinds.setdefault(re.sub(r"'[^']*'|\d+", "…", why), []).append(r)
    parts = [f"{len(v)} x {k} (first: {v[0]})" for k, v in sorted(kinds.items(), key=lambda kv: -len(kv[1]))]
    return f"skipped {len(reasons)} records in all ({len(reasons) - SKIPS_SHOWN} not listed above): " + "; ".join(parts)


@click.command("import-tau2")
@click.argument("tasks_path", metavar="TASKS.json", type=click.Path(dir_okay=False))
@click.option("--domain", "domain_path", required=True, type=click.Path(dir_okay=False), help="The domain the tasks belong to.")
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The .eig task file to write.")
@click.option("--root", type=click.Path(file_okay=False), help="Folder the written file's import may reach when it is checked (default: the one holding both files).")
def import_tau2(tasks_path: str, domain_path: str, out_path: str, root: str | None) -> None:
    """Convert tau2-bench tasks into an eig task file that imports DOMAIN, then check it."""
    import os

    from .tau2 import TaskFileError, load_tasks
    from .tau2_tasks import TaskImportError, to_eig

    try:
        tasks = load_tasks(tasks_path)
    except TaskFileError as e:
        raise UsageProblem(str(e))
    if not Path(domain_path).is_file():
        raise UsageProblem(f"no such domain file: {domain_path}")
    from ..files import write_atomic

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

"""The `eigendsl synth` and `eigendsl export-tau2` commands (registered in cli.py)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import click
from pydantic import ValidationError

from ..files import make_folder

OPTION_KEYS = ("db", "user_db", "rounds", "plans", "tasks", "seed", "batch", "rollouts", "dialogues", "concurrency", "workers", "writer", "critic",
               "agent", "user", "reflector", "planner", "paraphraser", "base_url", "api_key", "repairs", "kill_rate")


def load_config(path: str | None, target: str, options: dict):
    """SynthConfig from a TOML/JSON file, then the command-line options over it."""
    from .engine import SynthConfig

    data: dict = {}
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
            data = tomllib.loads(text) if not path.endswith(".json") else json.loads(text)
        except OSError as e:
            raise click.ClickException(f"cannot read {path}: {e.strerror}")
        except (ValueError, tomllib.TOMLDecodeError) as e:
            raise click.ClickException(f"{path} is not valid {'JSON' if path.endswith('.json') else 'TOML'}: {e}")
        data = data.get("synth", data) if isinstance(data, dict) else data
        if not isinstance(data, dict):
            raise click.ClickException(f"{path}: the synth settings must be a table of keys (a JSON object), "
                                       f"not {type(data).__name__}")
    data.update({k: v for k, v in options.items() if v is not None})
    data["target"] = target
    try:
        return SynthConfig.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise click.ClickException(f"synth configuration: {'.'.join(str(x) for x in err['loc'])}: {err['msg']}")


@click.command("synth")
@click.argument("target", type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Where the tasks, datasets and report go.")
@click.option("--db", type=click.Path(dir_okay=False), help="Synthesize over this agent-side data.")
@click.option("--user-db", type=click.Path(dir_okay=False), help="Synthesize over this user-side data.")
@click.option("--rounds", type=int, help="Rounds of plan, write, verify, roll out, reflect (default 3).")
@click.option("--plans", type=int, help="Plans (default 64).")
@click.option("--tasks", type=int, help="How many tasks to keep (default 200).")
@click.option("--seed", type=int, help="Random seed (default 0).")
@click.option("--batch", type=int, help="Drafts verified together (default 100).")
@click.option("--rollouts", type=int, help="Episodes per kept task for a model agent (default 1).")
@click.option("--dialogues", type=int, help="SFT dialogues per kept task without model roles: the oracle's variants, "
              "each with its own phrasings and disclosure order (default 1).")
@click.option("--concurrency", type=int, help="Model requests at once (default 4).")
@click.option("--workers", type=int, help="Processes verifying drafts (default: the usable CPUs, at most 8; 1: in this process).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="synth.toml (a [synth] table) or JSON with the same keys.")
@click.option("--writer", help="offline | openai:MODEL")
@click.option("--critic", help="offline | openai:MODEL")
@click.option("--agent", help="offline | openai:MODEL")
@click.option("--user", help="offline | openai:MODEL")
@click.option("--reflector", help="offline | openai:MODEL")
@click.option("--planner", help="offline | openai:MODEL")
@click.option("--paraphraser", help="offline | openai:MODEL: rewrites kept tasks' scenario text, every stated value kept.")
@click.option("--base-url", help="The OpenAI-compatible endpoint of the model roles.")
@click.option("--api-key", help="Its key (default: OPENAI_API_KEY).")
@click.option("--repairs", type=int, help="Repairs a model writer gets from compiler diagnostics (default 2).")
@click.option("--kill-rate", type=float, help="Mutation kill rate a kept task's checker needs (default 0.8).")
@click.option("--fresh", is_flag=True, help="Start afresh, discarding a previous run in OUT.")
@click.option("--no-progress", is_flag=True, help="No live progress display.")
def synth(target, out_dir, config_file, fresh, no_progress, **options) -> None:
    """Synthesize verified tasks, SFT dialogues and RL task sets for the domain TARGET."""
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from .engine import Engine, SynthProblem
    from .models import Roles

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    config = load_config(config_file, target, options)
    try:
        make_folder(Path(out_dir))
    except OSError as e:
        raise click.ClickException(f"cannot create the output folder {out_dir}: {e.strerror or e}")
    try:
        roles = Roles(config, Path(out_dir))
    except ValueError as e:
        raise click.ClickException(str(e))
    line = Text("starting")

    def show(info: dict) -> None:
        line.plain = (f"round {info['round']} · {info['stage']} · kept {info['kept']}/{info['target']}"
                      f" · attempted this round {info['attempted']} (kept {info['round_kept']})")

    try:
        engine = Engine(config, Path(out_dir), fresh=fresh, progress=show, models=roles if roles.any else None)
    except SynthProblem as e:
        raise click.ClickException(str(e))
    done = engine.state["kept"]
    if done and not fresh:
        err.print(f"resuming {out_dir}: {done} task(s) kept so far")
    try:
        with Live(line, console=err, refresh_per_second=4, transient=True, auto_refresh=not no_progress) as live:
            if no_progress:
                live.stop()
            report = engine.run()
    except SynthProblem as e:
        raise click.ClickException(f"{e} ({engine.state['kept']} kept task(s) are saved in {out_dir})")
    except KeyboardInterrupt:
        err.print(f"interrupted: {engine.state['kept']} kept task(s) are saved in {out_dir}; rerun the same command to resume")
        raise SystemExit(130)
    cov = report["coverage"]
    click.echo(f"kept {report['kept']} of {report['attempted']} attempted in {report['seconds']:.1f}s "
               f"({report['kept_per_minute']} per minute) -> {out_dir}")
    for r in report["rounds"]:
        click.echo(f"  round {r['round']}: yield {r['yield']} ({r['kept']}/{r['attempted']}), workflows {r['diversity']['workflows']}, "
                   f"policy branches {r['diversity']['policy_branches']}")
    click.echo(f"  multi-write share {cov['multi_write_share']}, refusal or transfer share {cov['refusal_or_transfer_share']}; "
               f"missing write tools: {', '.join(cov['write_tools']['missing']) or 'none'}; "
               f"missing guard branches: {len(cov['guard_branches']['missing'])}")
    q = report["quality"]

    def pct(v) -> str:
        return "-" if v is None else f"{v:.0%}"
    click.echo(f"  quality: tool language {pct(q['tool_language'])}, ids customers lack {pct(q['foreign_ids'])}, "
               f"identical masked {pct(q['identical_masked'])}, undetermined {pct(q['undetermined'])}, "
               f"label agreement {pct(q['label_agreement'])} ({', '.join(f'{k} {n}' for k, n in sorted(q['label_basis'].items())) or 'none'})")
    if report["kept"] < config.tasks:
        click.echo(f"  note: the target of {config.tasks} was not reached: the plans ran out of new, verified tasks (see report.json)")


@click.command("export-tau2")
@click.argument("tasks_path", metavar="TASKS.eig", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="The tau2-bench tasks JSON to write.")
def export_tau2(tasks_path: str, out_path: str) -> None:
    """Write the tasks of TASKS.eig (which imports a domain) in tau2-bench's task format."""
    from .export import ExportProblem, export

    try:
        n = export(Path(tasks_path), Path(out_path))
    except ExportProblem as e:
        raise click.ClickException(str(e))
    click.echo(f"exported {n} task(s) -> {out_path}")


@click.command("synth-merge")
@click.argument("out_dir", metavar="OUT", type=click.Path(file_okay=False))
@click.argument("shards", nargs=-1, required=True, type=click.Path(file_okay=False, exists=True))
def synth_merge(out_dir: str, shards: tuple[str, ...]) -> None:
    """Merge synth output folders (shards run with different seeds), deduplicated by signature.

    SHARDS are `eigendsl synth` output folders; OUT, a folder that is neither a shard nor a synth
    run, gets tasks/merged.eig, sft.jsonl, user_sft.jsonl and rl.jsonl."""
    from .merge import MergeProblem, merge

    try:
        summary = merge(Path(out_dir), [Path(s) for s in shards])
    except MergeProblem as e:
        raise click.ClickException(str(e))
    click.echo(f"merged {summary['shards']} shard(s): {summary['kept']} distinct task(s), {summary['sft']} dialogue(s) -> {out_dir}")

"""The `eigendsl` command: the click group, and each subcommand registered from the package it belongs to."""

from __future__ import annotations

import sys

import click

from . import __version__
from .console import UsageProblem, err, out, print_diagnostics
from .domain_command import call, check, compile
from .eval.command import evaluate, load_eval_tasks, refuse_unstartable
from .interop.command import import_tau2, replay, score
from .report.command import report
from .synth.command import export_tau2, synth, synth_merge
from .syntax.diagnostics import CompileError

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


# train/command.py is being reworked on another branch; its click wrapper moves there afterwards.
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


for command in (compile, check, replay, evaluate, score, import_tau2, report, call, synth, synth_merge, export_tau2):
    main.add_command(command)

if __name__ == "__main__":
    main()

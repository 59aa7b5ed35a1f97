"""The `eigendsl` command: the click group, and each subcommand registered from the package it belongs to."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from . import __version__
from .adapters.command import serve
from .console import err
from .domain_command import call, check, compile
from .eval.command import evaluate
from .interop.command import import_tau2, replay, score
from .report.command import report
from .synth.command import export_tau2, synth, synth_merge
from .train.command import train

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
            err.print(f"[bold red]error:[/] {escape(e.format_message())}", markup=True, soft_wrap=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:  # every command's failures read the same: `error: ...` (text, not markup)
            err.print(f"[bold red]error:[/] {escape(e.format_message())}", markup=True, soft_wrap=True)
            sys.exit(e.exit_code)
        except click.Abort:
            err.print("[bold red]error:[/] aborted", markup=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="eigendsl")
def main() -> None:
    """eigendsl: declarative tool-use environments with verifiable rewards."""


for command in (compile, check, replay, evaluate, score, import_tau2, report, call, synth, synth_merge, export_tau2, train, serve):
    main.add_command(command)

if __name__ == "__main__":
    main()

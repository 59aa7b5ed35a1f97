"""What every command shares: the consoles, `error: message` failures, diagnostics and plurals on the terminal."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click
from rich.console import Console

from .compiler import Compilation, compile_file
from .syntax.diagnostics import CompileError, Diagnostic, render

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class UsageProblem(click.ClickException):
    """A user-facing failure: printed as `error: message`, exit status 1."""

    def show(self, file=None) -> None:
        from rich.markup import escape

        # escaped: a message naming a TOML section ([grpo.trl]) is text, not markup
        err.print(f"[bold red]error:[/] {escape(self.message)}", markup=True, soft_wrap=True)


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


@contextmanager
def failures_reported(*problems: type[Exception]):
    """A command's body: a compile error prints its diagnostics and exits 1; each of PROBLEMS
    (the domain's own errors: a bad file, a bad setting) becomes one `error: message` line."""
    try:
        yield
    except CompileError as e:
        print_diagnostics(e.diagnostics, {})
        raise SystemExit(1)
    except problems as e:
        raise UsageProblem(str(e))


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

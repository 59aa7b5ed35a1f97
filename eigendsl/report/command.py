"""The `eigendsl report` command: a results file rendered as one static HTML page (registered in cli.py)."""

from __future__ import annotations

from pathlib import Path

import click

from ..console import UsageProblem, out


@click.command()
@click.argument("run_file", metavar="RUN", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False), help="The HTML file to write (default: RUN with .html).")
def report(run_file: str, out_path: str | None) -> None:
    """Render an eval results file (.json or .jsonl), a synth report.json or a train metrics.jsonl as one static HTML page."""
    from ..files import same_file, write_atomic
    from .load import ReportError, load, render

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

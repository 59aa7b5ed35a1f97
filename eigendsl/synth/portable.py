"""A synth output folder that stands on its own: the domain's source and data copied beside the tasks.

Kept task files import the domain by a bare name (`import "airline.eig"`), so `eigendsl check`,
`eval` and `export-tau2` accept them without `--root`, and the folder can be moved or shared
as it is: import and data paths stay inside its tree, as the compiler requires of any file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..compiler import read_modules
from ..syntax import ast
from ..syntax.diagnostics import DiagnosticSink


class NotPortable(Exception):
    """A domain whose source imports other files, or whose data lies outside its own folder."""


def copy_domain(source: Path, dest: Path, db: str | None = None, user_db: str | None = None) -> Path:
    """Copy the domain's source and the data files it names into `dest`; the copy's path.

    `db` / `user_db` (synth --db / --user-db) are copied in place of the data the domain names,
    so the kept tasks compile, check and export over the data they were synthesized on."""
    sink, files = DiagnosticSink(), {}
    modules = read_modules(source, sink, {}, files, source.resolve().parent)
    if sink.has_errors:
        raise NotPortable(f"{source} does not parse")
    if len(files) != 1:
        raise NotPortable(f"{source} imports other files")
    dest.mkdir(parents=True, exist_ok=True)
    copy = dest / source.name
    copy_if_changed(source, copy)
    folder = source.resolve().parent
    given = {"data": db, "user_data": user_db, "words": None}
    names = [(s.name, s.value.value) for m in modules for d in m.decls if isinstance(d, ast.DomainDecl)
             for s in d.settings if s.name in given and isinstance(s.value.value, str)]
    for setting, name in names:
        data = (folder / name).resolve()
        if not data.is_relative_to(folder) or (not data.is_file() and not given[setting]):
            raise NotPortable(f"{source}: data file {name} is not in its folder")
        copy_if_changed(Path(given[setting]) if given[setting] else data, dest / data.relative_to(folder))
    return copy


def copy_if_changed(src: Path, dst: Path) -> None:
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and dst.read_bytes() == src.read_bytes():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def task_files(tasks_dir: Path) -> list[Path]:
    """The task files of a synth output's tasks folder (rounds, or a merge), not the domain's copy."""
    return sorted(p for p in tasks_dir.glob("*.eig") if p.name.startswith(("round_", "merged")))

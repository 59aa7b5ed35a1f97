"""A domain and its tasks from any directory: TARGET's own tasks, an .eig task file or tau2 JSON.

tau2 tasks are converted to eig once per (tasks file, domain source) and compiled from a user
cache folder (`$EIGENDSL_CACHE`, else `$XDG_CACHE_HOME/eigendsl`, else `~/.cache/eigendsl`),
never from the project tree: the converted file and a copy of the domain source sit side by
side there, so the task file's import stays inside its own folder. The user never reads that
conversion: its errors are told as the JSON file, the task (id and index) and the field they come
from, and its warnings say which task of which JSON file they concern.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..compiler import compile_file
from ..files import write_atomic


class TaskSourceError(Exception):
    """Tasks or a domain that cannot be loaded; the message says which file and why."""


def cache_root() -> Path:
    if os.environ.get("EIGENDSL_CACHE"):
        return Path(os.environ["EIGENDSL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "eigendsl"


def domain_source(target: Path) -> Path:
    """The .eig source of a domain: TARGET itself, or the source its compiled folder names.

    A compiled folder records its sources relative to where it was compiled; they are looked for
    there, next to the folder's parent folders (compiled/NAME -> the project root), and in the
    current directory, so the command works from any directory.
    """
    if target.suffix == ".eig":
        return target
    try:
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise TaskSourceError(f"{target} has no readable manifest.json; pass the domain's .eig file instead") from None
    names = [n for n in manifest.get("sources", {}) if Path(n).stem == manifest.get("domain")]
    bases = [*target.resolve().parents, Path.cwd()]
    for name in names:
        for base in bases:
            candidate = base / name
            if candidate.is_file():
                return candidate
    raise TaskSourceError(f"cannot find the source {names[0] if names else '(none recorded)'} of domain "
                          f"{manifest.get('domain')} near {target}; pass the domain's .eig file as TARGET")


def data_paths(target: Path, db: str | None, user_db: str | None) -> tuple[str | None, str | None]:
    """The data to run on: the options, else a compiled folder's own db files (else the source's)."""
    if target.suffix != ".eig":
        db = db or (str(target / "db.json") if (target / "db.json").is_file() else None)
        user_db = user_db or (str(target / "user_db.json") if (target / "user_db.json").is_file() else None)
    return db, user_db


def converted_tau2_tasks(tasks_file: Path, source: Path) -> tuple[Path, dict]:
    """The tau2 tasks as an .eig task file in the cache (written once per content), and the task
    and JSON field each of its lines comes from."""
    from .tau2 import TaskFileError, load_tasks
    from .tau2_tasks import TaskImportError, to_eig_mapped

    try:
        tasks = load_tasks(tasks_file)
        text = source.read_text(encoding="utf-8")
    except TaskFileError as e:
        raise TaskSourceError(str(e)) from None
    except OSError as e:
        raise TaskSourceError(f"{source}: cannot read: {e.strerror}") from None
    words = words_file(source)  # the domain's customer words travel with its copy
    key = hashlib.sha256(tasks_file.read_bytes() + b"\0" + text.encode() + b"\0" + (words[1] if words else b"")).hexdigest()[:20]
    folder = cache_root() / "tau2-tasks" / key
    converted = folder / f"{tasks_file.stem}.tasks.eig"
    try:
        eig, origins = to_eig_mapped(tasks, folder / source.name, converted, tasks_file.name)
    except TaskImportError as e:
        raise TaskSourceError(f"{tasks_file}: {e}") from None
    if not converted.is_file():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Each file appears whole or not at all: several runs (or test processes) may convert
            # the same tasks at once, and one may be compiling while another writes.
            write_atomic(folder / source.name, [text])
            if words is not None:
                (folder / words[0]).parent.mkdir(parents=True, exist_ok=True)
                write_atomic(folder / words[0], [words[1].decode("utf-8", errors="replace")])
            write_atomic(converted, [eig])
        except OSError as e:
            raise TaskSourceError(f"cannot write the converted tasks under {folder}: {e.strerror}") from None
    return converted, origins


def words_file(source: Path) -> tuple[str, bytes] | None:
    """(name as the domain writes it, bytes) of the domain's words file, when it names one that exists."""
    from ..compiler import read_modules
    from ..syntax import ast
    from ..syntax.diagnostics import DiagnosticSink

    modules = read_modules(source, DiagnosticSink(), {}, {})
    for m in modules:
        for d in m.decls:
            if isinstance(d, ast.DomainDecl):
                for setting in d.settings:
                    name = setting.value.value
                    if setting.name == "words" and isinstance(name, str) and ".." not in name and not name.startswith("/"):
                        try:
                            return name, (source.parent / name).read_bytes()
                        except OSError:
                            return None
    return None


def in_tau2_terms(c, tasks_file: Path, converted: Path, origins: dict):
    """The compilation with its diagnostics in the converted file told as the JSON file's task and
    field: its errors stop with one line each; its warnings keep their place and say which task."""
    from dataclasses import replace

    here = converted.resolve()
    errors, kept = [], []
    for d in c.diagnostics:
        origin = origins.get(d.span.line) if c.files.get(d.span.file, Path(d.span.file)).resolve() == here else None
        if origin is None:
            kept.append(d)
        elif d.is_error:
            errors.append(f"{tasks_file}: {origin.describe(d.span.col)}: {d.message}")
        else:
            kept.append(replace(d, message=f"{tasks_file}: {origin.describe(d.span.col)}: {d.message}"))
    if errors:
        raise TaskSourceError("\n".join(errors))
    return replace(c, diagnostics=kept)


def tau2_setup_lines(tasks_file: str | Path, domain, broken: list) -> list[str]:
    """Setup failures (verify.analyses.setup_failures) of a tau2 JSON file's tasks, each naming the
    file, the task and its index there rather than the cached conversion."""
    from ..confine import shown

    index = {t.id: i for i, t in enumerate(domain.ir.tasks)}
    return [f"{tasks_file}: task {shown(f.task_id[:80])} (index {index[f.task_id]}): initial_state: {f.message}"
            for f in broken]


def task_file_compilation(target: str | Path, tasks_file: str | Path, db: str | None = None, user_db: str | None = None,
                          root: str | None = None):
    """The compilation of an .eig or tau2 JSON task file against TARGET's domain and data; an .eig
    task file's paths are confined to `root` (default: its own folder)."""
    target, tasks_file = Path(target), Path(tasks_file)
    db, user_db = data_paths(target, db, user_db)
    if tasks_file.suffix == ".json":
        converted, origins = converted_tau2_tasks(tasks_file, domain_source(target))
        if target.suffix == ".eig" and (db is None or user_db is None):
            # The copied source's relative data paths do not resolve in the cache: take them from the original.
            paths = compile_file(target, root=root).data_paths
            db = db or (str(paths["agent"]) if "agent" in paths else None)
            user_db = user_db or (str(paths["user"]) if "user" in paths else None)
        # The converted file and the copy of the source it imports share one cache folder.
        return in_tau2_terms(compile_file(converted, db, user_db), tasks_file, converted, origins)
    return compile_file(tasks_file, db, user_db, root=root)

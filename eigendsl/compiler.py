"""The compiler driver: read sources, parse, check, validate the domain's data; run the analyses; load an .eig to run.

The top of the compile pipeline (docs/architecture.md, "Layers"): it may import the runtime and the
verifiers, which never import it. It imports them where they are used, so that the commands which
only compile start without loading them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from . import ir
from .confine import (MAX_SOURCE_BYTES, MAX_SOURCE_FILES, FileUnreadable, PathRefused, confined,
                      decode_source,
                      hidden_characters, read_limited)
from .semantics.check import Checker
from .syntax import ast
from .syntax.diagnostics import CompileError, DiagnosticSink
from .syntax.parser import parse_text
from .files import not_a_file
from .syntax.spans import Span
from .compilation import (Compilation, Schema, display_path, read_json, type_signature,  # noqa: F401 (re-exported)
                          validate_state)

if TYPE_CHECKING:
    from .runtime.environment import CompiledDomain


def reports_hidden(sink: DiagnosticSink, name: str, text: str) -> bool:
    """Whether TEXT holds invisible or control characters, each reported at its place (E212)."""
    hidden = hidden_characters(text)
    for line, col, ch in hidden:
        sink.error(f"invisible or control character U+{ord(ch):04X} in the source", Span(name, line, col, line, col + 1),
                   code="E212")
    return bool(hidden)


def read_modules(path: Path, sink: DiagnosticSink, sources: dict[str, str], files: dict[str, Path],
                 root: Path | None = None) -> list[ast.Module]:
    """Parse a file and, depth first, the files it imports (each once, all inside `root`)."""
    modules: list[ast.Module] = []
    seen: set[Path] = set()
    root = (root or path.resolve().parent).resolve()

    def visit(p: Path, from_span: Span | None) -> None:
        p = p.resolve()
        if p in seen:
            return
        if len(seen) >= MAX_SOURCE_FILES:
            sink.error(f"too many source files (the limit is {MAX_SOURCE_FILES})", from_span or Span(display_path(p), 1, 1, 1, 1),
                       code="E213")
            return
        seen.add(p)
        name = display_path(p)
        try:
            text = decode_source(read_limited(p, MAX_SOURCE_BYTES, "source file", name), name)
        except FileUnreadable as e:
            sink.error(str(e), from_span or Span(name, 1, 1, 1, 1), code="E200")
            return
        except PathRefused as e:
            sink.error(str(e), from_span or Span(name, 1, 1, 1, 1), code="E211")
            return
        if reports_hidden(sink, name, text):
            return
        sources[name] = text
        files[name] = p
        try:
            module = parse_text(name, text)
        except CompileError as e:
            sink.items.extend(e.diagnostics)
            return
        for d in module.decls:
            if isinstance(d, ast.ImportDecl):
                try:
                    target = confined(p.parent, d.path, root, "import", ".eig")
                except PathRefused as e:
                    sink.error(str(e), d.span, code="E211")
                    continue
                visit(target, d.span)
        modules.append(module)

    visit(path, None)
    return modules


def check_task_text(modules: list[ast.Module], pieces: list[tuple[str, str]]) -> tuple[ir.Domain | None, list]:
    """Task text checked against a domain's parsed modules (`read_modules`), in memory: nothing is
    written or read. Each piece (name, text) is parsed as its own source called `name`, so every
    diagnostic's file says which piece it is about and its lines are the piece's own; the pieces'
    declarations are then checked together as the file whose tasks the domain returned holds.
    The domain is None where any error was found (all of them are in the diagnostics)."""
    sink = DiagnosticSink()
    decls: list[ast.Decl] = []
    for name, text in pieces:
        if reports_hidden(sink, name, text):
            continue
        try:
            decls.extend(parse_text(name, text).decls)
        except CompileError as e:
            sink.items.extend(e.diagnostics)
    if sink.has_errors:
        return None, sink.sorted()
    first = pieces[0][0] if pieces else "<tasks>"
    module = ast.Module(Span(first, 1, 1, 1, 1), first, tuple(decls))
    try:
        domain = Checker([*modules, module], sink).check()
    except RecursionError:
        sink.error("the task is nested too deeply to check", module.span, code="E202")
        domain = None
    return (domain if not sink.has_errors else None), sink.sorted()


def compile_file(path: str | Path, db: str | Path | None = None, user_db: str | Path | None = None,
                 with_data: bool = True, root: str | Path | None = None) -> Compilation:
    """Parse and check a domain file; load and validate its data unless with_data is False.

    `import` and `data =` paths must stay inside `root` (default: the folder of `path`)."""
    path = Path(path)
    result = Compilation(path)
    sink = DiagnosticSink()
    if not path.is_file():
        sink.error(not_a_file(path), Span(str(path), 1, 1, 1, 1), code="E201")
        result.diagnostics = sink.sorted()
        return result
    root = Path(root).resolve() if root is not None else path.resolve().parent
    modules = read_modules(path, sink, result.sources, result.files, root)
    if sink.has_errors:
        result.diagnostics = sink.sorted()
        return result
    checker = Checker(modules, sink)
    try:
        domain = checker.check()
    except RecursionError:
        sink.error("the program is nested too deeply to check", modules[-1].span, code="E202")
        domain = None
    if domain is not None and not sink.has_errors:
        result.domain = domain
        if with_data:
            load_data(result, checker, sink, db, user_db, root)
        load_words(result, checker, sink, root)
    result.diagnostics = sink.sorted()
    if sink.has_errors:
        result.domain = None
    return result


def load_data(result: Compilation, checker: Checker, sink: DiagnosticSink, db, user_db, root: Path | None = None) -> None:
    domain = result.domain
    settings = {s.name: s for s in checker.domain_decl.settings}
    domain_file = checker.domain_decl.span.file
    base_dir = result.files[domain_file].parent if domain_file in result.files else result.path.parent
    for side, key, override in (("agent", "data", db), ("user", "user_data", user_db)):
        fields = [f for f in domain.state if f.side == side]
        if not fields:
            if override is not None:
                sink.error(f"the domain has no {side}-side state for {override}", checker.domain_decl.span, code="E203")
            continue
        if override is not None:
            file = Path(override)
            span = Span(display_path(file), 1, 1, 1, 1)
        elif key in settings:
            span = settings[key].value.span
            try:
                file = confined(base_dir, settings[key].value.value, root or base_dir.resolve(), "data")
            except PathRefused as e:
                sink.error(str(e), span, code="E211")
                continue
        else:
            sink.error(f"the domain declares {side}-side state but no `{key} = \"FILE.json\"` setting", checker.domain_decl.span, code="E204")
            continue
        data = read_json(file, span, sink)
        if data is None:
            continue
        validated = validate_state(domain, fields, data, span, sink, display_path(file))
        if validated is None:
            continue
        result.data_paths[side] = file
        if side == "agent":
            result.data = validated
        else:
            result.user_data = validated


def load_words(result: Compilation, checker: Checker, sink: DiagnosticSink, root: Path | None = None) -> None:
    """The domain's customer words (`words = "FILE.toml"`), validated against its tools and facts."""
    from .types import EnumType, OptionalType
    from .words import name_problems, parse_words

    settings = {s.name: s for s in checker.domain_decl.settings}
    if "words" not in settings or not isinstance(settings["words"].value.value, str):
        return
    span = settings["words"].value.span
    domain_file = checker.domain_decl.span.file
    base_dir = result.files[domain_file].parent if domain_file in result.files else result.path.parent
    name = settings["words"].value.value
    try:
        file = confined(base_dir, name, root or base_dir.resolve(), "words", ".toml")
        text = read_limited(file, MAX_SOURCE_BYTES, "words file", display_path(file)).decode("utf-8")
    except PathRefused as e:
        sink.error(str(e), span, code="E211")
        return
    except (FileUnreadable, OSError, UnicodeDecodeError) as e:
        sink.error(f"cannot read words file {name}: {getattr(e, 'strerror', None) or e}", span, code="E215")
        return
    try:
        words = parse_words(text)
    except ValueError as e:
        sink.error(f"words file {name}: {e}", span, code="E215")
        return
    domain = result.domain
    tools = {t.name: [p.name for p in t.params] for t in domain.tools}
    enums = {e.name: list(e.values) for e in domain.enums}
    facts = {}
    for f in domain.facts:
        t = f.type.inner if isinstance(f.type, OptionalType) else f.type
        facts[f.name] = enums.get(t.name) if isinstance(t, EnumType) else None
    fields = {f.name for r in domain.records for f in r.fields} | {f.name for u in domain.unions for v in u.variants for f in v.fields}
    problems = name_problems(words, tools, facts, fields)
    if problems:
        sink.error(f"words file {name}: {problems[0]}", span, code="E215")
        return
    result.words = words.to_json()
    result.words_path = file


def require(compilation: Compilation) -> Compilation:
    if not compilation.ok:
        raise CompileError(compilation.diagnostics)
    return compilation


def analyse(c: Compilation, mutate: bool = False):
    """The policy and task analyses of a compiled domain (None when it has no data to run on)."""
    from .runtime.environment import CompiledDomain
    from .verify.analyses import analyse as run_analyses

    if c.data is None and any(sf.side == ir.Side.AGENT for sf in c.domain.state):
        return None
    return run_analyses(CompiledDomain.from_compilation(c), mutate=mutate)


def compile_checked(path, db=None, user_db=None, root=None) -> Compilation:
    c = compile_file(path, db, user_db, root=root)
    if not c.ok:
        raise CompileError(c.diagnostics)
    return c


def load_domain(path: str | Path, db: str | Path | None = None, user_db: str | Path | None = None,
                root: str | Path | None = None) -> CompiledDomain:
    """A domain to run: a compiled folder, or an .eig file compiled here (its paths confined to `root`);
    `db` / `user_db` swap in other initial data (validated)."""
    from .runtime.environment import CompiledDomain, DomainLoadError

    path = Path(path)
    if path.suffix == ".eig":
        if not path.is_file():
            raise DomainLoadError(not_a_file(path, "domain file"))
        return CompiledDomain.from_compilation(compile_checked(path, db, user_db, root))
    return CompiledDomain.load(path, db, user_db)

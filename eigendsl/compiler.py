"""The compiler driver: read sources, parse, check, validate the domain's data, emit the folder."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import ir
from .confine import (MAX_DATA_BYTES, MAX_SOURCE_BYTES, MAX_SOURCE_FILES, FileUnreadable, PathRefused, confined,
                      decode_source,
                      hidden_characters, read_limited)
from .semantics.check import Checker
from .syntax import ast
from .syntax.diagnostics import CompileError, Diagnostic, DiagnosticSink
from .syntax.parser import parse_text
from .syntax.spans import Span
from .values import InvalidValue, Validators


@dataclass
class Compilation:
    """Everything a compile produced: the IR and data when it succeeded, and all diagnostics."""

    path: Path
    sources: dict[str, str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    domain: ir.Domain | None = None
    data: dict | None = None
    user_data: dict | None = None
    data_paths: dict[str, Path] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # display name -> resolved path

    @property
    def ok(self) -> bool:
        return self.domain is not None and not any(d.is_error for d in self.diagnostics)


def display_path(path: Path) -> str:
    """How a source file is named in diagnostics and in the IR: relative to the working directory."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


class Schema:
    """Lookups of the named types of a Domain (the protocol values.Validators needs)."""

    def __init__(self, domain: ir.Domain):
        self.enums = {e.name: e for e in domain.enums}
        self.records = {r.name: r for r in domain.records}
        self.unions = {u.name: u for u in domain.unions}

    def enum_def(self, name):
        return self.enums[name]

    def record_def(self, name):
        return self.records[name]

    def union_def(self, name):
        return self.unions[name]


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
        hidden = hidden_characters(text)
        if hidden:
            for line, col, ch in hidden:
                sink.error(f"invisible or control character U+{ord(ch):04X} in the source",
                           Span(name, line, col, line, col + 1), code="E212")
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


def compile_file(path: str | Path, db: str | Path | None = None, user_db: str | Path | None = None,
                 with_data: bool = True, root: str | Path | None = None) -> Compilation:
    """Parse and check a domain file; load and validate its data unless with_data is False.

    `import` and `data =` paths must stay inside `root` (default: the folder of `path`)."""
    path = Path(path)
    result = Compilation(path)
    sink = DiagnosticSink()
    if not path.is_file():
        sink.error(f"no such file: {path}", Span(str(path), 1, 1, 1, 1), code="E201")
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


_JSON_CACHE: dict[tuple, object] = {}


def read_json(file: Path, span: Span, sink: DiagnosticSink):
    """Parse a JSON data file (memoised per path, size and mtime: checks re-read the same data often)."""
    try:
        st = file.stat()
        key = (str(file.resolve()), st.st_size, st.st_mtime_ns)
        if key in _JSON_CACHE:
            return _JSON_CACHE[key]
        data = json.loads(read_limited(file, MAX_DATA_BYTES, "data file", display_path(file)).decode("utf-8"))
        if len(_JSON_CACHE) > 8:
            _JSON_CACHE.clear()
        _JSON_CACHE[key] = data
        return data
    except OSError as e:
        sink.error(f"cannot read data file {display_path(file)}: {e.strerror}", span, code="E205")
    except FileUnreadable as e:
        sink.error(str(e), span, code="E205")
    except PathRefused as e:
        sink.error(str(e), span, code="E211")
    except RecursionError:
        sink.error(f"data file {display_path(file)} is nested too deeply", span, code="E205")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        where = f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        sink.error(f"data file {display_path(file)} is not valid JSON{where}: {getattr(e, 'msg', e)}", span, code="E206")
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        sink.error(f"data file {display_path(file)} cannot be read: {str(e).split(';')[0]}", span, code="E205")
    return None


def type_signature(domain: ir.Domain, fields) -> str:
    """Everything about the types that decides whether data validates (no spans, no docs)."""
    parts = [f"enum {e.name} {e.values}" for e in domain.enums]
    for r in domain.records:
        parts.append(f"record {r.name} " + ";".join(f"{f.name}:{f.type}:{f.has_default}:{f.default!r}" for f in r.fields))
    for u in domain.unions:
        for v in u.variants:
            parts.append(f"variant {u.name}.{v.name}={v.tag} by {u.tag_field} " + ";".join(f"{f.name}:{f.type}:{f.has_default}:{f.default!r}" for f in v.fields))
    parts += [f"state {f.side} {f.name}:{f.type}" for f in fields]
    return "\n".join(parts)


_VALID_CACHE: dict[tuple[int, str], tuple] = {}


def validate_state(domain: ir.Domain, fields, data, span: Span, sink: DiagnosticSink, name: str) -> dict | None:
    """Check a db against the state declaration; every field must be present and well-typed."""
    key = (id(data), type_signature(domain, fields))
    cached = _VALID_CACHE.get(key)
    if cached is not None and cached[0] is data:
        return cached[1]
    result = _validate_state(domain, fields, data, span, sink, name)
    if result is not None:
        if len(_VALID_CACHE) > 8:
            _VALID_CACHE.clear()
        _VALID_CACHE[key] = (data, result)
    return result


def _validate_state(domain: ir.Domain, fields, data, span: Span, sink: DiagnosticSink, name: str) -> dict | None:
    if not isinstance(data, dict):
        sink.error(f"{name}: the data must be a JSON object with one entry per state field", span, code="E207")
        return None
    validators = Validators(Schema(domain))
    out = {}
    ok = True
    for f in fields:
        if f.name not in data:
            sink.error(f"{name}: no entry for state '{f.name}'", span, code="E208")
            ok = False
            continue
        try:
            out[f.name] = validators.validate(f.type, data[f.name], f.name)
        except InvalidValue as e:
            sink.error(f"{name}: {e}", span, code="E209")
            ok = False
    extra = [k for k in data if k not in {f.name for f in fields}]
    if extra:
        sink.error(f"{name}: '{extra[0]}' is not declared in state", span, code="E210")
        ok = False
    return out if ok else None


def require(compilation: Compilation) -> Compilation:
    if not compilation.ok:
        raise CompileError(compilation.diagnostics)
    return compilation


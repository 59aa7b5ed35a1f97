"""The results of a compile and the checks on a domain's data, shared by the compiler driver and the runtime."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import ir
from .confine import MAX_DATA_BYTES, FileUnreadable, PathRefused, read_limited
from .syntax.diagnostics import Diagnostic, DiagnosticSink
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
    words: dict | None = None  # the domain's customer words (eigendsl/words.py), in their JSON form
    words_path: Path | None = None
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
    except UnicodeDecodeError as e:
        sink.error(f"data file {display_path(file)} is not UTF-8 text (byte {e.start})", span, code="E206")
    except json.JSONDecodeError as e:
        sink.error(f"data file {display_path(file)} is not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}", span, code="E206")
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


def forget_cached_data() -> None:
    """Drop the per-process memo of parsed and validated data files (benchmarks time the real work)."""
    _JSON_CACHE.clear()
    _VALID_CACHE.clear()

"""Diagnostics: errors and warnings that point at a span, and their rendering."""

from __future__ import annotations

from dataclasses import dataclass, field

from .spans import Span


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error" | "warning" | "note"
    message: str
    span: Span
    notes: tuple[tuple[str, Span | None], ...] = ()
    code: str | None = None  # stable code from syntax/codes.py, e.g. "E105"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "notes": [
                {"message": m, **({"file": s.file, "line": s.line, "col": s.col} if s else {})}
                for m, s in self.notes
            ],
        }


class CompileError(Exception):
    """Raised when a pass finds errors; carries every diagnostic found so far."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(f"{d.span}: {d.severity}: {d.message}" for d in diagnostics))


@dataclass
class DiagnosticSink:
    """Collects diagnostics across passes so one run reports them all."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, message: str, span: Span, *notes: tuple[str, Span | None], code: str | None = None) -> None:
        self.items.append(Diagnostic("error", message, span, tuple(notes), code))

    def warning(self, message: str, span: Span, *notes: tuple[str, Span | None], code: str | None = None) -> None:
        self.items.append(Diagnostic("warning", message, span, tuple(notes), code))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)

    def raise_if_errors(self) -> None:
        if self.has_errors:
            raise CompileError(self.sorted())

    def sorted(self) -> list[Diagnostic]:
        seen, out = set(), []
        for d in sorted(self.items, key=lambda d: (d.span.file, d.span.line, d.span.col)):
            key = (d.severity, d.message, d.span)
            if key not in seen:
                seen.add(key)
                out.append(d)
        return out


def render(diagnostic: Diagnostic, sources: dict[str, str]) -> str:
    """`path:line:col: error: message [E012]`, the source line, and a caret under the span."""
    s = diagnostic.span
    code = f" [{diagnostic.code}]" if diagnostic.code else ""
    lines = [f"{s.file}:{s.line}:{s.col}: {diagnostic.severity}: {diagnostic.message}{code}"]
    text = sources.get(s.file)
    if text is not None:
        src_lines = text.splitlines()
        if 1 <= s.line <= len(src_lines):
            line = src_lines[s.line - 1].expandtabs(1)
            width = 1
            if s.end_line == s.line and s.end_col > s.col:
                width = s.end_col - s.col
            elif s.end_line > s.line:
                width = max(1, len(line) - s.col + 1)
            col = s.col
            if len(line) > 160:  # a window around the column, so a huge line is not echoed whole
                start = max(0, col - 61)
                line = ("..." if start else "") + line[start:start + 120] + ("..." if start + 120 < len(line) else "")
                col = col - start + (3 if start else 0)
                width = min(width, 120)
            lines.append(f"  {line}")
            lines.append("  " + " " * (col - 1) + "^" + "~" * (min(width, 200) - 1))
    for message, span in diagnostic.notes:
        where = f"{span.file}:{span.line}:{span.col}: " if span else ""
        lines.append(f"{where}note: {message}")
    return "\n".join(lines)

"""Analysis findings: what an analysis reports, at a span, and the errors that make a question "not analysed"."""

from __future__ import annotations

from dataclasses import dataclass

import z3

from ..runtime.environment import INTERNAL_ERRORS
from ..syntax.codes import finding_code
from ..syntax.diagnostics import Diagnostic
from ..syntax.spans import Span
from .symvalues import Unsupported


# A construct the encoding does not cover, or a fault of the encoding itself: either way the
# question is not analysed (at its span), and the run goes on.
ENCODING_ERRORS = (Unsupported, z3.Z3Exception, *INTERNAL_ERRORS)


def outside(e: Exception) -> str:
    return e.what if isinstance(e, Unsupported) else f"the encoding failed: {type(e).__name__}: {e}"


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str  # error | warning | info
    message: str
    span: Span
    task_id: str | None = None

    def to_json(self) -> dict:
        return {"kind": self.kind, "code": finding_code(self.kind, self.severity), "severity": self.severity, "message": self.message, "file": self.span.file,
                "line": self.span.line, "col": self.span.col}

    def diagnostic(self) -> Diagnostic:
        prefix = f"task {self.task_id}: " if self.task_id is not None else ""
        return Diagnostic(self.severity if self.severity != "info" else "note", prefix + self.message, self.span,
                          code=finding_code(self.kind, self.severity))

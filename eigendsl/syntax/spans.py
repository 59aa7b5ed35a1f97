"""Source positions: where in which file a construct was written."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based, end-inclusive-start/exclusive-end range of a source file."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def to_json(self) -> list:
        return [self.line, self.col, self.end_line, self.end_col]

    @classmethod
    def from_json(cls, file: str, data: list) -> "Span":
        return cls(file, *data)

    def cover(self, other: "Span") -> "Span":
        """The smallest span containing both (same file)."""
        start = min((self.line, self.col), (other.line, other.col))
        end = max((self.end_line, self.end_col), (other.end_line, other.end_col))
        return Span(self.file, start[0], start[1], end[0], end[1])

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOWHERE = Span("<builtin>", 1, 1, 1, 1)

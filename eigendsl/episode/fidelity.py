"""The fidelity monitor: user messages that disclose identifiers or values the user cannot know.

A simulated user should only say what its scenario tells it, or what it heard in the
conversation. Identifiers and values in its messages (user ids, order and reservation codes,
emails, phone numbers, long numbers, payment ids) that appear in neither are flagged: a user
model that invents them corrupts the reward (an agent succeeds or fails for the wrong reason).
"""

from __future__ import annotations

import re

from .. import ir

_PATTERNS = [
    # starting only where a run of name characters starts: otherwise a long run without an @
    # (a runaway user message) is retried from each of its characters, quadratic in its length
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("identifier", re.compile(r"\b[a-z]+(?:_[a-z]+)*_\d+\b")),
    ("code", re.compile(r"#?\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{5,10}\b")),
    ("phone", re.compile(r"\b\d{3}[-. ]\d{3}[-. ]\d{4}\b")),
    ("number", re.compile(r"#?\b[A-Z]?\d{4,}\b")),
]


def identifiers(text: str) -> list[tuple[str, str]]:
    found, seen = [], set()
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text or ""):
            value = m.group(0).strip("#")
            if value.lower() not in seen and not any(value in other for _, other in found):
                seen.add(value.lower())
                found.append((kind, value))
    return found


def scenario_text(task: ir.TaskDef) -> str:
    parts = list(task.user.texts.values())
    for group in (task.user.knows, task.user.facts):
        for key, value in group.items():
            parts.append(f"{key} {value}")
    parts += list(task.texts.values())
    return "\n".join(str(p) for p in parts)


class FidelityMonitor:
    def __init__(self, task: ir.TaskDef):
        self.known = scenario_text(task).lower()
        self.heard_text: list[str] = []

    def reset(self) -> None:
        self.heard_text = []

    def heard(self, text: str | None) -> None:
        """Something said to the user (agent text, user-tool output): the user may repeat it."""
        if text:
            self.heard_text.append(text.lower())

    def check(self, user_text: str) -> list[dict]:
        flags = []
        for kind, value in identifiers(user_text):
            needle = value.lower()
            if needle in self.known or any(needle in h for h in self.heard_text):
                continue
            flags.append({"kind": kind, "value": value, "message": f"user disclosed {kind} '{value}', which is not in its scenario"})
        return flags

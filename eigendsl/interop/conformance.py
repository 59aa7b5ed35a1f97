"""Conformance of replay records with reference records, by the rules of the reference data.

A record matches when init and action lists have the same lengths and ok flags, successful
actions' contents are equal as JSON (numbers by value), assertion values are equal, and the
changed rows (and the user-side db, where there is one) are equal. Error wording and db hashes
are counted separately, as stricter figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..files import numbered_lines, read_text


@dataclass
class Conformance:
    records: int = 0
    matched: int = 0
    missing: list[str] = field(default_factory=list)
    mismatches: list[tuple[str, str]] = field(default_factory=list)  # (task_id, first difference)
    errors_total: int = 0
    errors_same_text: int = 0
    hashes_total: int = 0
    hashes_equal: int = 0
    user_hashes_total: int = 0
    user_hashes_equal: int = 0

    def summary(self) -> dict:
        return {
            "records": self.records,
            "matched": self.matched,
            "match_rate": self.matched / self.records if self.records else 0.0,
            "missing": len(self.missing),
            "error_text_agreement": f"{self.errors_same_text}/{self.errors_total}",
            "db_hash_agreement": f"{self.hashes_equal}/{self.hashes_total}",
            "user_db_hash_agreement": f"{self.user_hashes_equal}/{self.user_hashes_total}",
        }


def read_jsonl(path: str | Path) -> list[dict]:
    """The records of a JSON-lines file; ValueError, naming the file or the line, when one cannot be read."""
    out = []
    for n, line in numbered_lines(read_text(Path(path), ValueError)):
        try:
            out.append(json.loads(line))
        except ValueError as e:
            raise ValueError(f"line {n} is not valid JSON: {e}") from None
    return out


def first_difference(actual: dict, expected: dict) -> str | None:
    for key in ("init", "actions"):
        a, e = actual.get(key, []), expected.get(key, [])
        if len(a) != len(e):
            return f"{key}: {len(a)} entries, expected {len(e)}"
        for i, (x, y) in enumerate(zip(a, e)):
            if x["ok"] != y["ok"]:
                return f"{key}[{i}] {y.get('name') or y.get('func_name')}: ok={x['ok']}, expected {y['ok']} ({str(y['content'])[:120]} / got {str(x['content'])[:120]})"
            if key == "actions" and y["ok"] and x["content"] != y["content"]:
                return f"{key}[{i}] {y['name']}: content differs"
    a, e = actual.get("assertions", []), expected.get("assertions", [])
    if [x["value"] for x in a] != [y["value"] for y in e]:
        return f"assertions: {[x['value'] for x in a]}, expected {[y['value'] for y in e]}"
    if actual.get("db_changes") != expected.get("db_changes"):
        tables = sorted(set(actual.get("db_changes", {})) | set(expected.get("db_changes", {})))
        for t in tables:
            xa, xe = actual.get("db_changes", {}).get(t, {}), expected.get("db_changes", {}).get(t, {})
            if xa != xe:
                keys = sorted(set(xa) ^ set(xe)) or sorted(k for k in xa if xa[k] != xe.get(k))
                return f"db_changes[{t}] differs at {keys[:3]}"
    if "user_db" in expected and actual.get("user_db") != expected["user_db"]:
        return "user_db differs"
    return None


def compare(actual: list[dict], expected: list[dict]) -> Conformance:
    by_id = {r["task_id"]: r for r in actual}
    result = Conformance()
    for e in expected:
        result.records += 1
        a = by_id.get(e["task_id"])
        if a is None:
            result.missing.append(e["task_id"])
            continue
        diff = first_difference(a, e)
        if diff is None:
            result.matched += 1
        else:
            result.mismatches.append((e["task_id"], diff))
        for key in ("init", "actions"):
            for x, y in zip(a.get(key, []), e.get(key, [])):
                if not y["ok"]:
                    result.errors_total += 1
                    result.errors_same_text += x["content"] == y["content"]
        result.hashes_total += 1
        result.hashes_equal += a.get("db_hash") == e.get("db_hash")
        if e.get("user_db_hash") is not None:
            result.user_hashes_total += 1
            result.user_hashes_equal += a.get("user_db_hash") == e.get("user_db_hash")
    return result

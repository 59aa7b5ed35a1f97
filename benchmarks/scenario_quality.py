"""How synthesized scenarios read: tool language, ids a customer would not have, sameness, undetermined choices.

    python benchmarks/scenario_quality.py OUT_FOLDER DOMAIN.eig

OUT_FOLDER is an `eigendsl synth` output; its kept tasks (tasks/round_*.eig) are checked
against DOMAIN.eig (the domain with its words file, so that older outputs are judged by the
same words). Prints one JSON line:

- tool_language: share of scenarios holding six consecutive words of a tool's description;
- foreign_ids: share whose text or `knows` holds an id from the data (a map key other than a
  date, or a field named *id or *_number) other than the values of the parameters the
  domain's words say customers hold;
- identical_masked: share whose reason+known+instructions equal another task's once ids,
  numbers, dates and capitalised words are masked;
- undetermined: share whose gold makes a choice the scenario does not single out
  (eigendsl/verify/choices.py).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eigendsl import ir  # noqa: E402
from eigendsl.compiler import compile_checked  # noqa: E402
from eigendsl.runtime.environment import CompiledDomain  # noqa: E402
from eigendsl.verify.choices import task_choices  # noqa: E402
from eigendsl.verify.reward import TaskChecker  # noqa: E402

WORD = re.compile(r"[a-z]+")


def ids_in(value, out: set, key: str = "") -> set:
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict) and re.search(r"\d", k) and not re.match(r"^\d{4}-\d\d-\d\d", k):  # not a date
                out.add(k)
            ids_in(v, out, k)
    elif isinstance(value, list):
        for v in value:
            ids_in(v, out, key)
    elif isinstance(value, str) and (key.endswith("id") or key.endswith("_number")) and len(value) >= 5:
        out.add(value)
    return out


def values_under(value, key: str, out: list) -> list:
    """Every string stored under a field named `key` (a phone number the customer has)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == key and isinstance(v, str):
                out.append(v)
            values_under(v, key, out)
    elif isinstance(value, list):
        for v in value:
            values_under(v, key, out)
    return out


def mask(text: str) -> str:
    text = re.sub(r"\b[\w-]*\d[\w-]*\b", "#", text)
    return re.sub(r"\b[A-Z][a-z]+\b", "X", text)


def main() -> None:
    out, source = Path(sys.argv[1]), Path(sys.argv[2]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        for f in source.parent.glob(f"{source.stem}.*"):
            shutil.copy(f, Path(tmp) / f.name)
        tasks = []
        for rnd in sorted((out / "tasks").glob("round_*.eig")):
            shutil.copy(rnd, Path(tmp) / rnd.name)
            tasks += list(compile_checked(Path(tmp) / rnd.name).domain.tasks)
        c = compile_checked(Path(tmp) / source.name)
        domain = CompiledDomain.from_compilation(c)
        own = {t.id for t in c.domain.tasks}
        tasks = [t for t in tasks if t.id not in own]
    docs = [WORD.findall((t.doc or "").lower()) for t in domain.ir.tools]
    grams = {" ".join(d[i:i + 6]) for d in docs for i in range(len(d) - 5)}
    all_ids = ids_in(domain.base.roots, set())
    all_ids -= {v for k in domain.words.holds for v in values_under(domain.base.roots, k, [])}  # a customer has these
    writes = {t.name for t in domain.ir.tools if t.effect == ir.Effect.WRITES}
    held = set(domain.words.holds)
    n = len(tasks)
    tool, foreign, undetermined, masked = 0, 0, 0, []
    for t in tasks:
        text = " ".join(t.user.texts.values())
        words = " ".join(WORD.findall(text.lower()))
        tool += any(g in words for g in grams)
        allowed = {v for k, v in t.user.knows.items() if re.sub(r"^(second|other)_", "", k) in held}
        said = set(re.findall(r"[\w-]+", text)) | {json.dumps(v) for v in t.user.knows.values()}
        knows_strings = {v for v in t.user.knows.values() if isinstance(v, str)}
        foreign += any(i in said or i in knows_strings for i in all_ids - allowed)
        masked.append(mask(" ".join(t.user.texts.get(k, "") for k in ("reason", "known", "instructions"))))
        undetermined += bool(task_choices(domain, t, TaskChecker(domain, t), writes)) if t.gold else 0
    counts = Counter(masked)
    same = sum(1 for m in masked if counts[m] > 1)
    print(json.dumps({"tasks": n, "tool_language": round(tool / n, 3), "foreign_ids": round(foreign / n, 3),
                      "identical_masked": round(same / n, 3), "undetermined": round(undetermined / n, 3)}))


if __name__ == "__main__":
    main()

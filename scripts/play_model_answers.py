"""Play the held-out model answers (tests/data/model_answers) through `eigendsl synth --writer
openai:...` against the local chat server, and print what was kept and what was rejected, why.

    python scripts/play_model_answers.py [--out DIR]

The server answers each first writer request with the next answer of answers.json, repeats an
answer when the writer is asked to repair it (a stubborn model) or asked again after an
unusable reply, and answers 404 once they are spent. tests/test_synth_models.py runs the same.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT / "tests" / "data" / "model_answers"
INDEX = json.loads((ANSWERS / "answers.json").read_text())["answers"]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from chat_server import ChatServer, completion  # noqa: E402  (tests/chat_server.py)


class HeldOut:
    """The writer's side of the chat server, answering from the held-out answers in order."""

    def __init__(self):
        self.queue = [(ANSWERS / a["file"]).read_text() for a in INDEX]
        self.lock = threading.Lock()
        self.last = (None, None)

    def __call__(self, request: dict, n: int):
        messages = request["messages"]
        if not messages[0]["content"].startswith("You write test tasks"):
            return ("status", 400, {"error": {"message": "only the writer is played"}})
        if len(messages) > 2:  # a repair: the same answer again
            return completion(messages[-2]["content"])
        with self.lock:
            asked = json.dumps(messages)
            if asked == self.last[0]:  # asked again after an unusable reply: the same answer
                return self.last[1]
            answer = completion(self.queue.pop(0)) if self.queue else ("status", 404, {"error": {"message": "no more answers"}})
            self.last = (asked, answer)
            return answer


def play(out: Path) -> tuple[object, dict]:
    """Run synth over the answers into `out`; the click result and report.json."""
    from click.testing import CliRunner

    from eigendsl.cli import main

    good = sum(a["expect"] == "kept" for a in INDEX)
    with ChatServer(HeldOut()) as server:
        result = CliRunner().invoke(main, [
            "synth", str(ROOT / "domains" / "airline.eig"), "--out", str(out), "--no-progress", "--workers", "1", "--fresh",
            "--base-url", server.base_url, "--api-key", "test", "--writer", "openai:held-out", "--tasks", str(good),
            "--rounds", "1", "--batch", "30", "--concurrency", "1"])
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").is_file() else {}
    return result, report


def outcomes(out: Path, report: dict) -> list[tuple[dict, str]]:
    """Each answer with what became of it: `kept` or the reason it was last rejected with."""
    from eigendsl.synth.portable import task_files

    kept = set(re.findall(r"^# plan .* · writer \S+ \(as (.*?)\)", "".join(p.read_text() for p in task_files(out / "tasks")), re.M))
    writer = [r for r in report.get("model_rejections", []) if r["role"] == "writer"]
    unnamed = [r["reason"] for r in writer if "attempt" not in r and r.get("name") is None]
    rows = []
    for a in INDEX:
        if a["name"] in kept:
            rows.append((a, "kept"))
        elif a["name"] is None:
            match = next((r for r in unnamed if r.startswith(a["expect"])), unnamed[0] if unnamed else "not seen")
            if match in unnamed:
                unnamed.remove(match)
            rows.append((a, match))
        else:
            mine = [r["reason"] for r in writer if r.get("name") == a["name"]]
            rows.append((a, mine[-1] if mine else "not seen"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="Where the synth run goes (default: a temporary folder).")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp()) / "held_out"
    result, report = play(out)
    rows = outcomes(out, report)
    for a, what in rows:
        ok = what == "kept" if a["expect"] == "kept" else what.startswith(a["expect"])
        mark = "ok " if ok else ("xf " if a.get("after") else "BAD")  # xf: waits for another branch's work
        print(f"{mark} {a['file']:<42} expected {a['expect']:<24} got {what}"
              + (f"  (after {a['after'].split(':')[0]})" if a.get("after") else ""))
    good = [w for a, w in rows if a["expect"] == "kept"]
    bad = [w for a, w in rows if a["expect"] != "kept"]
    print(f"good answers kept {good.count('kept')} of {len(good)}; defective answers rejected "
          f"{sum(w != 'kept' for w in bad)} of {len(bad)}; traceback: {'yes' if result.exception and not isinstance(result.exception, SystemExit) else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

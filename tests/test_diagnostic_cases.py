"""Data-driven diagnostic tests: each `.eig` file under tests/data/diagnostics/ states what `check` reports.

An expected diagnostic is a comment on the line it points at: `# E105: unknown name 'x'`.
One at another place is written `# @FILE:LINE E201: message` (FILE as the diagnostic names it,
relative to the case's folder). A comment `# options: db=FILE user_db=FILE path=FILE` passes
those to the compiler (`path` compiles that file instead of the case). The run is the one
`eigendsl check` makes: compile with data, then the analyses when the compile succeeds.

Every registered code has at least one case. After a deliberate change of messages, rewrite the
expectations with `EIG_UPDATE_CASES=1 pytest tests/test_diagnostic_cases.py` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from eigendsl.compiler import analyse
from eigendsl.compiler import compile_file
from eigendsl.syntax.codes import CODES

CASES = Path(__file__).parent / "data" / "diagnostics"
EXPECT = re.compile(r"#\s*(?:@(\S+):(\d+)\s+)?([EWN]\d{3}): ")
OPTIONS = re.compile(r"#\s*options:(.*)$")


def case_files() -> list[Path]:
    return sorted(CASES.glob("*.eig"))


def expected(path: Path) -> list[tuple[str, int, str, str]]:
    """(file, line, code, message) for every expectation comment in a case."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        hits = list(EXPECT.finditer(line))
        for i, m in enumerate(hits):
            end = hits[i + 1].start() if i + 1 < len(hits) else len(line)
            file, at = (m.group(1), int(m.group(2))) if m.group(1) else (path.name, number)
            out.append((file, at, m.group(3), line[m.end():end].rstrip()))
    return sorted(out)


def options(path: Path) -> dict[str, str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        m = OPTIONS.search(line)
        if m:
            return dict(item.split("=", 1) for item in m.group(1).split())
    return {}


def reported(path: Path) -> list[tuple[str, int, str | None, str]]:
    """What `eigendsl check` reports for a case, run from the case's folder."""
    opts = options(path)
    c = compile_file(opts.get("path", path.name), opts.get("db"), opts.get("user_db"))
    found = list(c.diagnostics)
    if c.ok:
        report = analyse(c)
        if report is not None:
            found += report.diagnostics()
    return sorted((d.span.file, d.span.line, d.code, d.message) for d in found)


def update(path: Path, actual) -> None:
    """Rewrite a case's expectation comments from what it reports (after a deliberate change)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = EXPECT.search(line)
        if m and not line[:m.start()].strip():
            continue  # an expectation on a line of its own
        lines.append(line[:m.start()].rstrip() if m else line)
    while lines and not lines[-1].strip():
        lines.pop()
    elsewhere = []
    for file, line, code, message in actual:
        if file == path.name and 1 <= line <= len(lines):
            lines[line - 1] += f"  # {code}: {message}"
        else:
            elsewhere.append(f"# @{file}:{line} {code}: {message}")
    path.write_text("\n".join(lines + elsewhere) + "\n", encoding="utf-8")


@pytest.mark.parametrize("path", case_files(), ids=lambda p: p.stem)
def test_case_reports_what_it_expects(path, monkeypatch):
    monkeypatch.chdir(path.parent)
    actual = reported(path)
    if os.environ.get("EIG_UPDATE_CASES"):
        update(path, actual)
    assert [d for d in actual if d[2] is None] == [], "every diagnostic carries a code"
    assert actual == expected(path)


def test_case_names_the_code_it_is_for():
    for path in case_files():
        code = path.stem.split("_", 1)[0]
        assert code in CODES, f"{path.name} is named after no registered code"
        assert code in {e[2] for e in expected(path)}, f"{path.name} does not report {code}"


def test_every_registered_code_has_a_case():
    covered = {e[2] for path in case_files() for e in expected(path)}
    assert sorted(set(CODES) - covered) == []
    assert sorted(covered - set(CODES)) == []


DOC = Path(__file__).parents[1] / "docs" / "diagnostics.md"


def diagnostics_doc() -> str:
    """docs/diagnostics.md: every code with its explanation and its case file as the example."""
    cases: dict[str, Path] = {}
    for path in case_files():
        cases.setdefault(path.stem.split("_", 1)[0], path)
    out = [
        "# Diagnostics",
        "",
        "Every diagnostic `eigendsl check` and `eigendsl compile` report has a stable code: `E` for",
        "errors, `W` for warnings, `N` for notes (analysis findings that are not problems). The code is",
        "printed at the end of the line (`file.eig:2:24: error: unknown name 'x' [E105]`) and is the",
        "`code` field of each entry in `check --json`. The registry is `eigendsl/syntax/codes.py`.",
        "",
        "Each example below is the case file under `tests/data/diagnostics/` that",
        "`tests/test_diagnostic_cases.py` runs; the comments show what is reported on that line.",
        "This page is generated from both: `EIG_UPDATE_CASES=1 pytest tests/test_diagnostic_cases.py`.",
    ]
    area = None
    for code in sorted(CODES.values(), key=lambda c: (list(dict.fromkeys(x.area for x in CODES.values())).index(c.area), c.code)):
        if code.area != area:
            area = code.area
            out += ["", f"## {area[0].upper()}{area[1:]}"]
        out += ["", f"### {code.code} {code.name}", "", f"{code.summary[0].upper()}{code.summary[1:]}."]
        case = cases.get(code.code)
        if case is None:
            out += ["", "No example: only a solver timeout produces this finding."]
            continue
        lines = [line if len(line) <= 150 else f"{line[:90]} ... {line[-40:]}" for line in case.read_text(encoding="utf-8").splitlines()]
        out += ["", f"`{case.name}`:", "", "```", *lines, "```"]
        data = case.with_suffix(".json")
        if data.is_file():
            out += ["", f"with `{data.name}`: `{data.read_text(encoding='utf-8').strip()}`"]
    return "\n".join(out) + "\n"


def test_diagnostics_doc_is_current():
    text = diagnostics_doc()
    if os.environ.get("EIG_UPDATE_CASES"):
        DOC.write_text(text, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == text, "run EIG_UPDATE_CASES=1 pytest tests/test_diagnostic_cases.py"


def diagnostic_sites(path: Path):
    """(line, call text) for each `sink.error(...)`, `sink.warning(...)` and `SyntaxProblem(...)` call."""
    import io
    import tokenize

    toks = list(tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline))
    for i, t in enumerate(toks):
        sink_call = t.string == "sink" and toks[i + 1].string == "." and toks[i + 2].string in ("error", "warning")
        problem = t.string == "SyntaxProblem" and toks[i + 1].string == "(" and toks[i - 1].string == "raise"
        if not (sink_call or problem):
            continue
        j = i + (3 if sink_call else 1)
        depth, parts = 0, []
        while True:
            parts.append(toks[j].string)
            if toks[j].string in "([{":
                depth += 1
            elif toks[j].string in ")]}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        yield t.start[0], " ".join(parts)


def test_check_json_carries_the_codes(monkeypatch):
    from click.testing import CliRunner

    from eigendsl.cli import main

    monkeypatch.chdir(CASES)
    result = CliRunner().invoke(main, ["check", "--json", "E105_unknown_name.eig"])
    payload = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [(d["code"], d["line"]) for d in payload["diagnostics"]] == [("E105", 2)]
    result = CliRunner().invoke(main, ["check", "--json", "E303_goal_vacuous.eig"])
    found = [f for task in json.loads(result.stdout)["tasks"] for f in task["findings"]]
    assert [(f["kind"], f["code"]) for f in found] == [("goal_vacuous", "E303")]


def test_every_diagnostic_site_passes_a_registered_code():
    package = Path(__file__).parents[1] / "eigendsl"
    sites = 0
    for path in sorted(package.rglob("*.py")):
        for line, call in diagnostic_sites(path):
            sites += 1
            codes = re.findall(r'"([EWN]\d{3})"', call)
            where = f"{path.relative_to(package.parent)}:{line}"
            # syntax_code(e) picks among E001-E003; `code=code` forwards its caller's code.
            assert codes or "syntax_code" in call or "code = code" in call, f"{where} reports a diagnostic without a code"
            assert set(codes) <= set(CODES), f"{where} uses an unregistered code"
    assert sites > 150

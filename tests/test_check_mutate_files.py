"""`eigendsl check --mutate` on every shipped file, every test fixture and task-level mutants:
a clean exit, or exit 1 with a located diagnostic; never a traceback.

Each run goes through the real command in-process. The fast tests take the project's own files
and a few mutants; the slow ones add the benchmark's tasks (imported) and many more mutants.
"""

from __future__ import annotations

import random
import re
import shutil

import pytest
from click.testing import CliRunner

from conftest import DEEP, DOMAINS, ROOT, SHARED, root_for
from eigendsl.cli import main

DIAGNOSTIC = re.compile(r"^\S+:\d+:\d+: error: .+", re.M)
STRING = re.compile(r'"(\\.|[^"\\\n])*"')
NUMBER = re.compile(r"(?<![\w.])-?\d+(\.\d+)?(?![\w.])")


def check_mutate(*args) -> str:
    """Run `check --mutate`; return 'clean' or 'diagnosed', or fail the test."""
    result = CliRunner().invoke(main, ["check", "--mutate", *map(str, args)])
    output = result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), f"{args}: {result.exception!r}"
    assert "Traceback" not in output, output[-2000:]
    if result.exit_code == 0:
        return "clean"
    assert result.exit_code == 1 and DIAGNOSTIC.search(output), f"{args}: exit {result.exit_code} without a located diagnostic: {output[-500:]}"
    return "diagnosed"


def project_files() -> list:
    """Every file in domains/ and examples/, and every .eig the tests keep as fixtures (slow:
    hostile fixtures may take up to their time limit each)."""
    files = [p for folder in ("domains", "examples") for p in sorted((ROOT / folder).rglob("*")) if p.is_file()]
    fixtures = [pytest.param(p, marks=pytest.mark.slow) for p in sorted((ROOT / "tests").rglob("*.eig")) if p.is_file()]
    return files + fixtures


@pytest.mark.parametrize("path", project_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_project_files(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    outcome = check_mutate(path.relative_to(ROOT))
    if path.parent.name == "domains" and path.suffix == ".eig":
        assert outcome == "clean"


def tau2_task_files():
    return sorted((ROOT / "examples").glob("*_tasks.json"))


@pytest.mark.parametrize("path", tau2_task_files(), ids=lambda p: p.name)
def test_example_task_files_imported(path, tmp_path, monkeypatch):
    """A tau2-bench task file in examples/, converted to eig as `eval --tasks` does, checks clean."""
    domain = ROOT / "domains" / f"{path.name.split('_')[0]}.eig"
    monkeypatch.chdir(ROOT)
    out = tmp_path / f"{path.stem}.eig"
    assert CliRunner().invoke(main, ["import-tau2", str(path), "--domain", str(domain), "-o", str(out)]).exit_code == 0
    assert check_mutate(out, "--root", root_for(out)) == "clean"


# ---------------------------------------------------------------- task-level mutants


KINDS = ["string", "number", "delete_line", "duplicate_line", "swap_lines", "failing_setup"]


def task_mutant(text: str, rng: random.Random, kind: str | None = None) -> tuple[str, str]:
    """One random edit inside the file's tasks (setup, gold, goals, arguments); (kind, mutant)."""
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("task "))
    head, tasks = lines[:first], lines[first:]
    body = "\n".join(tasks)
    kind = kind or rng.choice(KINDS)
    if kind in ("string", "number"):
        spots = list((STRING if kind == "string" else NUMBER).finditer(body))
        strings = [m.group() for m in STRING.finditer(body)]
        m = rng.choice(spots)
        other = rng.choice(strings + ['"NOPE"', '""']) if kind == "string" else rng.choice(["0", "-1", "99", "2.5", "100000"])
        body = body[: m.start()] + other + body[m.end():]
        return kind, "\n".join(head) + "\n" + body
    i = rng.randrange(len(tasks))
    if kind == "delete_line":
        tasks = tasks[:i] + tasks[i + 1:]
    elif kind == "duplicate_line":
        tasks = tasks[: i + 1] + [tasks[i]] + tasks[i + 1:]
    elif kind == "swap_lines":
        j = rng.randrange(len(tasks))
        tasks[i], tasks[j] = tasks[j], tasks[i]
    else:  # a gold action on an id that is not there, as a setup step after the task's own
        g = rng.choice([k for k, line in enumerate(tasks) if line.strip().startswith("gold {")])
        call = tasks[g].strip()[len("gold {"):].rstrip("}").strip() or tasks[g + 1].strip()
        call = STRING.sub('"NOPE"', call, count=1)
        setup = next((k for k in range(g, 0, -1) if tasks[k].strip().startswith(("setup {", "task "))), g)
        if tasks[setup].strip().startswith("setup {") and tasks[setup].strip() != "setup {":
            tasks[setup] = tasks[setup].rstrip().rstrip("}") + f" {call} }}"  # a one-line setup block
        elif tasks[setup].strip() == "setup {":
            end = next(k for k in range(setup, len(tasks)) if tasks[k].strip() == "}")
            tasks = tasks[:end] + [f"    {call}"] + tasks[end:]
        else:
            tasks = tasks[:g] + [f"  setup {{ {call} }}"] + tasks[g:]
    return kind, "\n".join(head + tasks)


def run_mutants(domain: str, kinds: list, tmp_path) -> dict:
    source = ROOT / "domains" / f"{domain}.eig"
    for data in [*ROOT.glob(f"domains/{domain}.*.json"), *ROOT.glob(f"domains/{domain}.words.toml")]:
        shutil.copy(data, tmp_path / data.name)
    target = tmp_path / source.name
    rng = random.Random(f"task-mutants-{domain}")
    outcomes = {"clean": 0, "diagnosed": 0}
    for kind in kinds:
        kind, mutant = task_mutant(source.read_text(), rng, kind)
        target.write_text(mutant, encoding="utf-8")
        outcomes[check_mutate(target)] += 1
    return outcomes


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_few_task_mutants(domain, tmp_path):
    outcomes = run_mutants(domain, ["failing_setup", "string", "delete_line"], tmp_path)
    assert sum(outcomes.values()) == 3


# ---------------------------------------------------------------- slow: the benchmark's tasks, many mutants


@pytest.mark.slow
@pytest.mark.parametrize("domain", DOMAINS)
def test_many_task_mutants(domain, tmp_path):
    # each mutant is a whole `check --mutate` of the domain's file: the first 16 of the seeded
    # sequence here, all 40 in the deep run (EIGENDSL_DEEP=1, scripts/deep_checks.sh)
    outcomes = run_mutants(domain, [None] * (40 if DEEP else 16), tmp_path)
    assert outcomes["diagnosed"] > 0 and outcomes["clean"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("domain", DOMAINS)
def test_benchmark_tasks_imported(domain, tmp_path, monkeypatch):
    shared = SHARED / domain
    if not (shared / "tasks.json").is_file():
        pytest.skip(f"reference data {shared} is absent")
    monkeypatch.chdir(ROOT)
    out = tmp_path / f"{domain}.eig"
    imported = CliRunner().invoke(main, ["import-tau2", str(shared / "tasks.json"), "--domain", f"domains/{domain}.eig", "-o", str(out)])
    assert imported.exit_code == 0, imported.output
    user_db = ["--user-db", shared / "user_db.json"] if (shared / "user_db.json").is_file() else []
    assert check_mutate(out, "--root", root_for(out), "--db", shared / "db.json", *user_db) == "clean"

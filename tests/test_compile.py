"""The compiled folder: reproducible bytes, checked in up to date, IR that round-trips; the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import DOMAINS, ROOT, domain_source, shared_dir
from eigendsl import ir
from eigendsl.backends.folder import folder_files
from eigendsl.compiler import analyse
from eigendsl.cli import main
from eigendsl.compiler import compile_file


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.mark.parametrize("domain", DOMAINS)
def test_checked_in_folder_is_fresh(domain, in_root):
    source = domain_source(domain).relative_to(ROOT)
    c = compile_file(source)
    assert c.ok, c.diagnostics
    files = folder_files(c, analyse(c))
    folder = ROOT / "compiled" / domain
    stale = [name for name, text in files.items() if not (folder / name).is_file() or (folder / name).read_text() != text]
    assert not stale, f"compiled/{domain} is stale in {stale}: run `eigendsl compile {source}`"


@pytest.mark.parametrize("domain", DOMAINS)
def test_compiling_twice_gives_identical_bytes(domain, in_root, tmp_path):
    source = domain_source(domain).relative_to(ROOT)
    for out in ("a", "b"):
        assert run("compile", source, "-o", tmp_path / out).exit_code == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["domain"] == domain and set(manifest["files"]) | {"manifest.json"} == set(names)


@pytest.mark.parametrize("domain", DOMAINS)
def test_ir_round_trips_through_json(domain, in_root):
    c = compile_file(domain_source(domain).relative_to(ROOT), with_data=False)
    first = ir.to_json(c.domain)
    again = ir.to_json(ir.domain_from_json(json.loads(json.dumps(first))))
    assert again == first


def test_tool_schemas_describe_every_parameter(in_root):
    c = compile_file("domains/airline.eig", with_data=False)
    tools = json.loads(folder_files(c)["tools.json"]) if c.data else None
    c = compile_file("domains/airline.eig")
    tools = json.loads(folder_files(c)["tools.json"])
    assert len(tools) == 14
    book = next(t["function"] for t in tools if t["function"]["name"] == "book_reservation")
    params = book["parameters"]
    assert params["required"] == list(params["properties"])
    assert params["properties"]["cabin"]["enum"] == ["basic_economy", "economy", "business"]
    assert params["properties"]["flights"]["items"]["required"] == ["flight_number", "date"]
    assert all(p.get("description") for p in params["properties"].values())


def test_check_command(in_root, tmp_path):
    ok = run("check", "domains/airline.eig")
    assert ok.exit_code == 0 and "ok" in ok.output
    broken = tmp_path / "broken.eig"
    broken.write_text('domain d {}\nrecord A { x: Strr }\nrecord B { y: list<int, int> }\nfn f() -> int { return "x" }\n')
    bad = run("check", broken)
    assert bad.exit_code == 1
    assert f"{broken}:2:15: error: unknown type 'Strr'; did you mean 'str'?" in bad.output
    assert f"{broken}:3:15: error: list takes 1 type argument(s)" in bad.output
    assert f"{broken}:4:24: error: expected int, got str" in bad.output
    report = json.loads(run("check", broken, "--json").output)
    assert [d["line"] for d in report["diagnostics"]] == [2, 3, 4]
    missing = run("check", tmp_path / "nope.eig")
    assert missing.exit_code == 1 and "error: no such file" in missing.output


def test_syntax_errors_are_all_reported(tmp_path):
    broken = tmp_path / "broken.eig"
    broken.write_text("domain d {}\nrecord A { x: }\nenum E { a, b\nfn f() -> int { return 1 }\ntool t( -> int reads \"x\" { return 1 }\n")
    result = run("check", broken)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if ": error: " in line]
    assert [line.split(":")[1] for line in lines] == ["2", "3", "5"]
    assert "unexpected end of this declaration (the next one starts on line 4), expected" in lines[1]


def test_compile_with_other_data(in_root, tmp_path):
    bad = tmp_path / "db.json"
    bad.write_text('{"flights": {}, "users": {"u": {"user_id": 3}}, "reservations": {}}')
    result = run("compile", "domains/airline.eig", "--db", bad, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert f"{bad}:1:1: error: {bad}: users.u: missing field 'name' (User)" in result.output or "users.u" in result.output
    notjson = tmp_path / "x.json"
    notjson.write_text("{oops")
    result = run("compile", "domains/airline.eig", "--db", notjson, "-o", tmp_path / "out")
    assert result.exit_code == 1 and "is not valid JSON (line 1, column 2)" in result.output


def test_replay_command(in_root, tmp_path):
    shared = shared_dir("airline")
    assert run("compile", "domains/airline.eig", "-o", tmp_path / "airline").exit_code == 0
    out = tmp_path / "records.jsonl"
    result = run("replay", tmp_path / "airline", "--tau2-tasks", shared / "sequences.json", "--out", out,
                 "--db", shared / "db.json", "--expected", shared / "expected_sequences.jsonl")
    assert result.exit_code == 0, result.output
    assert "conformance: 200/200 records match" in result.output
    assert len(out.read_text().splitlines()) == 200


def test_replay_reports_bad_inputs_clearly(in_root, tmp_path):
    tasks = tmp_path / "tasks.json"
    tasks.write_text('[{"id": "1", "evaluation_criteria": {"actions": [{"arguments": {}}]}}]')
    result = run("replay", "compiled/airline", "--tau2-tasks", tasks, "--out", tmp_path / "o.jsonl")
    assert result.exit_code == 1
    assert 'task "1" (index 0): evaluation_criteria.actions[0].name: Field required' in result.output
    result = run("replay", tmp_path, "--tau2-tasks", tasks, "--out", tmp_path / "o.jsonl")
    assert result.exit_code == 1 and "not a compiled domain folder" in result.output
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("domain", ["airline", "telecom"])
def test_compiled_bytes_do_not_depend_on_the_hash_seed(domain, in_root, tmp_path):
    import os
    import subprocess
    import sys

    source = domain_source(domain).relative_to(ROOT)
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "eigendsl.cli", "compile", str(source), "-o", str(tmp_path / seed)],
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    for path in (tmp_path / "1").iterdir():
        assert path.read_bytes() == (tmp_path / "2" / path.name).read_bytes(), path.name

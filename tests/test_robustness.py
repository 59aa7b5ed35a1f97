"""Random mutants of the domain files: each checks clean or fails with a located diagnostic;
and damaged or hostile inputs of the newer commands (synth, synth-merge, export-tau2, score,
report): each is one `error:` line, exit 1, and leaves what was kept as it was.

Every mutant goes through the real `eigendsl check` command in-process. The only acceptable
outcomes are exit 0, or exit 1 with at least one `path:line:col: error: message` line; a Python
traceback, any other exception, or a run longer than the time limit fails the test.
"""

from __future__ import annotations

import json
import random
import re
import shutil

import pytest
from click.testing import CliRunner

from conftest import DOMAINS, ROOT, Hang, cpu_time_limit, deep_only, domain_source
from eigendsl.cli import main

MUTANTS = 500  # per domain in the deep run (EIGENDSL_DEEP=1), through the analyses as well
# The fast slice: other mutants, through the front end only (`check --no-data`). The sample: the
# first SAMPLE of the deep run's own seeded sequence, checked as the deep run checks them (with
# the data and the analyses), so every domain's full `check` meets mutants in the default run.
SAMPLE = 30
FAST = pytest.param(25, ["--no-data"], id="fast")
SAMPLED = pytest.param(SAMPLE, [], id="sample", marks=pytest.mark.slow)
DEEP = pytest.param(MUTANTS, [], id="deep", marks=[pytest.mark.slow, deep_only])
TIME_LIMIT_S = 10
DIAGNOSTIC = re.compile(r"^\S+:\d+:\d+: error: .+", re.M)
ODD_LITERALS = [
    "0", "-1", "99999999999999999999999999", "1e308", "1.5", "-0.0", '""', '"\\n"', '"{"', '"}"',
    '"\\u"', '"ünïcødé ✈"', '"""x"""', "none", "true", "2024-13-45", "2024-05-15T25:61:61", "[]", "{}",
    '"a" * 3', "((((1))))", '"x" + 1', "[1, \"a\"]",
]
NOISE = list("{}()[]<>:;,.=+-*/%?!@#$&|^~`'\"\\ \n\t") + ["\u00e9", "\u2603", "\x00", "\ufeff"]
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One random edit of the source text; returns (kind, mutant)."""
    kind = rng.choice(["delete", "insert", "duplicate_line", "swap_chars", "swap_lines", "truncate",
                       "swap_identifiers", "odd_literal", "delete_line", "repeat"])
    n = len(text)
    lines = text.split("\n")
    if kind == "delete":
        i = rng.randrange(n)
        return kind, text[:i] + text[i + rng.randint(1, 40):]
    if kind == "insert":
        i = rng.randrange(n)
        junk = "".join(rng.choice(NOISE) for _ in range(rng.randint(1, 5)))
        return kind, text[:i] + junk + text[i:]
    if kind == "duplicate_line":
        i = rng.randrange(len(lines))
        return kind, "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    if kind == "swap_chars":
        i, j = sorted(rng.sample(range(n), 2))
        chars = list(text)
        chars[i], chars[j] = chars[j], chars[i]
        return kind, "".join(chars)
    if kind == "swap_lines":
        i, j = rng.sample(range(len(lines)), 2)
        lines[i], lines[j] = lines[j], lines[i]
        return kind, "\n".join(lines)
    if kind == "truncate":
        return kind, text[: rng.randrange(n)]
    if kind == "delete_line":
        i = rng.randrange(len(lines))
        return kind, "\n".join(lines[:i] + lines[i + 1:])
    if kind == "repeat":
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 200))
        return kind, text[:j] + text[i:j] * rng.randint(2, 5) + text[j:]
    matches = list(IDENT.finditer(text))
    if kind == "swap_identifiers":
        a = rng.choice(matches)
        b = rng.choice(matches)
        return kind, text[: a.start()] + b.group() + text[a.end():]
    # odd_literal: replace a number, a string or an identifier with an odd literal
    literal = re.compile(r'"(\\.|[^"\\\n])*"|\b\d+(\.\d+)?\b')
    spots = list(literal.finditer(text)) or matches
    m = rng.choice(spots)
    return kind, text[: m.start()] + rng.choice(ODD_LITERALS) + text[m.end():]


@pytest.mark.parametrize("count, flags", [FAST, SAMPLED, DEEP])
@pytest.mark.parametrize("domain", DOMAINS)
def test_random_mutants_get_diagnostics_not_tracebacks(domain, count, flags, tmp_path):
    source = domain_source(domain)
    text = source.read_text()
    for data in ROOT.glob(f"domains/{domain}.*.json"):
        shutil.copy(data, tmp_path / data.name)
    target = tmp_path / source.name
    rng = random.Random(f"eig-mutants-{domain}" + ("" if flags == [] else f"-{count}"))
    runner = CliRunner()
    outcomes = {"clean": 0, "diagnosed": 0}
    failures = []
    for i in range(count):  # one CPU-time guard per mutant (conftest.cpu_time_limit)
        kind, mutant = mutate(text, rng)
        target.write_text(mutant, encoding="utf-8")
        try:
            with cpu_time_limit(TIME_LIMIT_S):
                result = runner.invoke(main, ["check", *flags, str(target)])
        except Hang:
            failures.append((i, kind, "hang"))
            continue
        if isinstance(result.exception, Hang):  # raised inside the command, caught by the runner
            failures.append((i, kind, "hang"))
            continue
        output = result.output + (result.stderr if result.stderr_bytes is not None else "")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            failures.append((i, kind, f"exception {type(result.exception).__name__}: {result.exception}"))
        elif "Traceback" in output:
            failures.append((i, kind, "traceback in output"))
        elif result.exit_code == 0:
            outcomes["clean"] += 1
        elif result.exit_code == 1 and DIAGNOSTIC.search(output):
            outcomes["diagnosed"] += 1
        else:
            failures.append((i, kind, f"exit {result.exit_code} without a located diagnostic: {output[:300]!r}"))
    print(domain, outcomes)
    assert not failures, failures[:10]
    assert outcomes["clean"] + outcomes["diagnosed"] == count
    assert outcomes["diagnosed"] > count // 2  # the mutants are mostly broken, and each was caught


def test_diagnostic_points_at_the_mistake(tmp_path):
    """A known mistake is reported at its line and column, with the source line and a caret."""
    source = domain_source("airline").read_text().replace(
        "return find_reservation(reservation_id)", "return find_reservaton(reservation_id)", 1)
    for data in [*ROOT.glob("domains/airline.*.json"), *ROOT.glob("domains/airline.words.toml")]:
        shutil.copy(data, tmp_path / data.name)
    target = tmp_path / "airline.eig"
    target.write_text(source)
    result = CliRunner().invoke(main, ["check", str(target)])
    assert result.exit_code == 1
    line_no = next(i for i, line in enumerate(source.split("\n"), 1) if "find_reservaton(" in line)
    col = source.split("\n")[line_no - 1].index("find_reservaton") + 1
    assert f"airline.eig:{line_no}:{col}: error: unknown function 'find_reservaton'; did you mean 'find_reservation'?" in result.output
    assert "^~~~~~~~~~~~~~" in result.output


# ---------------------------------------------------------------- the newer commands' inputs

SYNTH = ["--tasks", "6", "--batch", "6", "--rounds", "1", "--plans", "8", "--no-progress"]


def one_error(*args) -> str:
    """Run the command; it must fail with exit 1 and print one `error:` line, no traceback."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    return errors[0]


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "run"
    result = CliRunner().invoke(main, ["synth", str(ROOT / "domains" / "airline.eig"), "--out", str(out), *SYNTH])
    assert result.exit_code == 0 and json.loads((out / "report.json").read_text())["kept"] > 0, result.output
    return out


def kept(folder) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and "work" not in p.parts
            and p.name not in ("state.json", "report.json")}


def edit_state(**changes):
    def edit(folder):
        state = json.loads((folder / "state.json").read_text())
        (folder / "state.json").write_text(json.dumps({k: v for k, v in {**state, **changes}.items() if v is not None}))
    return edit


def edit_round(**changes):
    def edit(folder):
        state = json.loads((folder / "state.json").read_text())
        state["rounds"][0].update(changes)
        (folder / "state.json").write_text(json.dumps({**state, "done": False}))
    return edit


@pytest.mark.parametrize("damage, said", [
    (lambda d: (d / "state.json").write_text("[1]"), "state.json is damaged; rerun with --fresh"),
    (lambda d: (d / "state.json").write_text('{"config_hash": '), "state.json is damaged"),
    (edit_state(sizes=None), "state.json is damaged"),  # it used to delete every kept task file
    (edit_state(sizes="x"), "state.json is damaged"),
    (edit_state(kept="3", done=False), "state.json is damaged"),
    (edit_state(plans=[5], done=False), "state.json is damaged"),
    (edit_round(quality={"scenarios": "3"}), "state.json is damaged; rerun with --fresh to start again (rounds.0.quality.scenarios:"),
    (edit_round(plans={"p": {"attempted": 1.5}}), "(rounds.0.plans.p.attempted: Input should be a valid integer"),
    (lambda d: (d / "rl.jsonl").write_text((d / "rl.jsonl").read_text()[:-40]), "rl.jsonl is shorter than the run"),
    (lambda d: (d / "tasks" / "round_1.eig").unlink(), "round_1.eig is missing from the run"),
], ids=["list", "torn", "no-sizes", "sizes-string", "kept-string", "plans-wrong", "quality-string", "plan-count-float", "rl-torn",
        "task-file-gone"])
def test_a_damaged_synth_folder_is_refused_and_keeps_its_tasks(synth_run, tmp_path, damage, said):
    folder = tmp_path / "run"
    shutil.copytree(synth_run, folder)
    damage(folder)
    before = kept(folder)
    assert said in one_error("synth", ROOT / "domains" / "airline.eig", "--out", folder, *SYNTH)
    assert kept(folder) == before


@pytest.mark.parametrize("text, said", [
    ("[1]", "the synth settings must be a table of keys"),
    ("synth = 5\n", "the synth settings must be a table of keys"),
    ("[synth]\nbogus = 1\n", "synth configuration: bogus: Extra inputs are not permitted"),
])
def test_a_bad_synth_config_is_one_line(tmp_path, text, said):
    config = tmp_path / ("synth.json" if text.startswith("[1") else "synth.toml")
    config.write_text(text)
    assert said in one_error("synth", ROOT / "domains" / "airline.eig", "--out", tmp_path / "out", "--config", config, *SYNTH)


def rewrite_rl(folder, line: str):
    (folder / "rl.jsonl").write_text(line)


@pytest.mark.parametrize("damage, said", [
    (lambda d: rewrite_rl(d, "{bad\n"), "rl.jsonl:1: not JSON"),
    (lambda d: rewrite_rl(d, '{"x": 1}\n'), "rl.jsonl:1: not a task entry"),
    (lambda d: rewrite_rl(d, '{"task_id": "a", "sft": "2"}\n'), "rl.jsonl:1: not a task entry"),
    (lambda d: (d / "tasks" / "round_1.eig").write_bytes(b"\xff\xfe"), "round_1.eig: not UTF-8 text"),
    (lambda d: ((d / "sft.jsonl").unlink(), (d / "sft.jsonl").mkdir()), "sft.jsonl: Is a directory"),
], ids=["rl-not-json", "rl-no-task-id", "rl-sft-string", "task-not-utf8", "sft-a-folder"])
def test_a_damaged_shard_is_named_by_synth_merge(synth_run, tmp_path, damage, said):
    shard = tmp_path / "shard"
    shutil.copytree(synth_run, shard)
    damage(shard)
    assert said in one_error("synth-merge", tmp_path / "merged", synth_run, shard)


def test_synth_merge_refuses_to_write_over_a_shard_or_a_run(synth_run):
    before = kept(synth_run)
    assert "is one of the shards" in one_error("synth-merge", synth_run, synth_run)
    assert "holds a synth run" in one_error("synth-merge", synth_run, ROOT / "domains")
    assert kept(synth_run) == before


def test_export_tau2_into_a_path_under_a_file(synth_run, tmp_path):
    (tmp_path / "file").write_text("")
    said = one_error("export-tau2", synth_run / "tasks" / "round_1.eig", "-o", tmp_path / "file" / "out.json")
    assert said == f"error: cannot write {tmp_path / 'file' / 'out.json'}: {tmp_path / 'file'} is a file, not a folder"


@pytest.mark.parametrize("text, said", [
    ("", "holds no simulations"),
    ("[]", "holds no simulations"),
    ('"x"', "not simulations: expected tau2-bench results"),
    ('{"simulations": 5}', "not simulations: expected tau2-bench results"),
    ('{"tasks": [], "info": {}}', "not simulations: expected tau2-bench results"),
])
def test_a_simulations_file_that_holds_none_is_one_line(tmp_path, text, said):
    (tmp_path / "sims.json").write_text(text)
    assert said in one_error("score", ROOT / "domains" / "airline.eig", "--simulations", tmp_path / "sims.json",
                             "--out", tmp_path / "scored.jsonl")


UNSTARTABLE = """import "tinyshop.eig"

task "no-such-order" {
  user { reason "I want to cancel order #999." knows { order_id: "999" } }
  setup { open_session(order_id: "999") }
  gold { cancel_order() }
  reward { DB }
}
"""


def test_a_task_that_cannot_start_is_named_by_train_and_score(tmp_path):
    for name in ("tinyshop.eig", "tinyshop.data.json"):
        shutil.copy(ROOT / "tests" / "data" / name, tmp_path / name)
    (tmp_path / "tasks.eig").write_text(UNSTARTABLE)
    said = one_error("train", tmp_path / "tinyshop.eig", "--tasks", tmp_path / "tasks.eig", "--model", "tiny:",
                     "--out", tmp_path / "run", "--stage", "grpo")
    assert said == "error: 1 task(s) cannot start; fix them or leave them out of the task file"
    assert not (tmp_path / "run").exists()
    (tmp_path / "sims.jsonl").write_text('{"task_id": "no-such-order", "messages": []}\n')
    result = CliRunner().invoke(main, ["score", str(tmp_path / "tinyshop.eig"), "--tasks", str(tmp_path / "tasks.eig"),
                                       "--simulations", str(tmp_path / "sims.jsonl"), "--out", str(tmp_path / "scored.jsonl")])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert "skipped record 1: task no-such-order: setup step 1 (open_session) failed: Order not found" in result.output


def test_an_output_that_is_the_input_is_refused_and_the_input_kept(synth_run, tmp_path):
    sims = tmp_path / "sims.jsonl"
    sims.write_text('{"task_id": "cancel-within-a-day", "messages": []}\n')
    report = tmp_path / "report.json"
    shutil.copy(synth_run / "report.json", report)
    shutil.copy(synth_run / "tasks" / "round_1.eig", synth_run / "tasks" / "copy.eig")
    before = {p: p.read_bytes() for p in (sims, report, synth_run / "tasks" / "copy.eig")}
    try:
        assert "is the --simulations file, which scoring would overwrite" in one_error(
            "score", ROOT / "domains" / "airline.eig", "--simulations", sims, "--out", tmp_path / "." / "sims.jsonl")
        assert "the page would overwrite" in one_error("report", report, "-o", report)
        assert "is the task file itself" in one_error("export-tau2", synth_run / "tasks" / "copy.eig",
                                                      "-o", synth_run / "tasks" / "copy.eig")
        assert all(p.read_bytes() == text for p, text in before.items())
    finally:
        (synth_run / "tasks" / "copy.eig").unlink()


def test_fresh_clears_only_what_a_run_wrote(synth_run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(synth_run, folder)
    (folder / "tasks" / "notes.eig").write_text("# mine\n")
    (folder / "tasks" / "drafts").mkdir()
    result = CliRunner().invoke(main, ["synth", str(ROOT / "domains" / "airline.eig"), "--out", str(folder), *SYNTH,
                                       "--seed", "4", "--fresh"])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    assert (folder / "tasks" / "notes.eig").read_text() == "# mine\n" and (folder / "tasks" / "drafts").is_dir()
    again = CliRunner().invoke(main, ["synth", str(ROOT / "domains" / "airline.eig"), "--out", str(folder), *SYNTH, "--seed", "4"])
    assert again.exit_code == 0 and (folder / "tasks" / "notes.eig").is_file(), again.output

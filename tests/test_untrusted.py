"""Untrusted input: confined import and data paths, size limits, and tau2 task import that cannot inject syntax."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from conftest import ROOT
from eigendsl.cli import main
from eigendsl.compiler import compile_file
from eigendsl.confine import MAX_SOURCE_BYTES
from eigendsl.interop.tau2 import Tau2Task
from eigendsl.interop.tau2_tasks import TaskImportError, task_to_eig, to_eig
from eigendsl.syntax.literals import MAX_STRING_CHARS

SECRET = "TOP-SECRET-FIRST-LINE"


def check(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", *[str(a) for a in args]])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def tree(tmp_path):
    """tmp/inside/ is the domain's folder; tmp/outside/ holds files it must not reach."""
    (tmp_path / "inside").mkdir()
    (tmp_path / "outside").mkdir()
    for name in ("secret.eig", "secret.json", "secret.txt"):
        (tmp_path / "outside" / name).write_text(f"{SECRET}\nmore\n")
    return tmp_path


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("written", [
    "../outside/secret.eig",
    "/etc/passwd",
    "sub/../../outside/secret.eig",
    "../outside/secret.txt",
])
def test_import_outside_the_tree_is_refused_without_its_content(tree, written):
    src = write(tree / "inside" / "a.eig", f'import "{written}"\ndomain d "D" {{}}\n')
    code, output = check(src)
    assert code == 1
    assert f'a.eig:1:1: error: import path "{written}"' in output
    assert SECRET not in output and "root:" not in output  # /etc/passwd starts with root:


def test_symlinks_are_resolved_before_the_check(tree):
    (tree / "inside" / "link.eig").symlink_to(tree / "outside" / "secret.eig")
    src = write(tree / "inside" / "a.eig", 'import "link.eig"\ndomain d "D" {}\n')
    code, output = check(src)
    assert code == 1 and 'import path "link.eig" leads outside the folder tree' in output
    assert SECRET not in output


def test_root_option_widens_the_tree(tree):
    write(tree / "outside" / "types.eig", "enum Color { red, green }\n")
    src = write(tree / "inside" / "a.eig", 'import "../outside/types.eig"\ndomain d "D" {}\nconst c: Color = Color.red\n')
    assert check(src)[0] == 1
    code, output = check(src, "--root", tree)
    assert code == 0, output


def test_data_path_outside_the_tree_is_refused(tree):
    src = write(tree / "inside" / "a.eig", 'domain d "D" { data = "../outside/secret.json" }\nstate { n: map<str, int> }\n')
    code, output = check(src)
    assert code == 1 and 'error: data path "../outside/secret.json" leads outside the folder tree' in output
    assert SECRET not in output
    absolute = write(tree / "inside" / "b.eig", f'domain d "D" {{ data = "{tree}/outside/secret.json" }}\nstate {{ n: map<str, int> }}\n')
    code, output = check(absolute)
    assert code == 1 and "is absolute" in output and SECRET not in output


def test_import_must_name_an_eig_file_and_a_regular_one(tree):
    import os

    os.mkfifo(tree / "inside" / "pipe.eig")  # reading it would block forever
    src = write(tree / "inside" / "a.eig", 'import "pipe.eig"\nimport "notes.txt"\ndomain d "D" {}\n')
    code, output = check(src)
    assert code == 1
    assert 'a.eig:1:1: error: source file' in output and "is not a regular file" in output
    assert 'a.eig:2:1: error: import path "notes.txt" does not name a .eig file' in output


def test_source_and_string_size_limits(tmp_path):
    big = tmp_path / "big.eig"
    big.write_bytes(b'domain d "D" {}\n' + b"# padding\n" * (MAX_SOURCE_BYTES // 10 + 1))
    code, output = check(big)
    assert code == 1 and f"is larger than the limit of {MAX_SOURCE_BYTES:,} bytes" in output
    long = write(tmp_path / "long.eig", 'domain d "D" {}\nconst s = "' + "x" * (MAX_STRING_CHARS + 1) + '"\n')
    code, output = check(long)
    assert code == 1 and "long.eig:2:11: error: string literal is too long" in output
    assert len(output) < 2000  # the literal itself is not echoed in full


def test_invisible_characters_and_bad_utf8_are_reported_at_their_place(tmp_path):
    bidi = write(tmp_path / "bidi.eig", 'domain d "D" {}\nconst s = "admin\u202e txt"\n')
    code, output = check(bidi)
    assert code == 1 and "bidi.eig:2:17: error: invisible or control character U+202E" in output
    assert "\u202e" not in output
    raw = tmp_path / "raw.eig"
    raw.write_bytes(b'domain d "D" {}\nconst s = "\xff\xfe"\n')
    code, output = check(raw)
    assert code == 1 and "raw.eig is not valid UTF-8 (byte 27, line 2)" in output


# ---------------------------------------------------------------- tau2 task import

HOSTILE = '} import "/etc/passwd" task "t2" {'


def hostile_task(**overrides) -> dict:
    task = {
        "id": HOSTILE,
        "description": {"purpose": HOSTILE, "notes": 'a"""b\\'},
        "user_scenario": {"persona": HOSTILE + "{x}", "instructions": {"reason_for_call": HOSTILE + "\n# not a comment",
                                                                       "known_info": "\\n {user_id}"}},
        "evaluation_criteria": {
            "actions": [{"name": "get_user_details", "arguments": {"user_id": HOSTILE}}],
            "communicate_info": [HOSTILE, "}{"],
            "nl_assertions": ['"""', "\\"],
            "reward_basis": ["DB", "COMMUNICATE"],
        },
    }
    task.update(overrides)
    return task


def test_hostile_strings_stay_strings(tmp_path):
    out = tmp_path / "tasks.eig"
    out.write_text(to_eig([Tau2Task.model_validate(hostile_task())], ROOT / "domains" / "airline.eig", out, "t.json"))
    c = compile_file(out, root="/")
    assert c.ok, c.diagnostics
    (task,) = c.domain.tasks
    assert task.id == HOSTILE and task.texts["purpose"] == HOSTILE and task.texts["notes"] == 'a"""b\\'
    assert task.user.texts["persona"] == HOSTILE + "{x}"
    assert task.user.texts["reason"] == HOSTILE + "\n# not a comment"
    assert task.gold[0].args == {"user_id": HOSTILE}
    assert task.communicate == (HOSTILE, "}{") and task.judge == ('"""', "\\")
    assert len(c.sources) == 2  # the task file and the domain; nothing else was read


@pytest.mark.parametrize("field, value, where", [
    ("action name", {"actions": [{"name": HOSTILE, "arguments": {}}]}, "evaluation_criteria.actions[0].name"),
    ("argument key", {"actions": [{"name": "get_user_details", "arguments": {HOSTILE: "x"}}]}, "evaluation_criteria.actions[0].arguments"),
    ("compare arg", {"actions": [{"name": "get_user_details", "arguments": {}, "compare_args": ["a) import"]}]}, "compare_args"),
    ("assertion name", {"env_assertions": [{"env_type": "assistant", "func_name": "f()\n}", "arguments": {}}]}, "env_assertions[0].func_name"),
    ("reward basis", {"reward_basis": ["DB }"]}, "evaluation_criteria.reward_basis"),
])
def test_hostile_names_are_refused_with_the_field(field, value, where):
    with pytest.raises(TaskImportError) as e:
        task_to_eig(Tau2Task.model_validate(hostile_task(evaluation_criteria=value)))
    assert where in str(e.value) and "is not a name" in str(e.value)
    assert str(e.value).startswith('task "} import \\"/etc/passwd\\" task \\"t2\\" {"')


def test_hostile_setup_data_and_values(tmp_path):
    bad_table = {"initial_state": {"initialization_data": {"agent_data": {"users) {": {"u": 1}}}}}
    with pytest.raises(TaskImportError, match="initialization_data.agent_data"):
        task_to_eig(Tau2Task.model_validate(hostile_task(**bad_table)))
    bad_field = {"initial_state": {"initialization_data": {"agent_data": {"users": {"u": {"name = 1 }": 1}}}}}}
    with pytest.raises(TaskImportError, match="is not a name"):
        task_to_eig(Tau2Task.model_validate(hostile_task(**bad_field)))
    with pytest.raises(TaskImportError, match="not a finite number"):
        task_to_eig(Tau2Task.model_validate(hostile_task(evaluation_criteria={
            "actions": [{"name": "get_user_details", "arguments": {"user_id": float("nan")}}]})))
    with pytest.raises(TaskImportError, match="invisible character U\\+202E"):
        task_to_eig(Tau2Task.model_validate(hostile_task(id="a\u202eb")))


def test_import_tau2_command_reports_a_hostile_name(tmp_path):
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps([hostile_task(evaluation_criteria={"actions": [{"name": HOSTILE, "arguments": {}}]})]))
    out = tmp_path / "out.eig"
    result = CliRunner().invoke(main, ["import-tau2", str(tasks), "--domain", str(ROOT / "domains" / "airline.eig"), "-o", str(out)])
    assert result.exit_code == 1 and "is not a name" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_scenario_texts_are_validated_at_the_edge():
    bad = hostile_task(user_scenario={"persona": ["not", "text"]})
    with pytest.raises(TaskImportError, match="user_scenario.persona: Input should be a valid string"):
        task_to_eig(Tau2Task.model_validate(bad))
    bad = hostile_task(user_scenario={"instructions": {"reason_for_call": {"nested": 1}}})
    with pytest.raises(TaskImportError, match="user_scenario.instructions.reason_for_call"):
        task_to_eig(Tau2Task.model_validate(bad))


@pytest.mark.parametrize("text, expected", [
    ('{"t": {"a": ' + "9" * 5000 + "}}", "cannot be read: Exceeds the limit (4300 digits)"),
    ('{"t": ' + "[" * 100_000 + "]" * 100_000 + "}", "is nested too deeply"),
    ('{"t": {"a": NaN}}', ""),
])
def test_hostile_data_files_get_a_diagnostic(tmp_path, text, expected):
    (tmp_path / "d.json").write_text(text)
    src = write(tmp_path / "a.eig", 'domain d "D" { data = "d.json" }\nstate { t: map<str, float> }\n')
    code, output = check(src)
    assert code == 1 and "a.eig:1:23: error: " in output and expected in output

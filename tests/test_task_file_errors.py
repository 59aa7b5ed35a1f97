"""Bad task files given to score, train, eval and export-tau2: one plain line naming the user's own file, never a traceback."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from conftest import ROOT
from test_robustness import UNSTARTABLE
from eigendsl.cli import main

TASKS = json.loads((ROOT / "examples" / "airline_tasks.json").read_text())


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("EIGENDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(ROOT)


def invoke(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def tau2_file(tmp_path, change) -> str:
    tasks = copy.deepcopy(TASKS)
    change(tasks)
    path = tmp_path / "tau2.json"
    path.write_text(json.dumps(tasks))
    return str(path)


def set_argument(key, value):
    return lambda tasks: tasks[1]["evaluation_criteria"]["actions"][0]["arguments"].__setitem__(key, value)


BAD_TASKS = [
    ("missing field", lambda t: t[1].pop("id"), 'task at index 1: id: Field required'),
    ("wrong type", lambda t: t[1]["evaluation_criteria"].__setitem__("actions", 5),
     'task "add-a-bag" (index 1): evaluation_criteria.actions: Input should be a valid list'),
    ("unknown tool", lambda t: t[2]["evaluation_criteria"]["actions"][1].__setitem__("name", "cancel_it"),
     "task \"cancel-and-retry\" (index 2): evaluation_criteria.actions[1].name: unknown agent tool 'cancel_it'"),
    ("argument type", set_argument("total_baggages", "two"),
     'task "add-a-bag" (index 1): evaluation_criteria.actions[0].arguments.total_baggages: expected int, got str'),
    ("unknown argument", set_argument("bogus", 1),
     "task \"add-a-bag\" (index 1): evaluation_criteria.actions[0].arguments.bogus: tool update_reservation_baggages "
     "has no parameter 'bogus'"),
    ("tool not a name", lambda t: t[0]["evaluation_criteria"]["actions"][2].__setitem__("name", "get status"),
     'task "look-up-trip" (index 0): evaluation_criteria.actions[2].name: "get status" is not a name'),
]


def command_line(command: str, tasks: str, tmp_path) -> list:
    if command == "eval":
        return ["eval", "compiled/airline", "--tasks", tasks, "--out", tmp_path / "results.json"]
    if command == "train":
        return ["train", "compiled/airline", "--tasks", tasks, "--model", "tiny:", "--out", tmp_path / "model"]
    simulations = tmp_path / "simulations.jsonl"
    simulations.write_text("")
    return ["score", "compiled/airline", "--tasks", tasks, "--simulations", simulations, "--out", tmp_path / "scored.jsonl"]


@pytest.mark.parametrize("command", ["eval", "score", "train"])
@pytest.mark.parametrize("case, change, said", BAD_TASKS, ids=[c[0] for c in BAD_TASKS])
def test_a_bad_tau2_task_is_named_in_the_users_file(tmp_path, command, case, change, said):
    tasks = tau2_file(tmp_path, change)
    code, output = invoke(*command_line(command, tasks, tmp_path))
    assert code == 1
    assert f"error: {tasks}: {said}" in output
    assert "tau2-tasks" not in output and ".tasks.eig" not in output  # nothing points into the cache


def test_a_bad_tau2_task_is_named_when_the_cache_is_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EIGENDSL_CACHE", str(tmp_path / "cache"))  # diagnostics name the conversion relative to here
    tasks = tau2_file(tmp_path, set_argument("total_baggages", "two"))
    code, output = invoke("eval", ROOT / "compiled" / "airline", "--tasks", tasks, "--out", tmp_path / "results.json")
    assert code == 1 and f"error: {tasks}: {BAD_TASKS[3][2]}" in output, output


@pytest.mark.parametrize("command", ["eval", "train"])
def test_a_tau2_task_whose_setup_fails_is_named_in_the_users_file(tmp_path, command):
    tasks = tau2_file(tmp_path, lambda t: t[1].__setitem__("initial_state", {"initialization_actions": [
        {"env_type": "assistant", "func_name": "cancel_reservation", "arguments": {"reservation_id": "NOPE"}}]}))
    code, output = invoke(*command_line(command, tasks, tmp_path))
    assert code == 1
    assert (f'{tasks}: task "add-a-bag" (index 1): initial_state: setup step 1 (cancel_reservation) failed: '
            "Reservation NOPE not found") in output
    assert "error: 1 task(s) cannot start" in output and "tau2-tasks" not in output


def test_good_tau2_tasks_still_run(tmp_path):
    code, output = invoke(*command_line("eval", "examples/airline_tasks.json", tmp_path))
    assert code == 0, output
    assert json.loads((tmp_path / "results.json").read_text())["config"]["tasks"] == [t["id"] for t in TASKS]


# The same task on an order that exists: its setup runs.
FINE = UNSTARTABLE.split("\n", 1)[1].replace("no-such-order", "fine").replace("999", "35")


def test_export_tau2_refuses_tasks_that_cannot_start(tmp_path):
    for name in ("tinyshop.eig", "tinyshop.data.json"):
        (tmp_path / name).write_bytes((ROOT / "tests" / "data" / name).read_bytes())
    (tmp_path / "tasks.eig").write_text(UNSTARTABLE + FINE)
    code, output = invoke("export-tau2", tmp_path / "tasks.eig", "-o", tmp_path / "out.json")
    assert code == 1
    assert (f"1 task(s) of {tmp_path / 'tasks.eig'} cannot start on the domain's data" in output
            and "no-such-order (line 5: setup step 1 (open_session) failed: Order not found)" in output), output
    assert "fine" not in output.split("fix or remove them:")[1] and not (tmp_path / "out.json").exists()
    (tmp_path / "tasks.eig").write_text('import "tinyshop.eig"\n' + FINE)
    code, output = invoke("export-tau2", tmp_path / "tasks.eig", "-o", tmp_path / "out.json")
    assert code == 0, output
    assert [t["id"] for t in json.loads((tmp_path / "out.json").read_text())] == ["fine"]


def test_synth_and_synth_merge_say_plainly_that_their_output_cannot_be_a_folder(tmp_path):
    (tmp_path / "file").write_text("")
    code, output = invoke("synth", "tests/data/tinyshop.eig", "--out", tmp_path / "file" / "out", "--no-progress")
    assert code == 1 and "Errno" not in output
    assert f"error: cannot create the output folder {tmp_path / 'file' / 'out'}: {tmp_path / 'file'} is a file, not a folder" in output
    code, output = invoke("synth", "tests/data/tinyshop.eig", "--out", tmp_path / "shard", "--tasks", "2", "--rounds", "1",
                          "--no-progress")
    assert code == 0, output
    code, output = invoke("synth-merge", tmp_path / "file" / "merged", tmp_path / "shard")
    assert code == 1 and "Errno" not in output
    assert f"{tmp_path / 'file' / 'merged'}: {tmp_path / 'file'} is a file, not a folder" in output


@pytest.fixture
def odd_files(tmp_path):
    """A folder, an empty file, a binary file, a loop of links, a link to nothing and a 3 MB source, as .eig and .json."""
    files = {}
    for suffix in ("eig", "json"):
        (tmp_path / f"folder.{suffix}").mkdir()
        (tmp_path / f"empty.{suffix}").write_bytes(b"")
        (tmp_path / f"binary.{suffix}").write_bytes(bytes(range(128, 256)) * 8)
        (tmp_path / f"loop.{suffix}").symlink_to(tmp_path / f"loop.{suffix}")
        (tmp_path / f"dangling.{suffix}").symlink_to(tmp_path / f"nothing.{suffix}")
        files.update({f"{k}.{suffix}": tmp_path / f"{k}.{suffix}" for k in ("folder", "empty", "binary", "loop", "dangling")})
    big = tmp_path / "big.eig"
    big.write_text("# " + "x" * 3_000_000 + "\n" + (ROOT / "domains" / "airline.eig").read_text())
    files["big.eig"] = big
    return files


ODD_SAID = {
    "folder": "is a folder, not a {what}",
    "empty.eig": "no `domain` declaration",
    "empty.json": "is empty; expected a JSON list of tasks",
    "binary.eig": "is not valid UTF-8 (byte 0, line 1)",
    "binary.json": ": not UTF-8 text (byte 0)",
    "loop": "is a loop of symbolic links, not a {what}",
    "dangling": "is a symbolic link to a missing {what}",
    "big.eig": "is larger than the limit of 2,000,000 bytes",
}


def odd_said(name: str, what: str) -> str:
    return (ODD_SAID.get(name) or ODD_SAID[name.split(".")[0]]).format(what=what)


@pytest.mark.parametrize("name", ["empty.eig", "binary.eig", "loop.eig", "dangling.eig", "big.eig"])
def test_check_compile_and_call_say_what_is_wrong_with_an_odd_domain_file(odd_files, tmp_path, name):
    path = odd_files[name]
    for args in (["check", path], ["compile", path, "-o", tmp_path / "out"]):
        code, output = invoke(*args)
        assert code == 1 and odd_said(name, "file") in output, output
    code, output = invoke("call", path, "get_user_details", "{}")
    assert code == 1 and odd_said(name, "domain file") in output, output
    assert "no such" not in output and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["empty.eig", "empty.json", "binary.eig", "binary.json", "loop.eig", "loop.json",
                                  "dangling.eig", "dangling.json", "big.eig"])
def test_eval_and_replay_say_what_is_wrong_with_an_odd_task_file(odd_files, tmp_path, name):
    path = odd_files[name]
    code, output = invoke("eval", "compiled/airline", "--tasks", path, "--out", tmp_path / "results.json")
    assert code == 1 and odd_said(name, "task file") in output, output
    assert not (tmp_path / "results.json").exists()
    if name.endswith(".json") and not name.startswith(("loop", "dangling")):
        code, output = invoke("replay", "compiled/airline", "--tau2-tasks", path, "--out", tmp_path / "records.jsonl")
        assert code == 1 and odd_said(name, "task file") in output, output


@pytest.mark.parametrize("option", ["--tasks", "--tau2-tasks"])
def test_a_folder_given_as_a_task_file_is_refused(odd_files, tmp_path, option):
    command = "eval" if option == "--tasks" else "replay"
    code, output = invoke(command, "compiled/airline", option, odd_files["folder.json"], "--out", tmp_path / "out.json")
    assert code == 2 and "is a directory" in output


def test_outputs_under_a_file_and_binary_inputs_are_one_plain_line(odd_files, tmp_path):
    (tmp_path / "file").write_text("")
    under = tmp_path / "file" / "out"
    in_the_way = f"{tmp_path / 'file'} is a file, not a folder"
    for args, said in [
        (["compile", "domains/airline.eig", "-o", under], f"error: cannot write {under}: {in_the_way}"),
        (["replay", "compiled/airline", "--tau2-tasks", "examples/airline_tasks.json", "--out", under],
         f"error: cannot write {under}: {in_the_way}"),
        (["eval", "compiled/airline", "--out", under], f"error: cannot use {under} for results: {in_the_way}"),
        (["eval", "compiled/airline", "--db", odd_files["binary.json"], "--out", tmp_path / "r.json"],
         f"data file {odd_files['binary.json']} is not UTF-8 text (byte 0) [E206]"),
        (["replay", "compiled/airline", "--tau2-tasks", "examples/airline_tasks.json", "--out", tmp_path / "r.jsonl",
          "--expected", odd_files["binary.json"]], f"{odd_files['binary.json']}: not UTF-8 text (byte 0)"),
    ]:
        code, output = invoke(*args)
        assert code == 1 and said in output and "Errno" not in output and "codec" not in output, output
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("text, said", [
    ("[]", "{path} holds no tasks"),
    ("[1, 2]", "{path}: task at index 0: should be a JSON object, not 1"),
    ('["a"]', '{path}: task at index 0: should be a JSON object, not "a"'),
    ('[{"id": "a"}, {"id": "a"}]', "{path}: task \"a\" (index 1): id: task 'a' is declared twice"),
])
def test_a_task_json_with_no_tasks_or_no_objects_is_named(tmp_path, text, said):
    path = tmp_path / "tau2.json"
    path.write_text(text)
    code, output = invoke(*command_line("eval", str(path), tmp_path))
    assert code == 1 and f"error: {said.format(path=path)}" in output, output

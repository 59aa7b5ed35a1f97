"""A compiled folder is checked when loaded: a corrupt or tampered one gets one clear error from every command."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from eigendsl.cli import main
from eigendsl.runtime.environment import DomainLoadError
from eigendsl.compiler import load_domain

SHOP = """
domain shop "A small shop" {
  now = 2024-05-15T15:00:00
  data = "shop.json"
}
enum Size { small, large }
record Item { name: str, price: float, size: Size }
state { items: map<str, Item> }

tool get_item(item_id: str) -> Item reads "Look an item up." {
  return items[item_id] or fail "no such item"
}

tool set_price(item_id: str, price: float) -> Item writes "Change a price." {
  let item = items[item_id] or fail "no such item"
  item.price = round(price, 2)
  items[item_id] = item
  return item
}

task "cheaper" {
  user { instructions "Make item a cost 1.25." }
  gold { set_price(item_id: "a", price: 1.25) }
  reward { DB }
}
"""
DATA = {"items": {"a": {"name": "apple", "price": 1.5, "size": "small"}}}


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("shop_src")
    (src / "shop.json").write_text(json.dumps(DATA))
    (src / "shop.eig").write_text(SHOP)
    out = src / "compiled"
    result = run("compile", src / "shop.eig", "-o", out)
    assert result.exit_code == 0, result.output
    return out


def rehash(folder: Path, name: str) -> None:
    """What a careful tamperer does: update the manifest so the hashes match again."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def edit_json(folder: Path, name: str, change, keep_hash: bool = False) -> None:
    value = json.loads((folder / name).read_text())
    change(value)
    (folder / name).write_text(json.dumps(value))
    if keep_hash:
        rehash(folder, name)


def first_builtin(node):
    """The first built-in call node in the IR (a guard or tool body uses `round`)."""
    if isinstance(node, dict):
        if node.get("@") == "CallBuiltin":
            return node
        for v in node.values():
            found = first_builtin(v)
            if found:
                return found
    if isinstance(node, list):
        for v in node:
            found = first_builtin(v)
            if found:
                return found
    return None


def deep(n: int):
    node = {"@": "Const", "type": {"@t": "int"}, "span": [1, 1, 1, 2], "value": 1}
    for _ in range(n):
        node = {"@": "UnaryOp", "type": {"@t": "int"}, "span": [1, 1, 1, 2], "op": "neg", "operand": node}
    return node


def deep_text(folder: Path, n: int) -> None:
    """A tool body nested n levels deep, written as text (json.dumps itself would recurse too far)."""
    edit_json(folder, "ir.json", lambda ir: set_tool_body_value(ir, "DEEP"))
    head = '{"@": "UnaryOp", "type": {"@t": "int"}, "span": [1, 1, 1, 2], "op": "neg", "operand": '
    leaf = json.dumps(deep(0))
    text = (folder / "ir.json").read_text().replace('"DEEP"', head * n + leaf + "}" * n, 1)
    (folder / "ir.json").write_text(text)
    rehash(folder, "ir.json")


def set_tool_body_value(ir, value):
    ir["tools"][0]["body"][0]["value"] = value


CORRUPTIONS = {
    "edited ir.json": (lambda f: edit_json(f, "ir.json", lambda ir: ir.update(title="x")),
                       "ir.json was changed after compiling"),
    "edited db.json": (lambda f: edit_json(f, "db.json", lambda db: db["items"]["a"].update(price=2.0)),
                       "db.json was changed after compiling"),
    "missing db.json": (lambda f: (f / "db.json").unlink(), "is missing db.json"),
    "missing manifest": (lambda f: (f / "manifest.json").unlink(), "has no manifest.json"),
    "truncated ir.json": (lambda f: (f / "ir.json").write_text((f / "ir.json").read_text()[:500]),
                          "ir.json was changed after compiling"),
    "old manifest format": (lambda f: edit_json(f, "manifest.json", lambda m: m.update(format=1)),
                            "is format 1, this eigendsl reads format 2"),
    "manifest without hashes": (lambda f: edit_json(f, "manifest.json", lambda m: m.pop("sha256")),
                                "is not a valid manifest: sha256: Field required"),
    "bad built-in name (rehashed)": (
        lambda f: edit_json(f, "ir.json", lambda ir: first_builtin(ir).update(name="no_such_builtin"), keep_hash=True),
        "unknown built-in 'no_such_builtin'"),
    "unknown node class (rehashed)": (
        lambda f: edit_json(f, "ir.json", lambda ir: set_tool_body_value(ir, {"@": "Exec", "code": "rm -rf /"}), keep_hash=True),
        "expected Expr, got 'Exec'"),
    "unknown type (rehashed)": (
        lambda f: edit_json(f, "ir.json", lambda ir: ir["state"][0].update(type={"@t": "map<str, Nope>"}), keep_hash=True),
        "at state[0].type: unknown type 'Nope'"),
    "unknown operator (rehashed)": (
        lambda f: edit_json(f, "ir.json", lambda ir: set_tool_body_value(ir, {**deep(1), "op": "**"}), keep_hash=True),
        "unknown op '**'"),
    "unknown effect (rehashed)": (
        lambda f: edit_json(f, "ir.json", lambda ir: ir["tools"][0].update(effect="launches"), keep_hash=True),
        "at tools[0].effect: unknown effect 'launches'"),
    "user scenario without its facts (rehashed)": (
        lambda f: edit_json(f, "ir.json", lambda ir: ir["tasks"][0]["user"].pop("facts"), keep_hash=True),
        'at tasks[0].user: a user scenario is an object with "texts", "knows" and "facts"'),
    "unknown reward component (rehashed)": (
        lambda f: edit_json(f, "ir.json", lambda ir: ir["tasks"][0].update(reward=["DB", "VIBES"]), keep_hash=True),
        "at tasks[0].reward[1]: unknown reward 'VIBES'"),
    "deeply nested IR (rehashed)": (
        lambda f: deep_text(f, 100_000), "ir.json is not valid JSON (RecursionError)"),
    "IR nested past the interpreter's stack (rehashed)": (
        lambda f: deep_text(f, 600), "ir.json is nested too deeply"),
    "db.json of the wrong type (rehashed)": (
        lambda f: edit_json(f, "db.json", lambda db: db["items"]["a"].update(size="huge"), keep_hash=True),
        "db.json does not fit the domain's state: items.a.size: expected one of small, large"),
    "db.json with an extra table (rehashed)": (
        lambda f: edit_json(f, "db.json", lambda db: db.update(secrets={}), keep_hash=True),
        "'secrets' is not declared in state"),
    "tools.json not schemas (rehashed)": (
        lambda f: edit_json(f, "tools.json", lambda t: t.append({"type": "shell"}), keep_hash=True),
        "tools.json is not a list of tool schemas"),
}


@pytest.fixture
def corrupt(compiled, tmp_path, request):
    folder = tmp_path / "shop"
    shutil.copytree(compiled, folder)
    change, message = CORRUPTIONS[request.param]
    change(folder)
    return folder, message


def test_the_intact_folder_loads_and_runs(compiled):
    env = load_domain(compiled).environment()
    assert env.call("set_price", {"item_id": "a", "price": 1.25}).content["price"] == 1.25


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS), indirect=True)
def test_a_corrupt_folder_gets_one_clear_error_from_every_command(corrupt, tmp_path):
    folder, message = corrupt
    with pytest.raises(DomainLoadError) as e:
        load_domain(folder)
    assert message in str(e.value)
    tasks = tmp_path / "tasks.json"
    tasks.write_text('[{"id": "1", "evaluation_criteria": {"actions": []}}]')
    for args in (["call", folder, "get_item", '{"item_id": "a"}'],
                 ["replay", folder, "--tau2-tasks", tasks, "--out", tmp_path / "o.jsonl"],
                 ["eval", folder, "--out", tmp_path / "r.json", "--no-progress"]):
        result = run(*args)
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert result.exit_code == 1 and len(errors) == 1 and message in errors[0], (args[0], result.output)
        assert "Traceback" not in result.output


def test_data_override_is_still_validated(compiled, tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"items": {"b": {"name": "bread", "price": 3, "size": "tiny"}}}))
    with pytest.raises(DomainLoadError, match="items.b.size: expected one of small, large"):
        load_domain(compiled, db=other)
    result = run("call", compiled, "get_item", '{"item_id": "b"}', "--db", other)
    first = result.output.splitlines()[0]
    assert result.exit_code == 1 and first.startswith(f"{other}:1:1: error: ") and "expected one of small, large" in first
    assert not any(line.startswith("error:") for line in result.output.splitlines())  # not wrapped in another `error:`
    other.write_text(json.dumps({"items": {"b": {"name": "bread", "price": 3, "size": "large"}}}))
    assert load_domain(compiled, db=other).environment().read("items")["b"]["price"] == 3.0


def test_valid_but_unnormalised_data_is_normalised(compiled, tmp_path):
    """A rehashed db.json that still fits the types (an int where a float goes) loads, widened."""
    folder = tmp_path / "shop"
    shutil.copytree(compiled, folder)
    edit_json(folder, "db.json", lambda db: db["items"]["a"].update(price=2), keep_hash=True)
    price = load_domain(folder).environment().read("items")["a"]["price"]
    assert price == 2.0 and isinstance(price, float)

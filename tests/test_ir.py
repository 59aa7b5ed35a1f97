"""The typed IR: its JSON form round-trips byte for byte, enums come back as members, types parse without shared state."""

import json
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from pathlib import Path

import pytest

from eigendsl import ir
from eigendsl.backends.folder import dumps
from eigendsl.types import EnumType, ListType, MapType, OptionalType, RecordType, UnionType, parse_type

ROOT = Path(__file__).parents[1]
FOLDERS = sorted(p.parent for p in (ROOT / "compiled").glob("*/ir.json"))


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_every_shipped_domain_round_trips_byte_for_byte(folder):
    text = (folder / "ir.json").read_text(encoding="utf-8")
    assert dumps(ir.to_json(ir.domain_from_json(json.loads(text)))) == text


def enum_fields(node, seen):
    """(class, field, value) of every enum-typed field reachable from an IR node."""
    if isinstance(node, tuple | list):
        for x in node:
            enum_fields(x, seen)
        return
    forms = ir.FORMS.get(type(node).__name__)
    if forms is None:
        return
    for f in forms:
        value = getattr(node, f.name)
        if isinstance(value, StrEnum):
            seen.add((type(node).__name__, f.name, type(value)))
        enum_fields(value, seen)


def test_loaded_selectors_are_enum_members_and_the_scenario_a_dataclass():
    domain = ir.domain_from_json(json.loads((ROOT / "compiled/airline/ir.json").read_text(encoding="utf-8")))
    seen = set()
    enum_fields(domain, seen)
    classes = {(c, f) for c, f, _ in seen}
    for expected in [("BinaryOp", "op"), ("UnaryOp", "op"), ("Assign", "op"), ("OrFail", "mode"), ("Quantified", "kind"),
                     ("Step", "kind"), ("Place", "root"), ("For", "mode"), ("Function", "kind"), ("Function", "effect"),
                     ("Function", "actor"), ("CallSpec", "actor"), ("CallSpec", "kind"), ("StateRoot", "side"),
                     ("StateField", "side")]:
        assert expected in classes, expected
    task = domain.tasks[0]
    assert isinstance(task.user, ir.UserScenario) and task.user.texts
    assert ir.to_json(task.user) == {"texts": task.user.texts, "knows": task.user.knows, "facts": task.user.facts}


def test_every_enum_field_is_declared_by_its_annotation():
    declared = {(name, f.name) for name, forms in ir.FORMS.items() for f in forms if "Member" == type(f.form).__name__}
    assert ("BinaryOp", "op") in declared and ("Mutate", "method") in declared and ("DeriveDef", "side") in declared
    plain = {(name, f.name) for name, forms in ir.FORMS.items() for f in forms if type(f.form).__name__ == "Scalar"
             and f.name in ("op", "mode", "kind", "root", "side", "effect", "actor", "method")}
    assert plain == {("DeriveDef", "root")}  # the name of a state record, not a selector


def test_an_unknown_selector_is_refused_by_name():
    data = json.loads((ROOT / "compiled/airline/ir.json").read_text(encoding="utf-8"))
    data["functions"][0]["effect"] = "launches"
    with pytest.raises(ValueError, match=r"unknown Effect 'launches' \(known: 'pure', 'reads', 'writes'\)"):
        ir.domain_from_json(data)


def test_a_malformed_user_scenario_is_refused():
    with pytest.raises(ValueError, match='"texts", "knows" and "facts"'):
        ir.UserScenario.from_json({"texts": {}, "knows": {}})
    with pytest.raises(ValueError, match="texts are strings"):
        ir.UserScenario.from_json({"texts": {"reason": 3}, "knows": {}, "facts": {}})


def test_types_parse_against_the_kinds_they_are_given():
    kinds = {"Cabin": "enum", "Pay": "union", "User": "record"}
    assert parse_type("map<str, list<Cabin?>>", kinds) == MapType(parse_type("str", kinds), ListType(OptionalType(EnumType("Cabin"))))
    assert parse_type("Pay[card|cash]?", kinds) == OptionalType(UnionType("Pay", ("card", "cash")))
    assert parse_type("User", kinds) == RecordType("User")
    assert parse_type("Cabin", {"Cabin": "record"}) == RecordType("Cabin")


def test_types_parse_in_threads_with_different_kinds():
    def parse(i):
        kind = ("enum", "record")[i % 2]
        return parse_type("list<X>", {"X": kind}).elem

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(parse, range(400)))
    assert results == [EnumType("X") if i % 2 == 0 else RecordType("X") for i in range(400)]

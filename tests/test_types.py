"""The type language's one fold: every computation over types covers each kind, and validation and schemas agree on dates."""

import re

import pytest

from eigendsl import ir
from eigendsl.backends.schemas import SchemaWriter
from eigendsl.runtime.folder_check import _NormalForm
from eigendsl.types import (
    DATE, DATETIME, INT, STR, EnumType, ListType, MapType, OptionalType, RecordType, TypeFold, named_types, parse_type,
)
from eigendsl.values import InvalidValue, Validators
from eigendsl.verify.symbolic import _FreshValue

DECLARABLE = {"on_prim", "on_enum", "on_record", "on_union", "on_list", "on_map", "on_optional"}


@pytest.mark.parametrize("fold", [SchemaWriter, Validators, _NormalForm, _FreshValue], ids=lambda c: c.__name__)
def test_every_fold_covers_every_kind_of_declared_type(fold):
    overridden = {name for name in DECLARABLE if getattr(fold, name) is not getattr(TypeFold, name)}
    assert overridden == DECLARABLE


def test_a_missing_case_is_named():
    class OnlyPrims(TypeFold[str]):
        def on_prim(self, t):
            return t.name

    assert OnlyPrims().fold(INT) == "int"
    with pytest.raises(TypeError, match=r"OnlyPrims has no case on_list \(for list<int>\)"):
        OnlyPrims().fold(ListType(INT))


def test_named_types_walks_every_part():
    t = parse_type("map<Cabin, list<User?>>", {"Cabin": "enum", "User": "record"})
    assert list(named_types(t)) == [EnumType("Cabin"), RecordType("User")]
    assert list(named_types(MapType(STR, OptionalType(INT)))) == []


class Schema:
    def enum_def(self, name):
        raise KeyError(name)

    record_def = union_def = enum_def


DATETIMES = {
    "2024-05-15 10:00:00": True,  # the benchmark's data
    "2024-05-15T10:00:00": True,
    "2024-05-15T10:00": True,
    "2024-05-15 10:00:00.250": True,
    "2024-05-15T10:00:00Z": False,  # eig's datetimes have no time zone
    "2024-05-15": False,
    "10:00:00": False,
    "2024-05-15 10:00:00 trailing": False,
}
DATES = {"2024-05-15": True, "2024-05-15 10:00:00": False, "15/05/2024": False}


def validates(t, text) -> bool:
    try:
        Validators(Schema()).validate(t, text)
        return True
    except InvalidValue:
        return False


def schema_accepts(schema: dict, text: str) -> bool:
    """JSON Schema's reading of a string schema: `pattern` is searched, `format: date` is RFC 3339's full-date."""
    if "pattern" in schema:
        return re.search(schema["pattern"], text) is not None
    assert schema.get("format") == "date"
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) is not None


@pytest.mark.parametrize("t, cases", [(DATETIME, DATETIMES), (DATE, DATES)], ids=["datetime", "date"])
def test_validation_and_tool_schemas_accept_the_same_dates(t, cases):
    domain = ir.Domain("d", "d", {}, "d.eig", (), (), (), (), (), (), (), (), (), (), (), ())
    schema = SchemaWriter(domain).type_schema(t)
    assert schema["type"] == "string" and schema.get("format") != "date-time"
    for text, ok in cases.items():
        assert validates(t, text) is ok, text
        assert schema_accepts(schema, text) is ok, text
    assert SchemaWriter(domain).type_schema(ListType(t), "when")["items"] == schema

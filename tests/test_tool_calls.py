"""Bad tool calls get clear errors and leave the state exactly as it was."""

from __future__ import annotations

import pytest

from conftest import DOMAINS
from eigendsl.types import BOOL, FLOAT, INT, STR, EnumType, ListType, MapType, OptionalType, RecordType, UnionType

ODD_STRINGS = ["", " ", "\x00", "\n\n", "ünïcødé ✈ 😀", "{user_id}", "' OR 1=1 --", "\\", '"', "a" * 9_999, "\u202e"]


def unchanged(env) -> bool:
    return not env.state.overlay and env.diff() == {} and env.diff(side="user") == {}


def a_wrong_value(t):
    """A JSON value that does not fit type t."""
    t = t.inner if isinstance(t, OptionalType) else t
    if t == STR or isinstance(t, EnumType):
        return 12345
    if t in (INT, FLOAT):
        return "twelve"
    if t == BOOL:
        return "yes please"
    if isinstance(t, (ListType, MapType, RecordType, UnionType)):
        return "not a collection"
    return {"unexpected": "object"}


def a_valid_value(t, domain):
    """Some JSON value of type t (not necessarily meaningful)."""
    if isinstance(t, OptionalType):
        return None
    if t == STR:
        return "x"
    if t == INT:
        return 0
    if t == FLOAT:
        return 0.0
    if t == BOOL:
        return False
    if isinstance(t, EnumType):
        return domain.schema.enum_def(t.name).values[0]
    if isinstance(t, ListType):
        return []
    if isinstance(t, MapType):
        return {}
    if isinstance(t, RecordType):
        return {f.name: a_valid_value(f.type, domain) for f in domain.schema.record_def(t.name).fields}
    if isinstance(t, UnionType):
        u = domain.schema.union_def(t.name)
        v = u.variants[0]
        return {u.tag_field: v.tag, **{f.name: a_valid_value(f.type, domain) for f in v.fields}}
    return "2024-05-15"


def tools_of(domain):
    return [t for t in domain.ir.tools]


@pytest.mark.parametrize("name", DOMAINS)
def test_unknown_tool_is_refused(name, compiled_domains):
    env = compiled_domains(name).environment()
    for bad in ["no_such_tool", "", "get_user_details; drop table", "x" * 5000]:
        result = env.call(bad, {})
        assert not result.ok and result.error.startswith("Unknown tool")
    assert unchanged(env)
    assert len(env.trace) == 4 and not any(e.ok for e in env.trace)


@pytest.mark.parametrize("name", DOMAINS)
def test_missing_extra_and_mistyped_arguments(name, compiled_domains):
    domain = compiled_domains(name)
    env = domain.environment()
    checked = 0
    for tool in tools_of(domain):
        required = [p for p in tool.params if not p.has_default and not isinstance(p.type, OptionalType)]
        if required:
            result = env.call(tool.name, {}, tool.actor)
            assert not result.ok and "missing required argument" in result.error, (tool.name, result.error)
        result = env.call(tool.name, {**{p.name: a_valid_value(p.type, domain) for p in required}, "definitely_not_a_param": 1}, tool.actor)
        assert not result.ok and "unknown argument 'definitely_not_a_param'" in result.error, (tool.name, result.error)
        for p in tool.params:
            args = {q.name: a_wrong_value(q.type) if q is p else a_valid_value(q.type, domain) for q in tool.params}
            result = env.call(tool.name, args, tool.actor)
            assert not result.ok, (tool.name, p.name, result)
            assert "argument" in result.error and "internal error" not in result.error, (tool.name, result.error)
            checked += 1
        for bad in (["a", "list"], "{not json", 42, "null"):
            result = env.call(tool.name, bad, tool.actor)
            if bad == "null":
                continue  # JSON null is no arguments, which is right for a tool without parameters
            assert not result.ok and "arguments" in result.error
    assert unchanged(env)
    assert checked > 0


@pytest.mark.parametrize("name", DOMAINS)
def test_long_and_odd_strings(name, compiled_domains):
    domain = compiled_domains(name)
    for tool in tools_of(domain):
        str_params = [p for p in tool.params if p.type in (STR, OptionalType(STR))]
        if not str_params:
            continue
        valid = {q.name: a_valid_value(q.type, domain) for q in tool.params}
        for p in str_params:
            env = domain.environment()
            result = env.call(tool.name, {**valid, p.name: "y" * 100_000}, tool.actor)
            assert not result.ok and "too long" in result.error and p.name in result.error
            assert unchanged(env)
            for odd in ODD_STRINGS:
                env = domain.environment()
                args = {**valid, p.name: odd}
                result = env.call(tool.name, args, tool.actor)
                assert result.error is None or "internal error" not in result.error, (tool.name, p.name, odd, result.error)
                if not result.ok:
                    assert unchanged(env), (tool.name, odd)


def test_failed_write_rolls_back_everything(compiled_domains):
    """book_reservation removes a certificate, then fails on its second use: nothing survives."""
    domain = compiled_domains("airline")
    env = domain.environment()
    users = env.read("users")
    flights = env.read("flights")
    user, cert = next(
        (u, pm) for u in users.values() for pm in u["payment_methods"].values()
        if pm["source"] == "certificate" and pm["amount"] >= 200
    )
    number, date, day = next(
        (f["flight_number"], d, s) for f in flights.values() for d, s in f["dates"].items()
        if s["status"] == "available" and s["available_seats"]["economy"] > 0 and s["prices"]["economy"] <= 200
    )
    price = day["prices"]["economy"]
    half = price // 2
    payments = [{"payment_id": cert["id"], "amount": half}, {"payment_id": cert["id"], "amount": price - half}]
    result = env.call("book_reservation", {
        "user_id": user["user_id"], "origin": flights[number]["origin"], "destination": flights[number]["destination"],
        "flight_type": "one_way", "cabin": "economy", "flights": [{"flight_number": number, "date": date}],
        "passengers": [{"first_name": "A", "last_name": "B", "dob": "1990-01-01"}],
        "payment_methods": payments, "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no",
    })
    assert not result.ok, result
    assert unchanged(env)
    assert env.read("users")[user["user_id"]]["payment_methods"][cert["id"]] == cert
    # The same booking paid once with the certificate succeeds and changes exactly three rows.
    payments = [{"payment_id": cert["id"], "amount": price}]
    ok = env.call("book_reservation", {
        "user_id": user["user_id"], "origin": flights[number]["origin"], "destination": flights[number]["destination"],
        "flight_type": "one_way", "cabin": "economy", "flights": [{"flight_number": number, "date": date}],
        "passengers": [{"first_name": "A", "last_name": "B", "dob": "1990-01-01"}],
        "payment_methods": payments, "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no",
    })
    assert ok.ok, ok.error
    changes = env.diff()
    assert set(changes) == {"users", "flights", "reservations"}
    assert cert["id"] not in changes["users"][user["user_id"]]["payment_methods"]
    assert changes["flights"][number]["dates"][date]["available_seats"]["economy"] == day["available_seats"]["economy"] - 1
    assert changes["reservations"]["HATHAT"]["payment_history"] == payments
    # The base is shared and untouched: a fresh environment still sees the certificate.
    assert cert["id"] in domain.environment().read("users")[user["user_id"]]["payment_methods"]


def test_a_lookup_kept_from_the_base_gives_way_to_this_episodes_writes(compiled_domains):
    """Read-only tools' results over the unchanged base are kept per domain (a lookup scanning
    every user runs once per question); an environment that wrote a root the lookup reads
    computes it afresh, and the others still see the base."""
    domain = compiled_domains("retail")
    user_id, user = next(iter(domain.environment().read("users").items()))
    ask = {"first_name": user["name"]["first_name"], "last_name": user["name"]["last_name"], "zip": user["address"]["zip"]}
    moved = domain.environment()
    assert moved.call("find_user_id_by_name_zip", ask).content == user_id
    assert ("agent", "find_user_id_by_name_zip", repr([ask["first_name"], ask["last_name"], ask["zip"]])) in domain.base_results
    address = dict(user["address"], zip="00001")
    assert moved.call("modify_user_address", {"user_id": user_id, **address}).ok
    gone = moved.call("find_user_id_by_name_zip", ask)
    assert not gone.ok and gone.error == "User not found"
    assert moved.call("find_user_id_by_name_zip", dict(ask, zip="00001")).content == user_id
    # A failed lookup is kept too, and a fresh environment still answers from the base.
    other = domain.environment()
    assert other.call("find_user_id_by_name_zip", ask).content == user_id
    assert other.call("find_user_id_by_name_zip", dict(ask, zip="00001")).error == "User not found"
    assert [e.name for e in other.trace] == ["find_user_id_by_name_zip"] * 2  # kept results are still recorded

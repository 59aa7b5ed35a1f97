"""Semantics of the language, one small domain per behaviour, run through the real pipeline."""

from __future__ import annotations

import json
import textwrap

import pytest

from eigendsl.compiler import compile_file
from eigendsl.runtime.environment import CompiledDomain

HEADER = """
domain shop {
  now = 2024-05-15T15:00:00
  data = "shop.json"
}
record Item { name: str, price: float, tags: list<str> = [] }
union Pay by kind {
  card { last4: str }
  voucher { balance: float }
}
record Customer { id: str, wallet: map<str, Pay>, orders: list<str> = [] }
record Counter { hits: int, seen: list<str> = [] }
state {
  items: map<str, Item>
  customers: map<str, Customer>
  log: list<str>
  counter: Counter
}
facts { mood: str }
"""

DATA = {
    "items": {"a": {"name": "apple", "price": 1.5}, "b": {"name": "bread", "price": 3}},
    "customers": {"c1": {"id": "c1", "wallet": {"v": {"kind": "voucher", "balance": 10}, "k": {"kind": "card", "last4": "1234"}}}},
    "log": ["start"],
    "counter": {"hits": 0},
}


def build(tmp_path, body: str, data=None):
    (tmp_path / "shop.json").write_text(json.dumps(data or DATA))
    (tmp_path / "shop.eig").write_text(HEADER + textwrap.dedent(body))
    c = compile_file(tmp_path / "shop.eig")
    assert c.ok, "\n".join(f"{d.span}: {d.message}" for d in c.diagnostics)
    return CompiledDomain.from_compilation(c)


def diagnostics(tmp_path, body: str) -> list[str]:
    (tmp_path / "shop.json").write_text(json.dumps(DATA))
    (tmp_path / "shop.eig").write_text(HEADER + textwrap.dedent(body))
    c = compile_file(tmp_path / "shop.eig")
    return [f"{d.severity}: {d.message}" for d in c.diagnostics]


def test_data_is_validated_and_widened(tmp_path):
    env = build(tmp_path, "").environment()
    assert env.read("items")["b"]["price"] == 3.0 and isinstance(env.read("items")["b"]["price"], float)
    assert env.read("items")["a"]["tags"] == []
    assert env.read("customers")["c1"]["wallet"]["v"] == {"kind": "voucher", "balance": 10.0}


def test_value_semantics_and_explicit_writes(tmp_path):
    domain = build(tmp_path, """
    tool rename(id: str, name: str) -> Item writes "Rename, but store only when asked." {
      let item = items[id] or fail "no item {id}"
      item.name = name
      item.tags.append("renamed")
      if name == "keep" { items[id] = item }
      return item
    }
    """)
    env = domain.environment()
    r = env.call("rename", {"id": "a", "name": "other"})
    assert r.ok and r.content["name"] == "other" and r.content["tags"] == ["renamed"]
    assert env.diff() == {}  # the local copy changed, the state did not
    r = env.call("rename", {"id": "a", "name": "keep"})
    assert env.diff() == {"items": {"a": {"name": "keep", "price": 1.5, "tags": ["renamed"]}}}
    assert domain.environment().read("items")["a"]["name"] == "apple"  # shared base untouched


def test_narrowing_unions_and_optionals(tmp_path):
    domain = build(tmp_path, """
    fn voucher_balance(c: Customer, key: str) -> float {
      let p = get(c.wallet, key)
      if p == none { fail "no method {key}" }
      if p is not voucher { return 0.0 }
      return p.balance
    }
    tool spend(customer: str, key: str, amount: float) -> float writes "Spend from a voucher." {
      let c = customers[customer] or fail "Customer {customer} not found"
      let p = c.wallet[key] or fail "Payment method not found"
      if p is card { fail "cards cannot be spent here" }
      p.balance >= amount or fail "balance {p.balance} is below {amount}"
      p.balance -= amount
      customers[customer].wallet[key] = p
      return voucher_balance(customers[customer], key)
    }
    """)
    env = domain.environment()
    assert env.call("spend", {"customer": "c1", "key": "v", "amount": 4}).content == 6.0
    assert env.call("spend", {"customer": "c1", "key": "k", "amount": 1}).error == "cards cannot be spent here"
    assert env.call("spend", {"customer": "c1", "key": "v", "amount": 7}).error == "balance 6.0 is below 7.0"
    assert env.call("spend", {"customer": "zz", "key": "v", "amount": 1}).error == "Customer zz not found"
    assert env.diff()["customers"]["c1"]["wallet"]["v"]["balance"] == 6.0


def test_narrowing_is_required(tmp_path):
    errors = diagnostics(tmp_path, """
    fn f(p: Pay) -> float { return p.balance }
    fn g(c: Customer) -> str { return get(c.wallet, "k").kind }
    tool t(id: str) -> float reads "x" { return items[id].price }
    """)
    assert "error: 'balance' exists only in variant(s) voucher of Pay; narrow first, e.g. `if x is voucher { ... }`" in errors
    assert any("may be none" in e for e in errors)
    assert len(errors) == 2  # a map lookup needs no narrowing: a missing key fails the call


def test_effects_are_checked(tmp_path):
    errors = diagnostics(tmp_path, """
    tool peek(id: str) -> Item reads "Read only." {
      items[id].name = "x"
      return items[id]
    }
    fn helper() -> int pure { return len(items) }
    fn a() -> int { return b() }
    fn b() -> int { return a() }
    tool calc() -> int pure "no state" { return 1 }
    """)
    assert "error: tool 'peek' (reads) cannot write state 'items'; declare it `writes`" in errors
    assert "error: fn 'helper' (pure) cannot read state 'items'; declare it `reads`" in errors
    assert any("recursion is not allowed" in e for e in errors)


def test_missing_return_and_unreachable(tmp_path):
    errors = diagnostics(tmp_path, """
    fn f(x: int) -> int {
      if x > 0 { return 1 }
    }
    fn g() -> int {
      return 1
      let y = 2
    }
    """)
    assert "error: fn 'f' must end with `return` or `fail` on every path (it returns int)" in errors
    assert "warning: this statement is never reached" in errors


def test_quantifiers_comprehensions_and_formatting(tmp_path):
    domain = build(tmp_path, """
    tool summary() -> str reads "Summarise." {
      let prices = [i.price for i in values(items) if i.price > 1]
      let cheap = find(i in values(items): i.price < 2)
      let n = count(i in values(items): "x" in i.tags)
      let total = sum(i in values(items): i.price)
      let names = join(sorted([i.name for i in values(items)]), ", ")
      let fallback = Item(name: "none", price: 0)
      return "{len(prices)} {cheap ?? fallback} {n} {total} {names} {round(total / 3, 2)} {true} {none}"
    }
    """)
    r = domain.environment().call("summary")
    assert r.content == '2 {"name": "apple", "price": 1.5, "tags": []} 0 4.5 apple, bread 1.5 True None'


def test_list_tables_and_record_roots(tmp_path):
    domain = build(tmp_path, """
    tool note(text: str) -> int writes "Append to the log and count." {
      log.append(text)
      counter.hits += 1
      counter.seen.append(text)
      if text == "boom" { fail "boom" }
      return len(log)
    }
    tool forget(text: str) -> int writes "Remove from the log." {
      log.remove(text)
      return len(log)
    }
    """)
    env = domain.environment()
    assert env.call("note", {"text": "hello"}).content == 2
    assert env.call("note", {"text": "boom"}).error == "boom"
    assert env.call("forget", {"text": "start"}).content == 1
    assert env.read("log") == ["hello"] and env.read("counter") == {"hits": 1, "seen": ["hello"]}
    assert env.diff() == {"log": {"0": "hello"}, "counter": {"hits": 1, "seen": ["hello"]}}
    assert env.call("forget", {"text": "nope"}).error == "nope is not in log"


def test_negative_indexes_count_from_the_end_of_list_tables(tmp_path):
    domain = build(tmp_path, """
    tool last() -> str reads "The newest log line." { return log[-1] }
    tool amend(text: str) -> str writes "Rewrite the newest log line." { log[-1] = text  return log[len(log) - 1] }
    """)
    env = domain.environment()
    assert env.call("last").content == "start"
    assert env.call("amend", {"text": "edited"}).content == "edited" and env.read("log") == ["edited"]


def test_runtime_errors_roll_back(tmp_path):
    domain = build(tmp_path, """
    tool risky(id: str, d: int) -> float writes "Writes, then may divide by zero." {
      items[id].price = 99.0
      return items[id].price / d
    }
    """)
    env = domain.environment()
    r = env.call("risky", {"id": "a", "d": 0})
    assert not r.ok and r.error == "division by zero" and env.diff() == {}
    r = env.call("risky", {"id": "zz", "d": 1})
    assert not r.ok and r.error == "key 'zz' is not in items" and env.diff() == {}
    assert env.call("risky", {"id": "a", "d": 2}).content == 49.5


def test_guards_monitor_and_enforce(tmp_path):
    domain = build(tmp_path, """
    tool buy(id: str, qty: int) -> int writes "Buy." {
      counter.hits += qty
      return counter.hits
    }
    policy small_orders "At most 3 at a time." guard buy { qty <= 3 }
    policy known_items "Only listed items." enforce guard buy { id in items }
    policy calm "Only for calm customers." guard buy { fact.mood == "calm" }
    """)
    env = domain.environment({"mood": "calm"})
    r = env.call("buy", {"id": "a", "qty": 5})
    assert r.ok and [(g.policy, g.verdict) for g in r.guards] == [("small_orders", "violated"), ("known_items", "ok"), ("calm", "ok")]
    r = env.call("buy", {"id": "nope", "qty": 1})
    assert not r.ok and r.error == "Not allowed by policy 'known_items'."
    assert env.read("counter")["hits"] == 5
    assert domain.environment().call("buy", {"id": "a", "qty": 1}).violations[0].policy == "calm"


def test_setups_assertions_and_derived_values(tmp_path):
    domain = build(tmp_path, """
    setup set_hits(n: int) { counter.hits = n }
    assertion hits_at_least(n: int) { counter.hits >= n }
    derive counter.seen = [i.name for i in values(items) if i.price * counter.hits > 4]
    tool bump() -> Counter writes "Bump the counter." { counter.hits += 1  return counter }
    """)
    env = domain.environment()
    assert env.run_setup("set_hits", {"n": 2}).ok
    assert env.run_assertion("hits_at_least", {"n": 2}).content is True
    assert env.run_assertion("hits_at_least", {"n": 3}).content is False
    assert env.call("bump").content == {"hits": 3, "seen": ["apple", "bread"]}
    assert env.dump()["counter"] == {"hits": 3, "seen": ["apple", "bread"]}
    errors = diagnostics(tmp_path, """
    derive counter.seen = []
    tool t() -> int writes "x" { counter.seen.append("x")  return 1 }
    """)
    assert "error: 'counter.seen' is derived from other state and cannot be written" in errors


def test_derived_values_kept_until_a_write_they_read(tmp_path):
    # Derived fields are kept with the state between writes; each kind of change must show.
    domain = build(tmp_path, """
    derive counter.seen = [i.name for i in values(items) if i.price * counter.hits > 4]
    tool bump() -> Counter writes "Bump." { counter.hits += 1  return counter }
    tool price(id: str, p: float) -> Counter writes "Reprice." { items[id].price = p  return counter }
    tool note(s: str) -> Counter writes "Log, then maybe fail." {
      log.append(s)
      items["b"].price = 100.0
      if s == "fail" { fail "no" }
      return counter
    }
    """)
    assert domain.program.derive_deps == {"counter": frozenset({"counter", "items"})}
    env = domain.environment()
    assert env.call("bump").content["seen"] == []
    assert env.call("bump").content["seen"] == ["bread"]
    assert env.call("price", {"id": "b", "p": 1.0}).content["seen"] == []  # a write to items
    assert env.call("price", {"id": "a", "p": 5.0}).content["seen"] == ["apple"]
    assert not env.call("note", {"s": "fail"}).ok  # rolled back: the price of 100 is gone
    assert env.dump()["counter"]["seen"] == ["apple"]
    assert env.call("note", {"s": "ok"}).content["seen"] == ["apple", "bread"]
    env.reset()
    assert env.dump()["counter"] == {"hits": 0, "seen": []}
    with_facts = build(tmp_path, """
    derive counter.seen = [fact.mood ?? "none"]
    tool peek() -> Counter reads "Look." { return counter }
    """)
    assert "counter" not in with_facts.program.derive_deps  # reads a fact: computed on every read
    assert with_facts.environment({"mood": "calm"}).call("peek").content["seen"] == ["calm"]


@pytest.mark.parametrize("text,expected", [
    ("2 + 2", "4.0"), ("10 / 3", "3.33"), ("2 ** -1", "0.5"), ("-2 ** 2", "-4.0"), ("7 // 2", "3.0"),
    ("(1.5 + .5) * 2", "4.0"), ("1 / 0", None), ("2 +", None), ("01", None), ("()", None), ("1 2", None),
    ("9 ** 9 ** 9", None), ("__import__('os')", None), ("(-8) ** 0.5", None),
])
def test_calculate_is_safe_arithmetic(tmp_path, text, expected):
    domain = build(tmp_path, """
    tool calc(expression: str) -> str pure "Arithmetic." { return str(round(calculate(expression), 2)) }
    """)
    r = domain.environment().call("calc", {"expression": text})
    assert (r.content if r.ok else None) == expected, r.error


def test_ill_typed_literals_in_tasks_are_errors_not_crashes(tmp_path):
    errors = diagnostics(tmp_path, """
    tool echo(tags: map<str, str>) -> int pure "x" { return len(tags) }
    task "t" { gold { echo(tags: {[]: "a", "k": 1}) } }
    """)
    assert "error: expected str, got list<<empty>>" in errors and "error: expected str, got int" in errors


LEDGER = """
domain ledger {
  now = 2024-05-15T15:00:00
  data = "ledger.json"
}
record Row { who: str?, amount: float, tags: list<str> = [] }
state { rows: list<Row> }
tool first(who: str?) -> Row? reads "The first row of someone." { return find(r in rows: r.who == who) }
tool tally(who: str?) -> int reads "How many rows someone has." { return count(r in rows: r.who == who) }
tool has(who: str?) -> bool reads "Whether someone has a row." { return any(r in rows: r.who == who) }
tool amounts(who: str?) -> list<float> reads "Someone's amounts." { return [r.amount for r in rows if r.who == who] }
tool of_amount(amount: float) -> Row? reads "The first row of an amount." { return find(r in rows: amount == r.amount) }
tool tagged(tags: list<str>) -> Row? reads "The first row with these tags." { return find(r in rows: r.tags == tags) }
tool add(who: str, amount: float) -> int writes "Add a row and count the writer's rows." {
  rows.append(Row(who: who, amount: amount))
  return count(r in rows: r.who == who)
}
tool rename(i: int, who: str) -> list<float> writes "Rename a row, then fail on 'boom'." {
  rows[i].who = who
  if who == "boom" { fail "boom: {len([r.amount for r in rows if r.who == who])}" }
  return [r.amount for r in rows if r.who == who]
}
"""


def test_lookups_by_field_equal_the_scan_through_writes_and_rollbacks(tmp_path):
    # `x in T: x.f == v` over a list table is answered from an index of T (built once per version
    # of T): every answer must be the scan's, in table order, whatever was written or rolled back
    rows = [{"who": "ann", "amount": 1}, {"who": None, "amount": 2.5}, {"who": "bo", "amount": 1.0, "tags": ["x"]},
            {"who": "ann", "amount": 4}]
    (tmp_path / "ledger.json").write_text(json.dumps({"rows": rows}))
    (tmp_path / "ledger.eig").write_text(LEDGER)
    c = compile_file(tmp_path / "ledger.eig")
    assert c.ok, [d.message for d in c.diagnostics]
    domain = CompiledDomain.from_compilation(c)
    env, other = domain.environment(), domain.environment()

    def scan(table, who):
        return [r for r in table if r["who"] == who]

    def agrees(e, table):
        for who in ("ann", "bo", None, "cy", "boom"):
            found = scan(table, who)
            assert e.call("first", {"who": who}).content == (found[0] if found else None)
            assert e.call("tally", {"who": who}).content == len(found)
            assert e.call("has", {"who": who}).content == bool(found)
            assert e.call("amounts", {"who": who}).content == [r["amount"] for r in found]
        assert e.call("of_amount", {"amount": 1}).content == [r for r in table if r["amount"] == 1][0]  # 1 == 1.0, in order
        assert e.call("tagged", {"tags": ["x"]}).content["who"] == "bo"  # a list is no key: scanned

    table = [{"tags": [], **r, "amount": float(r["amount"])} for r in rows]
    agrees(env, table)
    assert env.call("add", {"who": "cy", "amount": 7}).content == 1
    table.append({"who": "cy", "amount": 7.0, "tags": []})
    agrees(env, table)
    assert env.call("rename", {"i": 0, "who": "cy"}).content == [1.0, 7.0]  # read after a write in one call
    table[0]["who"] = "cy"
    agrees(env, table)
    assert env.call("rename", {"i": 3, "who": "boom"}).error  # rolled back: the index is the one before
    agrees(env, table)
    agrees(other, [{"tags": [], **r, "amount": float(r["amount"])} for r in rows])  # the shared base is untouched

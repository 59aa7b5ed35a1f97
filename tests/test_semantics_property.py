"""Generated programs and states: the Z3 encoding and the runtime agree on every one.

Hypothesis writes small well-typed eig functions (lets, ifs with early returns and fails, loops
that accumulate, local list updates; arithmetic with // and %, comparisons, membership in
lists, maps and list tables, quantifiers, lookups that may fail, variant tests, text slices,
built-ins, a derived field) and a state and arguments for them. Each function runs through the
runtime and through the encoding in every mode of verify/agreement.py; any different answer
fails the test. Floats are left out of the generated arithmetic: the encoding reads them as
exact rationals (docs/architecture.md says where that differs from the runtime's rounding).
"""

from __future__ import annotations

import json
import textwrap
from functools import lru_cache

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from eigendsl.compiler import compile_file
from eigendsl.runtime.environment import CompiledDomain
from eigendsl.verify.agreement import Tally, evaluate

EXAMPLES = 300

HEADER = """
domain gen {
  data = "gen.json"
}
record Item { name: str, qty: int, tags: list<str> }
union Slot by state {
  open { seats: int }
  closed { }
}
record Counter { hits: int, label: str }
state {
  items: map<str, Item>
  slots: map<str, Slot>
  log: list<str>
  counter: Counter
}
derive counter.hits = len(log) * 2
"""
PARAMS = "a: int, b: int, s: str, t: str, k: str, xs: list<int>"
KEYS = ["a", "b", "c"]
WORDS = ["", "a", "ab", "alice", "b", "2024-05-15", "2024-05-15T10:00:00", "-3", "x-y"]

# ---------------------------------------------------------------- expressions by type


@lru_cache(maxsize=None)
def ints(names: tuple[str, ...] = ()):
    leaves = st.one_of(
        st.integers(-6, 6).map(str),
        st.sampled_from(["a", "b", "len(xs)", "len(s)", "len(log)", "counter.hits", "len(items)", *names]),
    )

    def extend(inner):
        pair = st.tuples(inner, inner)
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "//", "%"]), inner).map(lambda x: f"({x[0]} {x[1]} {x[2]})"),
            inner.map(lambda x: f"(-{x})"),
            inner.map(lambda x: f"abs({x})"),
            pair.map(lambda x: f"min({x[0]}, {x[1]})"),
            pair.map(lambda x: f"max({x[0]}, {x[1]})"),
            st.tuples(bools_leaf(names), inner, inner).map(lambda x: f"(if {x[0]} then {x[1]} else {x[2]})"),
            inner.map(lambda x: f"xs[{x}]"),
            st.sampled_from(["(items[k] or fail \"no item\").qty", "(items[s] ?? Item(name: \"\", qty: 0, tags: [])).qty",
                             "count(w in xs: w > a)", "sum(w in xs: w * b)", "len([w for w in xs if w != b])",
                             "seats_of(k)", "int(float(a) * 2.0)", "len(str(a))"]),
        )

    return st.recursive(leaves, extend, max_leaves=6)


@lru_cache(maxsize=None)
def bools_leaf(names: tuple[str, ...] = ()):
    return st.sampled_from([
        "a < b", "a == b", "s == t", "s < t", "s in log", "k in items", "a in xs", "s in t", "t in [s, \"a\"]",
        "startswith(s, t)", "endswith(t, s)", "any(w in xs: w > b)", "all(w in xs: w != a)", "len(xs) > 0",
        "(slots[k] or fail \"no slot\") is open", "counter.label == s", "counter.hits > a",
        *[f"{n} > a" for n in names],
    ])


@lru_cache(maxsize=None)
def bools(names: tuple[str, ...] = ()):
    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda x: f"({x[0]} {x[1]} {x[2]})"),
            inner.map(lambda x: f"(not {x})"),
            st.tuples(ints(names), st.sampled_from(["<", "<=", "==", "!=", ">", ">="]), ints(names)).map(lambda x: f"({x[0]} {x[1]} {x[2]})"),
        )

    return st.recursive(bools_leaf(names), extend, max_leaves=4)


@lru_cache(maxsize=None)
def strs(names: tuple[str, ...] = ()):
    return st.one_of(
        st.sampled_from(["s", "t", "k", "counter.label", "(s + t)", "s[1:]", "t[:a]", "s[a:b]", "t[-2:]", "str(a)",
                         "str(date(s))", "str(datetime(t))", "(if a > b then s else t)", "(items[k] or fail \"none\").name",
                         "log[a]", "upper(s)"]),
        st.sampled_from(WORDS).map(json.dumps),
    )


# ---------------------------------------------------------------- statements


@st.composite
def programs(draw):
    """A function body: lets, then guarded returns and fails, a loop, a final return."""
    lines, names = [], []
    result = draw(st.sampled_from(["int", "bool", "str"]))
    for i in range(draw(st.integers(0, 3))):
        name = f"n{i}"
        lines.append(f"let {name} = {draw(ints(tuple(names)))}")
        names.append(name)
    names_t = tuple(names)
    lines.append("let acc = 0")
    lines.append("let seen: list<int> = []")
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["return", "fail", "assign", "loop", "ifelse", "append"]))
        cond = draw(bools(names_t))
        if kind == "return":
            early = {"int": ints(names_t), "bool": bools(names_t), "str": strs(names_t)}[result]
            lines.append(f"if {cond} {{ return {draw(early)} }}")
        elif kind == "fail":
            lines.append(f"if {cond} {{ fail \"stop\" }}")
        elif kind == "assign":
            lines.append(f"acc {draw(st.sampled_from(['=', '+=', '-=']))} {draw(ints(names_t))}")
        elif kind == "loop":
            lines.append(f"for v in xs {{ if v {draw(st.sampled_from(['>', '<', '!=']))} {draw(ints(names_t))} {{ acc += v }} }}")
        elif kind == "append":
            lines.append(f"if {cond} {{ seen.append({draw(ints(names_t))}) }}")
        else:
            lines.append(f"if {cond} {{ acc += {draw(ints(names_t))} }} else {{ acc -= 1 }}")
    final = {"int": ints(names_t + ("acc", "len(seen)")), "bool": bools(names_t + ("acc",)), "str": strs(names_t)}[result]
    lines.append(f"return {draw(final)}")
    body = "\n  ".join(lines)
    return f"fn f({PARAMS}) -> {result} {{\n  {body}\n}}"


HELPERS = """
fn seats_of(id: str) -> int {
  let slot = slots[id] ?? Slot.closed()
  if slot is open { return slot.seats }
  return -1
}
"""

states = st.fixed_dictionaries({
    "items": st.dictionaries(st.sampled_from(KEYS), st.fixed_dictionaries({
        "name": st.sampled_from(WORDS), "qty": st.integers(-3, 5), "tags": st.lists(st.sampled_from(WORDS), max_size=2)}), max_size=3),
    "slots": st.dictionaries(st.sampled_from(KEYS), st.one_of(
        st.fixed_dictionaries({"state": st.just("open"), "seats": st.integers(0, 4)}), st.just({"state": "closed"})), max_size=3),
    "log": st.lists(st.sampled_from(WORDS), max_size=3),
    "counter": st.fixed_dictionaries({"hits": st.integers(0, 3), "label": st.sampled_from(WORDS)}),
})
arguments = st.tuples(st.integers(-6, 6), st.integers(-6, 6), st.sampled_from(WORDS), st.sampled_from(WORDS),
                      st.sampled_from(KEYS + ["z"]), st.lists(st.integers(-4, 4), max_size=4))


def test_generated_programs_agree(tmp_path, capsys):
    tally = Tally()
    compiled: dict[str, object] = {}
    (tmp_path / "gen.json").write_text(json.dumps({"items": {}, "slots": {}, "log": [], "counter": {"hits": 0, "label": ""}}))

    # No shrinking: a failure prints the program, state and arguments as generated.
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])
    @given(programs(), states, arguments)
    def check(source, state, args):
        if source not in compiled:
            (tmp_path / "gen.eig").write_text(HEADER + HELPERS + source)
            c = compile_file(tmp_path / "gen.eig")
            assert c.ok, source + "\n" + "\n".join(f"{d.span}: {d.message}" for d in c.diagnostics)
            compiled[source] = c.domain
        domain_ir = compiled[source]
        domain = CompiledDomain(domain_ir, state, None)
        fn = next(f for f in domain_ir.functions if f.name == "f")
        before = len(tally.disagreements)
        evaluate(domain, domain.environment(), fn, list(args), tally, textwrap.indent(source, "  ") + f"\n  state {state}\n  args {args}")
        assert len(tally.disagreements) == before, tally.disagreements[-1]

    check()
    with capsys.disabled():
        print(f"\ngenerated programs: {tally.summary()}\n  not analysed: {tally.top_reasons()}")
    assert tally.counts[("concrete", "agree")] >= EXAMPLES * 0.9
    assert tally.counts[("pinned", "agree")] >= EXAMPLES * 0.3

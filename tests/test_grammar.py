"""The keywords are derived from the grammar, once: the parser's recovery and messages use them."""

from eigendsl.syntax.grammar import keywords, lark_parser
from eigendsl.syntax.parser import chunks, top_level


def test_keywords_come_from_the_grammar():
    k = keywords()
    assert {"let", "if", "return", "fail", "and", "not", "none", "fn", "sum"} <= k.hard
    assert {"state", "user", "task", "tool", "policy", "record"} <= k.soft
    assert not k.hard & k.soft
    literal = {t.pattern.value for t in lark_parser().terminals if t.pattern.type == "str"}
    assert k.all <= literal


def test_every_kind_of_declaration_starts_a_recovery_chunk():
    k = keywords()
    assert k.declarations[0] == "domain" and "import" in k.declarations
    assert set(k.declarations) <= k.declaration_starts
    assert {"user", "agent"} <= k.declaration_starts  # `user tool ...`, `agent state ...`
    for word in k.declaration_starts:
        assert top_level().match(f"{word} x")
    assert not top_level().match("let x = 1")
    assert [line for line, _ in chunks("domain d {}\nfn f() {}\n  let x = 1\nuser tool t() reads \"d\" {}\n")] == [1, 2, 4]

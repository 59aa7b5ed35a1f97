"""The grammar (grammars/eig.lark), its LALR parser, and what is derived from it: the keywords
and readable descriptions of syntax errors.

The keyword sets are read off the grammar, not written out again: a keyword is a literal
terminal that is an identifier; the soft ones are those the `ident` rule also accepts as names;
a declaration starts with one of the tokens the parser accepts at the start of a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .spans import Span

# Readable names for grammar terminals in "expected ..." messages.
TERMINAL_NAMES = {
    "NAME": "a name",
    "STRING": "a string",
    "INT": "an integer",
    "FLOAT": "a number",
    "DATE": "a date",
    "DATETIME": "a datetime",
    "$END": "end of file",
    "NOT_IN": "'not in'",
    "IS_NOT": "'is not'",
    "OPTIONAL": "'?'",
    "ENFORCE": "'enforce'",
}


def grammar_text() -> str:
    packaged = resources.files("eigendsl").joinpath("grammars/eig.lark")
    if packaged.is_file():
        return packaged.read_text()
    return (Path(__file__).resolve().parents[2] / "grammars" / "eig.lark").read_text()


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        start=["start", "expr"],
        cache=False,
    )


def token_span(file: str, tok: Token) -> Span:
    return Span(file, tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + 1)


@dataclass(frozen=True)
class Keywords:
    all: frozenset[str]
    soft: frozenset[str]  # also names: a field may be called `state`
    declaration_starts: frozenset[str]  # what a top-level declaration starts with (`user tool ...`)
    declarations: tuple[str, ...]  # the kinds of declaration, in the grammar's order

    @property
    def hard(self) -> frozenset[str]:
        return self.all - self.soft


@lru_cache(maxsize=1)
def keywords() -> Keywords:
    parser = lark_parser()
    words = {t.name: t.pattern.value for t in parser.terminals if t.pattern.type == "str" and t.pattern.value.isidentifier()}
    soft = {words[r.expansion[0].name] for r in parser.rules
            if r.origin.name == "ident" and len(r.expansion) == 1 and r.expansion[0].name in words}
    starts = {words[t] for t in parser.parse_interactive("", start="start").accepts() if t in words}
    kinds = tuple(r.expansion[0].name.removesuffix("_decl") for r in parser.rules if r.origin.name == "decl")
    return Keywords(frozenset(words.values()), frozenset(soft), frozenset(starts), kinds)


def describe(e: UnexpectedInput) -> str:
    if isinstance(e, UnexpectedCharacters):
        ch = e.char
        if ch == '"':
            return "unterminated string"
        return f"unexpected character {ch!r}"
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            got = "end of file"
        else:
            got = repr(str(tok))[:40]
        expected = describe_expected(set(e.expected))
        return f"unexpected {got}" + (f", expected {', '.join(expected)}" if expected else "")
    return str(e).splitlines()[0]


def syntax_code(e: UnexpectedInput) -> str:
    """E003 for an unterminated string, E002 for a stray character, E001 for a misplaced token."""
    if isinstance(e, UnexpectedCharacters):
        return "E003" if e.char == '"' else "E002"
    return "E001"


EXPRESSION_STARTS = {"NAME", "INT", "FLOAT", "STRING", "LPAR", "LSQB", "LBRACE", "MINUS", "NOT", "TRUE", "FALSE", "NONE", "IF", "DATE", "DATETIME"}


def describe_expected(expected: set[str]) -> list[str]:
    """Readable alternatives: soft keywords fold into 'a name', expression starts into 'an expression'."""
    if {"DOMAIN", "RECORD", "TOOL", "POLICY"} <= expected:
        return [f"a declaration ({', '.join(keywords().declarations)})"]
    if "NAME" in expected:
        soft = {t for t in expected if _is_soft_keyword(t)}
        expected -= soft
    if {"NAME", "INT", "STRING"} <= expected:
        expected = {t for t in expected if t not in EXPRESSION_STARTS and not _is_soft_keyword(t)}
        words = sorted({readable_terminal(t) for t in expected})
        return ["an expression"] + words[:7]
    words = sorted({readable_terminal(t) for t in expected})
    return words[:8] + (["..."] if len(words) > 8 else [])


def _is_soft_keyword(name: str) -> bool:
    try:
        pattern = lark_parser().get_terminal(name).pattern
    except KeyError:
        return False
    return pattern.type == "str" and pattern.value in keywords().soft


def readable_terminal(name: str) -> str:
    if name in TERMINAL_NAMES:
        return TERMINAL_NAMES[name]
    try:
        pattern = lark_parser().get_terminal(name).pattern
    except KeyError:
        return name
    if pattern.type == "str":
        return repr(pattern.value)
    return name.lower()


def problem_span(file: str, e: UnexpectedInput, source: str) -> Span:
    line = getattr(e, "line", None)
    col = getattr(e, "column", None)
    if isinstance(e, UnexpectedToken) and e.token.type != "$END":
        return token_span(file, e.token)
    if not isinstance(line, int) or line < 1 or not isinstance(col, int) or col < 1:
        lines = source.splitlines() or [""]
        return Span(file, len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
    return Span(file, line, col, line, col + 1)



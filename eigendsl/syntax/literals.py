"""Literals in eig source: string escapes and bodies, the size limits on literals, and the error
the parser raises for a problem it can place at a span."""

from __future__ import annotations

import textwrap

from lark import Token

from .grammar import token_span
from .spans import Span


class SyntaxProblem(Exception):
    def __init__(self, message: str, span: Span, code: str):
        super().__init__(message)
        self.message = message
        self.span = span
        self.code = code


def unescape(raw: str, span: Span) -> str:
    out, i = [], 0
    table = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "{": "{", "}": "}", "r": "\r"}
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt not in table:
                raise SyntaxProblem(f"unknown escape '\\{nxt}' in string", span, "E004")
            out.append(table[nxt])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


MAX_STRING_CHARS = 100_000  # one string literal
MAX_NUMBER_CHARS = 400  # one number literal (Python refuses ints past 4,300 digits)
MAX_HOLE_PADDING = 50_000_000  # each {hole} is parsed at its line; the padding that costs is bounded per file


def check_length(file: str, tok: Token) -> None:
    if len(tok) > MAX_STRING_CHARS + 2:
        raise SyntaxProblem(f"string literal is too long ({len(tok):,} characters; the limit is {MAX_STRING_CHARS:,})",
                            Span(file, tok.line, tok.column, tok.line, tok.column + 1), "E213")


def string_body(tok: Token) -> tuple[str, int, int]:
    """The raw text between the quotes, and the line/col where it starts."""
    text = str(tok)
    if text.startswith('"""'):
        return text[3:-3], tok.line, tok.column + 3
    return text[1:-1], tok.line, tok.column + 1


def plain_string(file: str, tok: Token) -> str:
    """A string in a declaration (doc, policy text): escapes only, triple quotes dedented."""
    check_length(file, tok)
    body, _, _ = string_body(tok)
    value = unescape(body, token_span(file, tok))
    if str(tok).startswith('"""'):
        value = textwrap.dedent(value).strip("\n")
    return value

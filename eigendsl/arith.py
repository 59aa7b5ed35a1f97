"""A safe evaluator for arithmetic text (digits, + - * / // **, parentheses, spaces).

It follows Python's grammar and number semantics for that subset, so a `calculate` tool gives
the results users of the benchmark expect, and it never evaluates anything but arithmetic.
"""

from __future__ import annotations

import re

from .errors import EigRuntimeError

ALLOWED = set("0123456789+-*/(). ")
_TOKEN = re.compile(r"\s*(?:(\d+\.\d*|\.\d+|\d+)|(\*\*|//|[-+*/()]))")
MAX_BITS = 100_000  # refuse powers whose result would be astronomically large


def evaluate(text: str) -> int | float:
    if not all(ch in ALLOWED for ch in text):
        raise EigRuntimeError("Invalid characters in expression")
    tokens = _tokenize(text)
    parser = _Parser(tokens)
    value = parser.expr()
    if parser.pos != len(tokens):
        raise EigRuntimeError("invalid syntax")
    return value


def _tokenize(text: str) -> list[tuple[str, object]]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise EigRuntimeError("invalid syntax")
        number, op = m.groups()
        if number is not None:
            if "." in number:
                tokens.append(("num", float(number)))
            else:
                if len(number) > 1 and number[0] == "0" and number.strip("0"):
                    raise EigRuntimeError("leading zeros in decimal integer literals are not permitted")
                tokens.append(("num", int(number)))
        else:
            tokens.append(("op", op))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take_op(self, *ops) -> str | None:
        kind, value = self.peek()
        if kind == "op" and value in ops:
            self.pos += 1
            return value
        return None

    def expr(self):
        value = self.term()
        while (op := self.take_op("+", "-")) is not None:
            right = self.term()
            value = value + right if op == "+" else value - right
        return value

    def term(self):
        value = self.factor()
        while (op := self.take_op("*", "/", "//")) is not None:
            right = self.factor()
            try:
                if op == "*":
                    value = value * right
                elif op == "/":
                    value = value / right
                else:
                    value = value // right
            except ZeroDivisionError:
                raise EigRuntimeError("division by zero") from None
            except OverflowError:
                raise EigRuntimeError("numerical result out of range") from None
        return value

    def factor(self):
        if (op := self.take_op("+", "-")) is not None:
            value = self.factor()
            return value if op == "+" else -value
        return self.power()

    def power(self):
        base = self.atom()
        if self.take_op("**") is None:
            return base
        exponent = self.factor()
        if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
            if max(base.bit_length(), 1) * exponent > MAX_BITS:
                raise EigRuntimeError("numerical result out of range")
        try:
            result = base**exponent
        except ZeroDivisionError:
            raise EigRuntimeError("division by zero") from None
        except OverflowError:
            raise EigRuntimeError("numerical result out of range") from None
        if isinstance(result, complex):
            raise EigRuntimeError("the result is not a real number")
        return result

    def atom(self):
        kind, value = self.peek()
        if kind == "num":
            self.pos += 1
            return value
        if kind == "op" and value == "(":
            self.pos += 1
            if self.take_op(")") is not None:
                raise EigRuntimeError("empty parentheses are not a number")
            inner = self.expr()
            if self.take_op(")") is None:
                raise EigRuntimeError("invalid syntax: '(' was never closed")
            return inner
        raise EigRuntimeError("invalid syntax")

"""Text to AST with Lark (LALR), with spans and recovery at declaration boundaries."""

from __future__ import annotations

import math
import re
import textwrap
from functools import cached_property, lru_cache
from pathlib import Path

from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from . import ast
from .diagnostics import CompileError, Diagnostic
from .grammar import describe, keywords, lark_parser, problem_span, syntax_code, token_span
from .literals import (MAX_HOLE_PADDING, MAX_NUMBER_CHARS, SyntaxProblem, check_length, plain_string, string_body,
                       unescape)
from .spans import Span


@lru_cache(maxsize=1)
def top_level() -> re.Pattern:
    """A line that starts a declaration in column 1 (where recovery after a syntax error resumes)."""
    return re.compile(rf"^({'|'.join(sorted(keywords().declaration_starts))})\b")


def span_of(file: str, meta) -> Span:
    if getattr(meta, "empty", False):
        return Span(file, 1, 1, 1, 1)
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


# Error recovery re-parses each declaration on its own; past these, only the first error is reported.
MAX_REPARSE_CHARS = 20_000_000
MAX_REPARSE_DECLS = 5_000


@v_args(meta=True)
class ToAst(Transformer):
    """Maps grammar rules to AST nodes; rule names match grammars/eig.lark."""

    def __init__(self, file: str, source: str):
        super().__init__()
        self.file = file
        self.source = source
        self.padding = 0

    @cached_property
    def lines(self) -> list[str]:
        return self.source.split("\n")

    def ident(self, meta, c):
        if c:
            return c[0]
        # A soft keyword used as a name: its token was filtered out, so read it back from the text.
        line = self.lines[meta.line - 1] if meta.line - 1 < len(self.lines) else ""
        text = line[meta.column - 1 : meta.end_column - 1]
        return Token("NAME", text, line=meta.line, column=meta.column, end_line=meta.end_line, end_column=meta.end_column)

    def sp(self, meta) -> Span:
        return span_of(self.file, meta)

    def tsp(self, tok: Token) -> Span:
        return token_span(self.file, tok)

    def text(self, tok: Token | None) -> str | None:
        return None if tok is None else plain_string(self.file, tok)

    # ------------------------------------------------------------ module
    def start(self, meta, children):
        return ast.Module(self.sp(meta), self.file, tuple(children))

    def import_decl(self, meta, c):
        return ast.ImportDecl(self.sp(meta), self.text(c[0]))

    def domain_decl(self, meta, c):
        name, title, *settings = c
        return ast.DomainDecl(self.sp(meta), str(name), self.text(title), tuple(settings))

    def setting(self, meta, c):
        return ast.Setting(self.sp(meta), str(c[0]), c[1])

    def enum_decl(self, meta, c):
        name, doc, *members = c
        return ast.EnumDecl(self.sp(meta), str(name), self.text(doc), tuple(members))

    def enum_member(self, meta, c):
        value = self.text(c[1]) if c[1] is not None else str(c[0])
        return ast.EnumMember(self.sp(meta), str(c[0]), value)

    def record_decl(self, meta, c):
        name, closed, doc, *fields = c
        return ast.RecordDecl(self.sp(meta), str(name), self.text(doc), tuple(fields), closed is not None)

    def field(self, meta, c):
        name, typ, default, doc = c
        return ast.Field(self.sp(meta), str(name), typ, default, self.text(doc))

    def union_decl(self, meta, c):
        name, tag, doc, *variants = c
        return ast.UnionDecl(self.sp(meta), str(name), str(tag), self.text(doc), tuple(variants))

    def variant(self, meta, c):
        name, tag, *fields = c
        return ast.Variant(self.sp(meta), str(name), self.text(tag) if tag is not None else str(name), tuple(fields))

    def state_decl(self, meta, c):
        actor, *fields = c
        return ast.StateDecl(self.sp(meta), actor or "agent", tuple(fields))

    def facts_decl(self, meta, c):
        return ast.FactsDecl(self.sp(meta), tuple(c))

    def const_decl(self, meta, c):
        return ast.ConstDecl(self.sp(meta), str(c[0]), c[1], c[2])

    def fn_decl(self, meta, c):
        name, params, ret, effect, body = c
        return ast.FnDecl(self.sp(meta), str(name), params, ret, effect or "reads", body)

    def tool_decl(self, meta, c):
        actor, name, params, ret, effect, doc, body = c
        return ast.ToolDecl(self.sp(meta), actor or "agent", str(name), params, ret, effect, self.text(doc), body)

    def setup_decl(self, meta, c):
        actor, name, params, ret, body = c
        return ast.SetupDecl(self.sp(meta), actor or "agent", str(name), params, ret, body)

    def assertion_decl(self, meta, c):
        actor, name, params, body = c
        return ast.AssertionDecl(self.sp(meta), actor or "agent", str(name), params, body)

    def derive_decl(self, meta, c):
        return ast.DeriveDecl(self.sp(meta), c[0], c[1])

    def policy_decl(self, meta, c):
        name, text, *guards = c
        return ast.PolicyDecl(self.sp(meta), str(name), self.text(text), tuple(guards))

    def guard(self, meta, c):
        enforce, tool, body, outcome = c
        word, word_span, reason = outcome if outcome is not None else (None, None, None)
        return ast.Guard(self.sp(meta), enforce is not None, str(tool), self.tsp(tool), body, word, word_span, reason)

    def guard_else(self, meta, c):
        word, reason = c
        return str(word), self.tsp(word), (self.text(reason) if reason is not None else None)

    def reads(self, meta, c):
        return "reads"

    def writes(self, meta, c):
        return "writes"

    def pure(self, meta, c):
        return "pure"

    def user_actor(self, meta, c):
        return "user"

    def agent_actor(self, meta, c):
        return "agent"

    def params(self, meta, c):
        return tuple(p for p in c if p is not None)

    def param(self, meta, c):
        name, typ, default, doc = c
        return ast.Param(self.sp(meta), str(name), typ, default, self.text(doc))

    # ------------------------------------------------------------ tasks
    def task_decl(self, meta, c):
        name, *items = c
        kinds: dict[str, list] = {}
        for kind, value, span in items:
            if kind in kinds and kind not in ("text", "goal", "communicate", "assert", "judge"):
                raise SyntaxProblem(f"a task has one '{kind}' section", span, "E009")
            kinds.setdefault(kind, []).append(value)
        one = lambda kind: (kinds.get(kind) or [None])[0]  # noqa: E731
        flat = lambda kind: tuple(x for group in kinds.get(kind, []) for x in group)  # noqa: E731
        return ast.TaskDecl(
            self.sp(meta), name, tuple(kinds.get("text", [])), one("user"), one("setup"), one("gold"),
            flat("goal"), flat("communicate"), flat("assert"), flat("judge"), one("reward"),
        )

    def task_name(self, meta, c):
        tok = c[0]
        return self.text(tok) if tok.type == "STRING" else str(tok)

    def task_text(self, meta, c):
        return ("text", (str(c[0]), self.text(c[1]), self.tsp(c[0])), self.sp(meta))

    def task_user(self, meta, c):
        texts, knows, facts = [], [], []
        for kind, value in c:
            {"text": texts, "knows": knows, "fact": facts}[kind].extend(value)
        return ("user", ast.TaskUser(self.sp(meta), tuple(texts), tuple(knows), tuple(facts)), self.sp(meta))

    def user_text(self, meta, c):
        return ("text", [(str(c[0]), self.text(c[1]))])

    def user_fact(self, meta, c):
        return ("fact", [(str(c[0]), c[1])])

    def user_knows(self, meta, c):
        return ("knows", [(str(c[i]), c[i + 1]) for i in range(0, len(c), 2)])

    def task_setup(self, meta, c):
        return ("setup", tuple(c), self.sp(meta))

    def task_gold(self, meta, c):
        return ("gold", tuple(c), self.sp(meta))

    def gold_call(self, meta, c):
        actor, name, args, compare = c
        return ast.GoldCall(self.sp(meta), actor or "agent", str(name), self.tsp(name), args, compare)

    def compare(self, meta, c):
        return tuple(str(x) for x in c if x is not None)

    def assert_call(self, meta, c):
        return ast.AssertCall(self.sp(meta), c[0], c[1], self.text(c[2]))

    def task_goal(self, meta, c):
        return ("goal", tuple(c), self.sp(meta))

    def task_communicate(self, meta, c):
        return ("communicate", tuple(self.text(t) for t in c), self.sp(meta))

    def task_assert(self, meta, c):
        return ("assert", tuple(c), self.sp(meta))

    def task_judge(self, meta, c):
        return ("judge", tuple(self.text(t) for t in c), self.sp(meta))

    def task_reward(self, meta, c):
        return ("reward", tuple((str(t), self.tsp(t)) for t in c), self.sp(meta))

    # ------------------------------------------------------------ types
    def type(self, meta, c):
        inner, opt = c
        if opt is not None:
            return ast.TypeRef(self.sp(meta), inner.name, inner.args, True, inner.variant)
        return inner

    def variant_type(self, meta, c):
        return ast.TypeRef(self.sp(meta), str(c[0]), (), False, str(c[1]))

    def named_type(self, meta, c):
        return ast.TypeRef(self.sp(meta), str(c[0]))

    def generic_type(self, meta, c):
        return ast.TypeRef(self.sp(meta), str(c[0]), tuple(c[1:]))

    # ------------------------------------------------------------ statements
    def block(self, meta, c):
        return ast.Block(self.sp(meta), tuple(c))

    def expr_block(self, meta, c):
        return ast.ExprBlock(self.sp(meta), tuple(c[:-1]), c[-1])

    def let_stmt(self, meta, c):
        return ast.Let(self.sp(meta), str(c[0]), c[1], c[2])

    def if_stmt(self, meta, c):
        return ast.If(self.sp(meta), c[0], c[1], c[2])

    def for_stmt(self, meta, c):
        var, var2, it, body = c
        return ast.For(self.sp(meta), str(var), None if var2 is None else str(var2), it, body)

    def return_stmt(self, meta, c):
        return ast.Return(self.sp(meta), c[0])

    def fail_stmt(self, meta, c):
        return ast.Fail(self.sp(meta), c[0])

    def assign(self, meta, c):
        return ast.Assign(self.sp(meta), c[0], "=", c[1])

    def add_assign(self, meta, c):
        return ast.Assign(self.sp(meta), c[0], "+=", c[1])

    def sub_assign(self, meta, c):
        return ast.Assign(self.sp(meta), c[0], "-=", c[1])

    def expr_stmt(self, meta, c):
        return ast.ExprStmt(self.sp(meta), c[0])

    # ------------------------------------------------------------ expressions
    def if_expr(self, meta, c):
        return ast.IfExpr(self.sp(meta), c[0], c[1], c[2])

    def coalesce(self, meta, c):
        return ast.Coalesce(self.sp(meta), c[0], c[1])

    def or_fail(self, meta, c):
        return ast.OrFail(self.sp(meta), c[0], c[1])

    def _bin(op):
        def method(self, meta, c):
            return ast.Binary(self.sp(meta), op, c[0], c[1])

        return method

    or_op = _bin("or")
    and_op = _bin("and")
    eq = _bin("==")
    ne = _bin("!=")
    lt = _bin("<")
    le = _bin("<=")
    gt = _bin(">")
    ge = _bin(">=")
    in_op = _bin("in")
    add = _bin("+")
    sub = _bin("-")
    mul = _bin("*")
    div = _bin("/")
    floordiv = _bin("//")
    mod = _bin("%")

    def not_in_op(self, meta, c):
        return ast.Binary(self.sp(meta), "not in", c[0], c[2])

    def not_op(self, meta, c):
        return ast.Unary(self.sp(meta), "not", c[0])

    def neg(self, meta, c):
        return ast.Unary(self.sp(meta), "-", c[0])

    def is_op(self, meta, c):
        name, span = c[1]
        return ast.Is(self.sp(meta), c[0], name, span, False)

    def is_not_op(self, meta, c):
        name, span = c[2]
        return ast.Is(self.sp(meta), c[0], name, span, True)

    def variant_ref(self, meta, c):
        tok = c[0]
        name = self.text(tok) if tok.type == "STRING" else str(tok)
        return (name, self.tsp(tok))

    def attribute(self, meta, c):
        return ast.Attribute(self.sp(meta), c[0], str(c[1]), self.tsp(c[1]))

    def index(self, meta, c):
        return ast.Index(self.sp(meta), c[0], c[1])

    def slice(self, meta, c):
        return ast.Slice(self.sp(meta), c[0], c[1], c[2])

    def call(self, meta, c):
        return ast.Call(self.sp(meta), c[0], c[1])

    def call_args(self, meta, c):
        args = []
        for a in c:
            if a is None:
                continue
            args.append(a if isinstance(a, ast.Arg) else ast.Arg(a.span, None, a))
        return tuple(args)

    def named_arg(self, meta, c):
        return ast.Arg(self.sp(meta), str(c[0]), c[1])

    def number(self, tok: Token, kind: type):
        if len(tok) > MAX_NUMBER_CHARS:
            raise SyntaxProblem(f"number literal is too long ({len(tok):,} characters; the limit is {MAX_NUMBER_CHARS})", self.tsp(tok), "E213")
        value = kind(tok)
        if kind is float and not math.isfinite(value):
            raise SyntaxProblem("number literal is too large", self.tsp(tok), "E214")
        return value

    def int_lit(self, meta, c):
        return ast.Literal(self.sp(meta), "int", self.number(c[0], int))

    def neg_int_lit(self, meta, c):
        return ast.Literal(self.sp(meta), "int", -self.number(c[0], int))

    def float_lit(self, meta, c):
        return ast.Literal(self.sp(meta), "float", self.number(c[0], float))

    def neg_float_lit(self, meta, c):
        return ast.Literal(self.sp(meta), "float", -self.number(c[0], float))

    def string_lit(self, meta, c):
        return self.interpolate(c[0])

    def date_lit(self, meta, c):
        return ast.Literal(self.sp(meta), "date", str(c[0]))

    def datetime_lit(self, meta, c):
        return ast.Literal(self.sp(meta), "datetime", str(c[0]))

    def true_lit(self, meta, c):
        return ast.Literal(self.sp(meta), "bool", True)

    def false_lit(self, meta, c):
        return ast.Literal(self.sp(meta), "bool", False)

    def none_lit(self, meta, c):
        return ast.Literal(self.sp(meta), "none", None)

    def name(self, meta, c):
        return ast.Name(self.sp(meta), str(c[0]))

    def list_lit(self, meta, c):
        return ast.ListLit(self.sp(meta), tuple(x for x in c if x is not None))

    def comprehension(self, meta, c):
        elem, var, it, cond = c
        return ast.Comprehension(self.sp(meta), elem, str(var), it, cond)

    def map_lit(self, meta, c):
        return ast.MapLit(self.sp(meta), tuple(x for x in c if x is not None))

    def map_entry(self, meta, c):
        return (c[0], c[1])

    def quantified(self, meta, c):
        kind, var, it, body = c
        return ast.Quantified(self.sp(meta), kind, str(var), it, body)

    def any_q(self, meta, c):
        return "any"

    def all_q(self, meta, c):
        return "all"

    def count_q(self, meta, c):
        return "count"

    def find_q(self, meta, c):
        return "find"

    def sum_q(self, meta, c):
        return "sum"

    # ------------------------------------------------------------ strings
    def interpolate(self, tok: Token) -> ast.Expr:
        """Split a string literal into text and `{expr}` holes (escape braces as \\{ \\})."""
        span = self.tsp(tok)
        check_length(self.file, tok)
        body, line, col = string_body(tok)
        triple = str(tok).startswith('"""')
        parts: list = []
        buf: list[str] = []
        i = 0
        while i < len(body):
            ch = body[i]
            if ch == "\\" and i + 1 < len(body):
                buf.append(body[i : i + 2])
                i += 2
                continue
            if ch == "}":
                raise SyntaxProblem("unmatched '}' in string (write \\} for a brace)", span, "E005")
            if ch == "{":
                end = body.find("}", i)
                if end < 0:
                    raise SyntaxProblem("unclosed '{' in string (write \\{ for a brace)", span, "E006")
                if buf:
                    parts.append(unescape("".join(buf), span))
                    buf = []
                hole = body[i + 1 : end]
                before = body[: i + 1]
                hole_line = line + before.count("\n")
                hole_col = (len(before) - before.rfind("\n")) if "\n" in before else col + i + 1
                self.padding += hole_line + hole_col
                if self.padding > MAX_HOLE_PADDING:
                    raise SyntaxProblem("too many {holes} in the strings of one file", span, "E213")
                parts.append(parse_hole(self.file, hole, hole_line, hole_col, self.source))
                i = end + 1
                continue
            buf.append(ch)
            i += 1
        if buf:
            parts.append(unescape("".join(buf), span))
        if triple:
            parts = [textwrap.dedent(p).strip("\n") if isinstance(p, str) and len(parts) == 1 else p for p in parts]
        if all(isinstance(p, str) for p in parts):
            return ast.Literal(span, "str", "".join(parts))
        return ast.Interpolation(span, tuple(parts))


def visit_problem(file: str, e: VisitError) -> Exception:
    """What a failure inside the AST transformer means for the writer of the source."""
    if isinstance(e.orig_exc, SyntaxProblem):
        return e.orig_exc
    if isinstance(e.orig_exc, RecursionError):
        meta = getattr(e.obj, "meta", None)
        return SyntaxProblem("expression is nested too deeply", span_of(file, meta) if meta else Span(file, 1, 1, 1, 2), "E202")
    return e


def parse_hole(file: str, text: str, line: int, col: int, source: str) -> ast.Expr:
    if not text.strip():
        raise SyntaxProblem("empty '{}' in string (write \\{ for a brace)", Span(file, line, col, line, col + 1), "E007")
    padded = "\n" * (line - 1) + " " * (col - 1) + text
    try:
        tree = lark_parser().parse(padded, start="expr")
        return ToAst(file, source).transform(tree)
    except UnexpectedInput as e:
        raise SyntaxProblem(f"in string interpolation: {describe(e)}", Span(file, line, col, line, col + len(text)), "E008")
    except VisitError as e:
        raise visit_problem(file, e) from None


def chunks(source: str) -> list[tuple[int, str]]:
    """Split at lines that start a top-level declaration in column 1: (first line, text)."""
    lines = source.split("\n")
    starts = [i for i, line in enumerate(lines) if top_level().match(line)]
    if not starts or starts[0] != 0:
        starts = [0] + starts
    out = []
    for a, b in zip(starts, starts[1:] + [len(lines)]):
        out.append((a + 1, "\n".join(lines[a:b])))
    return out


def parse_text(file: str, source: str) -> ast.Module:
    """Parse a whole file; on errors, re-parse declaration by declaration to report them all."""
    try:
        return _parse_one(file, source, source)
    except SyntaxProblem as first:
        diagnostics = []
        decls = []
        pieces = chunks(source)
        if len(pieces) > MAX_REPARSE_DECLS or sum(line + len(text) for line, text in pieces) > MAX_REPARSE_CHARS:
            raise CompileError([Diagnostic("error", first.message, first.span, code=first.code)]) from None
        for i, (line, text) in enumerate(pieces):
            try:
                module = _parse_one(file, "\n" * (line - 1) + text, source)
                decls.extend(module.decls)
            except SyntaxProblem as p:
                message = p.message
                if message.startswith("unexpected end of file") and i + 1 < len(pieces):
                    next_line = pieces[i + 1][0]
                    message = message.replace("end of file", f"end of this declaration (the next one starts on line {next_line})", 1)
                diagnostics.append(Diagnostic("error", message, p.span, code=p.code))
        if not diagnostics:
            diagnostics.append(Diagnostic("error", first.message, first.span, code=first.code))
        raise CompileError(diagnostics)


def _parse_one(file: str, text: str, source: str) -> ast.Module:
    try:
        tree = lark_parser().parse(text, start="start")
    except UnexpectedInput as e:
        raise SyntaxProblem(describe(e), problem_span(file, e, text), syntax_code(e))
    try:
        return ToAst(file, source).transform(tree)
    except VisitError as e:
        raise visit_problem(file, e) from None
    except RecursionError:
        raise SyntaxProblem("expression is nested too deeply", Span(file, 1, 1, 1, 2), "E202")


def parse_file(path: str | Path, display: str | None = None) -> tuple[ast.Module, str]:
    path = Path(path)
    source = path.read_text(encoding="utf-8")
    return parse_text(display or str(path), source), source

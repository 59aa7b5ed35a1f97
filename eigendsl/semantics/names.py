"""Pass 1, names: collect the domain, type, function and tool declarations; report duplicates."""

from __future__ import annotations

from ..builtins import BUILTINS
from ..syntax import ast
from ..syntax.spans import Span
from .context import KNOWN_SETTINGS, Context
from ..types import PRIMITIVES


class NamesPass(Context):
    """Establishes `domain_decl`, `type_decls`, `fn_decls`, `tool_decls` and `now` for later passes."""

    def collect(self, decls: list[ast.Decl]) -> None:
        seen_types: dict[str, Span] = {}
        seen_fns: dict[str, Span] = {}
        for d in decls:
            if isinstance(d, ast.DomainDecl):
                if self.domain_decl is not None:
                    self.sink.error("a file declares one domain", d.span, ("the domain is declared here", self.domain_decl.span), code="E010")
                    continue
                self.domain_decl = d
                self.check_settings(d)
            elif isinstance(d, (ast.EnumDecl, ast.RecordDecl, ast.UnionDecl)):
                if d.name in PRIMITIVES or d.name in ("list", "map"):
                    self.sink.error(f"'{d.name}' is a built-in type name", d.span, code="E011")
                elif d.name in seen_types:
                    self.sink.error(f"type '{d.name}' is declared twice", d.span, ("first declared here", seen_types[d.name]), code="E012")
                else:
                    seen_types[d.name] = d.span
                    self.type_decls[d.name] = d
            elif isinstance(d, ast.FnDecl):
                if d.name in seen_fns or d.name in BUILTINS:
                    where = seen_fns.get(d.name)
                    self.sink.error(
                        f"function '{d.name}' is declared twice" if where else f"'{d.name}' is a built-in function",
                        d.span, *([("first declared here", where)] if where else []), code="E013" if where else "E043"
                    )
                else:
                    seen_fns[d.name] = d.span
                    self.fn_decls[d.name] = d
            elif isinstance(d, ast.ToolDecl):
                key = (d.actor, d.name)
                if key in self.tool_decls:
                    self.sink.error(f"{d.actor} tool '{d.name}' is declared twice", d.span, ("first declared here", self.tool_decls[key].span), code="E014")
                else:
                    self.tool_decls[key] = d

    def check_settings(self, d: ast.DomainDecl) -> None:
        seen = {}
        for s in d.settings:
            if s.name not in KNOWN_SETTINGS:
                self.sink.error(f"unknown domain setting '{s.name}' (known: {', '.join(sorted(KNOWN_SETTINGS))})", s.span, code="E015")
            elif s.name in seen:
                self.sink.error(f"domain setting '{s.name}' is given twice", s.span, code="E016")
            seen[s.name] = s
        now = seen.get("now")
        if now is not None:
            if now.value.kind != "datetime":
                self.sink.error("`now` must be a datetime such as 2024-05-15T15:00:00", now.value.span, code="E017")
            else:
                self.now = now.value.value
        for key in ("data", "user_data", "words", "intro", "transfer_tool", "transfer_message"):
            if key in seen and seen[key].value.kind != "str":
                self.sink.error(f"`{key}` must be a string", seen[key].value.span, code="E018")
        rule = seen.get("arguments")
        if rule is not None and rule.value.value not in ("lax", "strict"):
            self.sink.error('`arguments` must be "lax" (the benchmark\'s coercion) or "strict"', rule.value.span, code="E044")
        confirm = seen.get("confirm")  # the conversation protocol (episode/protocol.py)
        if confirm is not None and (confirm.value.kind != "str" or confirm.value.value not in ("writes", "none")):
            self.sink.error('`confirm` must be "writes" (every agent write follows a listed action and the user\'s yes) '
                            'or "none"', confirm.value.span, code="E056")
        per_turn = seen.get("calls_per_turn")
        if per_turn is not None and (per_turn.value.kind != "int" or per_turn.value.value < 1):
            self.sink.error("`calls_per_turn` must be a whole number of at least 1 (tool calls in one agent message)",
                            per_turn.value.span, code="E056")

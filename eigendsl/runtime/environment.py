"""Compiled domains and their environments: validated, transactional tool calls with a trace.

    domain = CompiledDomain.load("compiled/airline")     # once per process
    env = domain.environment()                           # O(1), shares the domain's base state
    result = env.call("get_user_details", {"user_id": "mia_li_3668"})
    env.diff()                                           # rows changed, O(rows changed)
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .. import ir
from ..backends.policy_doc import render_policy
from ..backends.schemas import tool_schemas
from ..compilation import Compilation, Schema, read_json, validate_state
from ..digest import json_sha256
from ..errors import ToolFailure
from ..types import OptionalType
from ..syntax.diagnostics import CompileError, DiagnosticSink
from ..syntax.spans import Span
from ..values import InvalidValue, Validators
from ..words import EMPTY as EMPTY_WORDS, Words
from .folder_check import FolderError, check_folder, folder_words
from .evaluation import Context
from .interpreter import Program
from .store import MISSING, Base, Layer, State, TableView  # noqa: F401 (MISSING, TableView: the views checkers inspect)

MAX_STRING = 10_000  # longest string an agent may pass in one argument
INTERNAL_ERRORS = (KeyError, TypeError, IndexError, ValueError, AttributeError, ArithmeticError, RecursionError)


MEMO_LIMIT = 100_000  # base results a domain keeps before it starts afresh


class DomainLoadError(Exception):
    """A compiled folder or a data file that cannot be used; the message says why."""


class DataFileError(CompileError, DomainLoadError):
    """A --db / --user-db file that does not fit the domain: its diagnostics, printed as the compiler's are."""


@dataclass(frozen=True)
class GuardVerdict:
    policy: str
    tool: str
    enforce: bool
    verdict: str  # ok | violated | error
    detail: str | None = None
    outcome: str = "refuse"  # what the guard declares follows a violation: refuse | transfer
    reason: str | None = None  # the reason it declares the agent gives, in words

    def to_json(self) -> dict:
        out = {"policy": self.policy, "verdict": self.verdict, "enforce": self.enforce}
        if self.detail:
            out["detail"] = self.detail
        if self.verdict == "violated":  # the declared outcome is what a violation calls for
            out["outcome"] = self.outcome
            if self.reason:
                out["reason"] = self.reason
        return out


@dataclass
class ToolResult:
    ok: bool
    content: Any = None  # the JSON result; shared with the state, treat as read-only
    error: str | None = None
    guards: tuple[GuardVerdict, ...] = ()

    @property
    def text(self) -> str:
        """What the caller is shown: the result as text, or `Error: message`."""
        if not self.ok:
            return f"Error: {self.error}"
        if isinstance(self.content, str):
            return self.content
        return json.dumps(self.content, ensure_ascii=False)

    @property
    def violations(self) -> list[GuardVerdict]:
        return [g for g in self.guards if g.verdict == "violated"]


@dataclass
class TraceEntry:
    actor: str
    kind: str  # tool | setup | assertion
    name: str
    arguments: Any
    ok: bool
    content: Any
    error: str | None
    guards: tuple[GuardVerdict, ...] = ()
    writes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        out = {"actor": self.actor, "kind": self.kind, "name": self.name, "arguments": self.arguments, "ok": self.ok}
        if self.ok:
            out["content"] = self.content
        else:
            out["error"] = self.error
        if self.guards:
            out["guards"] = [g.to_json() for g in self.guards]
        if self.writes:
            out["writes"] = list(self.writes)
        return out


@dataclass
class Callable_:
    """A tool, setup or assertion ready to run: compiled body, argument validators, guards."""

    fn: ir.Function
    run: Any
    validators: list
    guards: list[tuple[ir.GuardDef, Any]] = field(default_factory=list)
    # The roots a read-only tool's result follows from: while an environment has written none
    # of them, the result for given arguments is the base's, kept in the domain's memo. None:
    # not kept (the tool writes or its result depends on a task fact).
    result_deps: frozenset | None = None


class CompiledDomain:
    """A domain loaded for execution: IR compiled to closures and the shared base state."""

    def __init__(self, domain: ir.Domain, data: dict | None, user_data: dict | None, folder: Path | None = None,
                 words: Words | None = None):
        self.ir = domain
        self.words = words if words is not None else EMPTY_WORDS  # how its customers speak (eigendsl/words.py)
        self.folder = folder
        self.name = domain.name
        self.program = Program(domain)
        self.schema = Schema(domain)
        self.validators = Validators(self.schema)
        # Tool arguments follow the domain's `arguments` rule (values.py): the benchmark's lax
        # coercion, or strict types (the default).
        self.arguments_rule = domain.settings.get("arguments", "strict")
        self.argument_validators = Validators(self.schema, lax=self.arguments_rule == "lax")
        roots, kinds, sides = {}, {}, {}
        for sf in domain.state:
            source = data if sf.side == ir.Side.AGENT else user_data
            if source is None or sf.name not in source:
                raise DomainLoadError(f"no initial data for state '{sf.name}' ({sf.side} side)")
            roots[sf.name] = source[sf.name]
            kinds[sf.name] = self.program.state_kinds[sf.name]
            sides[sf.name] = sf.side
        self.base = Base(roots, kinds, sides)
        self._base_hash: dict[str, str] = {}
        self._schemas: dict[str, list[dict]] = {}
        self.callables: dict[tuple[str, str, str], Callable_] = {}
        for kind, fns in (("tool", domain.tools), ("setup", domain.setups), ("assertion", domain.assertions)):
            for f in fns:
                self.callables[(kind, f.actor, f.name)] = Callable_(
                    f, self.program.function(f), [self.argument_validators.get(p.type) for p in f.params],
                    result_deps=self.program.result_deps(f) if kind == "tool" else None,
                )
        # Read-only tools' results over the unchanged base, by (actor, tool, arguments): a
        # lookup that scans a table (a user id from an email) runs once per distinct question
        # for all the environments of this domain, however many episodes ask it.
        self.base_results: dict[tuple, tuple[bool, Any]] = {}
        for policy in domain.policies:
            for g in policy.guards:
                for actor in ("agent", "user"):
                    c = self.callables.get(("tool", actor, g.tool))
                    if c is not None:
                        c.guards.append((g, self.program.function(g.function)))
        self.const_values = {c.name: c.function.body[0].value.value for c in domain.consts}

    # ------------------------------------------------------------ loading
    @classmethod
    def load(cls, folder: str | Path, db: str | Path | None = None, user_db: str | Path | None = None) -> "CompiledDomain":
        """Load a compiled folder (compiler.load_domain also compiles an .eig file);
        `db` / `user_db` swap in other initial data (validated)."""
        folder = Path(folder)
        if not (folder / "manifest.json").is_file() and not (folder / "ir.json").is_file():
            raise DomainLoadError(f"{folder} is not a compiled domain folder (no ir.json); run `eigendsl compile` first")
        try:
            domain, data, user_data = check_folder(folder)
            words = folder_words(folder)
        except FolderError as e:
            raise DomainLoadError(str(e)) from None
        sides = {sf.side for sf in domain.state}
        if db is not None and "agent" in sides:
            data = cls._data(domain, "agent", db)
        if user_db is not None and "user" in sides:
            user_data = cls._data(domain, "user", user_db)
        try:
            return cls(domain, data, user_data, folder, words)
        except INTERNAL_ERRORS as e:
            raise DomainLoadError(f"{folder} is not a usable compiled domain ({type(e).__name__}: {e}); recompile it") from None

    @staticmethod
    def _data(domain: ir.Domain, side: str, override) -> dict:
        path = Path(override)
        sink = DiagnosticSink()
        span = Span(str(path), 1, 1, 1, 1)
        data = read_json(path, span, sink)
        fields = [f for f in domain.state if f.side == side]
        validated = validate_state(domain, fields, data, span, sink, str(path)) if data is not None else None
        if validated is None:
            raise DataFileError(sink.sorted())
        return validated

    @classmethod
    def from_compilation(cls, c: Compilation) -> "CompiledDomain":
        return cls(c.domain, c.data, c.user_data, words=Words.model_validate(c.words) if c.words is not None else None)

    # ------------------------------------------------------------ environments
    def environment(self, facts: dict | None = None) -> "Environment":
        return Environment(self, facts)

    def base_hash(self, side: str) -> str:
        if side not in self._base_hash:
            state = State(self.base)
            self._base_hash[side] = state_hash(self, state, side)
        return self._base_hash[side]

    def derived_values(self, overlay: Layer) -> dict:
        """The record roots with derived fields as `overlay` on the base shows them (those that
        depend on the state alone), to seed environments that start there (State.derived)."""
        state = State(self.base, overlay)
        ctx = Context(state, {}, self.program)
        for name in self.program.derive_deps:
            try:
                self.program.derived_record(ctx, name)
            except (ToolFailure, *INTERNAL_ERRORS):  # a read computes it again, and fails there
                pass
        return state.derived

    def tool_names(self, actor: str = "agent") -> list[str]:
        return [f.name for f in self.ir.tools if f.actor == actor]

    def tool_schemas(self, actor: str = "agent") -> list[dict]:
        """OpenAI function-calling schemas of one actor's tools (computed once)."""
        if actor not in self._schemas:
            self._schemas[actor] = tool_schemas(self.ir, actor)
        return self._schemas[actor]

    @cached_property
    def policy_text(self) -> str:
        """The policy document the agent reads."""
        return render_policy(self.ir)


def state_hash(domain: CompiledDomain, state: State, side: str) -> str:
    return json_sha256(dump_side(domain, state, side))


def dump_side(domain: CompiledDomain, state: State, side: str) -> dict:
    out = {}
    ctx = Context(state, {}, domain.program)
    for name, s in domain.base.sides.items():
        if s != side:
            continue
        if domain.base.kinds[name] == "row":
            value = domain.program.derived_record(ctx, name)
        else:
            value = state.materialize(name)
        out[name] = value
    return out


class Environment:
    """One episode's world: the domain's base state plus this episode's changes."""

    __slots__ = ("domain", "state", "facts", "trace", "ctx")

    def __init__(self, domain: CompiledDomain, facts: dict | None = None):
        self.domain = domain
        self.state = State(domain.base)
        self.facts = dict(facts or {})
        self.trace: list[TraceEntry] = []
        self.ctx = Context(self.state, self.facts, domain.program)

    def reset(self) -> None:
        self.state.overlay = Layer()
        self.state.pending = None
        self.trace = []

    # ------------------------------------------------------------ calls
    def call(self, name: str, arguments: Any = None, actor: str = "agent") -> ToolResult:
        """Call a tool as `actor` (agent or user): validate, check guards, run, commit or roll back."""
        return self._invoke("tool", name, arguments, actor)

    def run_setup(self, name: str, arguments: Any = None, actor: str = "agent") -> ToolResult:
        """Run a setup function (or a tool) of `actor`'s side, as a task's initialisation does."""
        kind = "setup" if ("setup", actor, name) in self.domain.callables else "tool"
        return self._invoke(kind, name, arguments, actor)

    def run_assertion(self, name: str, arguments: Any = None, actor: str = "agent", record: bool = True) -> ToolResult:
        return self._invoke("assertion", name, arguments, actor, record)

    def evaluate(self, run, args: list | tuple = ()) -> Any:
        """Evaluate a compiled read-only function (a goal, a guard) on the current state."""
        return run(self.ctx, list(args))

    def apply(self, run) -> ToolResult:
        """Run a compiled function that writes state (a task's setup) as one transaction."""
        self.state.begin()
        try:
            value = run(self.ctx, [])
        except ToolFailure as e:
            self.state.rollback()
            return ToolResult(False, error=e.message)
        except INTERNAL_ERRORS as e:
            self.state.rollback()
            return ToolResult(False, error=f"internal error: {type(e).__name__}: {e}")
        self.state.commit()
        return ToolResult(True, value)

    def _invoke(self, kind: str, name: str, arguments: Any, actor: str, record: bool = True) -> ToolResult:
        target = self.domain.callables.get((kind, actor, name))
        if target is None:
            result = ToolResult(False, error=self._unknown(kind, name, actor))
            self._record(actor, kind, name, arguments, result, (), record)
            return result
        try:
            args = self._arguments(target, arguments)
        except InvalidValue as e:
            result = ToolResult(False, error=str(e))
            self._record(actor, kind, name, arguments, result, (), record)
            return result
        verdicts = tuple(self._guards(target, args)) if target.guards else ()
        blocked = next((v for v in verdicts if v.enforce and v.verdict == "violated"), None)
        if blocked is not None:
            result = ToolResult(False, error=f"Not allowed by policy '{blocked.policy}'.", guards=verdicts)
            self._record(actor, kind, name, arguments, result, (), record)
            return result
        state = self.state
        deps = target.result_deps
        if deps is not None and state.untouched(deps):
            return self._base_result(target, kind, name, arguments, actor, args, verdicts, record)
        state.begin()
        try:
            value = target.run(self.ctx, args)
        except ToolFailure as e:
            state.rollback()
            result = ToolResult(False, error=e.message, guards=verdicts)
            self._record(actor, kind, name, arguments, result, (), record)
            return result
        except INTERNAL_ERRORS as e:
            state.rollback()
            result = ToolResult(False, error=f"internal error in {kind} {name}: {type(e).__name__}: {e}", guards=verdicts)
            self._record(actor, kind, name, arguments, result, (), record)
            return result
        layer = state.commit()
        writes = tuple(f"{table}[{key}]" for table, rows in layer.rows.items() for key in rows)
        result = ToolResult(True, value, guards=verdicts)
        self._record(actor, kind, name, arguments, result, writes, record)
        return result

    def _base_result(self, target: Callable_, kind: str, name: str, arguments: Any, actor: str, args: list,
                     verdicts: tuple, record: bool) -> ToolResult:
        """A read-only tool's result on the base state, computed once per distinct arguments
        (`repr` tells 1, 1.0 and True apart, so equal keys mean equal arguments)."""
        memo = self.domain.base_results
        key = (actor, name, repr(args))
        known = memo.get(key)
        if known is None:
            try:
                known = (True, target.run(self.ctx, args))
            except ToolFailure as e:
                known = (False, e.message)
            except INTERNAL_ERRORS as e:
                result = ToolResult(False, error=f"internal error in {kind} {name}: {type(e).__name__}: {e}", guards=verdicts)
                self._record(actor, kind, name, arguments, result, (), record)
                return result
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            memo[key] = known
        ok, value = known
        result = ToolResult(True, value, guards=verdicts) if ok else ToolResult(False, error=value, guards=verdicts)
        self._record(actor, kind, name, arguments, result, (), record)
        return result

    def _unknown(self, kind: str, name: str, actor: str) -> str:
        names = [n for (k, a, n) in self.domain.callables if k == kind and a == actor]
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"Unknown {kind} '{name}' for the {actor}.{hint}"

    def _arguments(self, target: Callable_, arguments: Any) -> list:
        if arguments is None:
            arguments = {}
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as e:
                raise InvalidValue("", f"arguments are not valid JSON: {e}") from None
        if not isinstance(arguments, dict):
            raise InvalidValue("", "arguments must be a JSON object of parameter names to values")
        params = target.fn.params
        known = {p.name for p in params}
        unknown = [k for k in arguments if k not in known]
        if unknown:
            takes = ", ".join(p.name for p in params) or "no arguments"
            raise InvalidValue("", f"unknown argument '{unknown[0]}' for {target.fn.name} (it takes: {takes})")
        out = []
        for p, validate in zip(params, target.validators):
            if p.name in arguments:
                value = arguments[p.name]
                _check_lengths(value, p.name)
                out.append(validate(value, f"argument '{p.name}'"))
            elif p.has_default:
                out.append(p.default)
            elif isinstance(p.type, OptionalType):
                out.append(None)
            else:
                raise InvalidValue("", f"missing required argument '{p.name}' for {target.fn.name}")
        return out

    def _guards(self, target: Callable_, args: list):
        for g, run in target.guards:
            try:
                verdict = "ok" if run(self.ctx, list(args)) else "violated"
                detail = None
            except ToolFailure as e:
                verdict, detail = "error", e.message
            except INTERNAL_ERRORS as e:
                verdict, detail = "error", f"{type(e).__name__}: {e}"
            yield GuardVerdict(g.policy, g.tool, g.enforce, verdict, detail, g.outcome.value, g.reason)

    def _record(self, actor, kind, name, arguments, result: ToolResult, writes, record: bool = True) -> None:
        if not record:
            return
        self.trace.append(TraceEntry(actor, kind, name, arguments, result.ok, result.content, result.error, result.guards, writes))

    # ------------------------------------------------------------ state
    def checkpoint(self) -> Layer:
        """A cheap snapshot of this environment's changes, for diff(since=...)."""
        return self.state.overlay.copy()

    def diff(self, since: Layer | None = None, side: str = "agent") -> dict[str, dict]:
        """Per table, the rows that differ from the initial data (or a checkpoint); removed rows are None."""
        out = {}
        for name, s in self.domain.base.sides.items():
            if s != side:
                continue
            if self.domain.base.kinds[name] == "row":
                if self.state.record_changed(name, since):
                    out[name] = self.state.record(name)
                continue
            changes = self.state.diff(name, since)
            if changes:
                out[name] = changes
        return out

    def dump(self, side: str = "agent") -> dict:
        """The whole state of one side as JSON (derived fields computed); O(size of the state)."""
        return dump_side(self.domain, self.state, side)

    def state_hash(self, side: str = "agent") -> str:
        """sha256 of the side's JSON dump with sorted keys (tau2-bench's db hash)."""
        if not self.state.overlay:
            return self.domain.base_hash(side)
        return state_hash(self.domain, self.state, side)

    def read(self, root: str) -> Any:
        """Read one state root (a table as a dict/list, or a record), e.g. for tests and goals."""
        return self.state.materialize(root)


def _check_lengths(value: Any, name: str, depth: int = 0) -> None:
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise InvalidValue(f"argument '{name}'", f"text is too long ({len(value)} characters; the limit is {MAX_STRING})")
    elif depth > 20:
        raise InvalidValue(f"argument '{name}'", "value is nested too deeply")
    elif isinstance(value, list):
        for v in value:
            _check_lengths(v, name, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            _check_lengths(v, name, depth + 1)


"""Checks a compiled folder before it runs: manifest, file hashes, IR shape and names, tools, data.

A compiled folder is data that may come from elsewhere, so nothing in it is trusted:

- `manifest.json` is validated (pydantic) and every file it lists must be there with the
  sha256 it records, which catches corruption, truncation and casual edits;
- `ir.json` must have the shape of the IR's own dataclasses (the schema is their JSON form,
  `ir.FORMS`, read from their annotations, so it cannot drift from the IR), name only declared
  types, state, functions and built-ins, and use only the operators and modes the IR's enums
  name;
- `tools.json` must be a list of function-calling schemas;
- `db.json` / `user_db.json` must fit the state's types. A hash can be recomputed by whoever
  edits a file, so the IR and data checks are what make a hostile folder harmless.

Every failure is one `FolderError` whose message names the folder, the file and the place.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .. import ir
from ..ir import json_form
from ..ir.json_form import Form
from ..builtins import BUILTINS
from ..types import (
    AnyElem, EnumType, ListType, MapType, OptionalType, Prim, RecordType, Type, TypeFold, UnionType, named_types, parse_type,
)
from ..compilation import validate_state
from ..syntax.diagnostics import DiagnosticSink
from ..syntax.spans import Span
from ..values import _DATE, _DATETIME

FORMAT = 2
Sha256 = typing.Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
MAX_IR_BYTES = 64_000_000


class FolderError(Exception):
    """A compiled folder that is corrupt, tampered with or from another format; the message says where."""


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: int
    domain: str
    title: str
    compiler_version: str
    sources: dict[str, Sha256]
    data: dict[Literal["agent", "user"], Sha256]
    counts: dict[str, Any]
    files: list[str]
    sha256: dict[str, Sha256]


class ToolFunction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    parameters: dict[str, Any]


class ToolSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["function"]
    function: ToolFunction


TOOLS = TypeAdapter(list[ToolSchema])


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]


def read_manifest(folder: Path) -> Manifest:
    path = folder / "manifest.json"
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise FolderError(f"{folder} has no manifest.json; recompile it with `eigendsl compile`") from None
    except (OSError, ValueError, RecursionError) as e:
        raise FolderError(f"{path} cannot be read as JSON ({type(e).__name__}); recompile the folder") from None
    if isinstance(raw, dict) and raw.get("format") != FORMAT:
        raise FolderError(f"{path} is format {raw.get('format')!r}, this eigendsl reads format {FORMAT}; recompile the folder")
    try:
        return Manifest.model_validate(raw)
    except ValidationError as e:
        raise FolderError(f"{path} is not a valid manifest: {first_error(e)}") from None


def read_files(folder: Path, manifest: Manifest) -> dict[str, bytes]:
    """The bytes of every file the manifest lists, each checked against its sha256."""
    out = {}
    for name in manifest.files:
        if name not in manifest.sha256 or "/" in name or "\\" in name or name.startswith("."):
            raise FolderError(f"{folder}/manifest.json lists {name!r} without a hash or with a path; recompile the folder")
        path = folder / name
        try:
            if not path.is_file():
                raise FolderError(f"{folder} is missing {name}, which its manifest lists; recompile the folder")
            if path.stat().st_size > MAX_IR_BYTES * 16:
                raise FolderError(f"{path} is too large to load")
            data = path.read_bytes()
        except OSError as e:
            raise FolderError(f"cannot read {path}: {e.strerror}") from None
        if sha256_bytes(data) != manifest.sha256[name]:
            raise FolderError(f"{path} was changed after compiling (its sha256 differs from the manifest's); recompile the folder")
        out[name] = data
    for name in ("ir.json", "tools.json"):
        if name not in out:
            raise FolderError(f"{folder}/manifest.json does not list {name}; recompile the folder")
    return out


def parse_json(folder: Path, name: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:
        raise FolderError(f"{folder}/{name} is not valid JSON ({type(e).__name__}); recompile the folder") from None


def check_tools(folder: Path, name: str, data: bytes) -> None:
    try:
        TOOLS.validate_python(parse_json(folder, name, data))
    except ValidationError as e:
        raise FolderError(f"{folder}/{name} is not a list of tool schemas: {first_error(e)}") from None


# ---------------------------------------------------------------- the IR's shape, from its JSON form


class Bad(Exception):
    def __init__(self, path: tuple, message: str):
        self.path = path
        self.message = message


def where(path: tuple) -> str:
    """A readable location from the (parent, key) chain built while walking."""
    keys = []
    while path:
        path, key = path
        keys.append(key)
    out = ""
    for key in reversed(keys):
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out or "top level"


Check = Callable[[Any, tuple, "Names"], None]


@dataclasses.dataclass
class Names:
    """What a valid IR may refer to, read from the IR's own declarations first."""

    kinds: dict[str, str]
    state: set[str]
    facts: set[str]
    functions: set[str]
    variants: dict[str, set[str]]
    checked_types: set[str] = dataclasses.field(default_factory=set)  # type texts already found good


REFERRING = {"CallBuiltin", "CallFn", "StateRoot", "Place", "Fact", "Construct", "Local", "Let", "For", "Comprehension", "Quantified"}


def references(cls_name: str, obj: dict, path: tuple, names: Names) -> None:
    """Names a node uses must be declared (or built in)."""
    if cls_name not in REFERRING:
        return
    if cls_name == "CallBuiltin" and obj["name"] not in BUILTINS:
        raise Bad((path, "name"), f"unknown built-in {obj['name']!r}")
    if cls_name == "CallFn" and obj["name"] not in names.functions:
        raise Bad((path, "name"), f"unknown function {obj['name']!r}")
    if cls_name == "StateRoot" and obj["name"] not in names.state:
        raise Bad((path, "name"), f"unknown state {obj['name']!r}")
    if cls_name == "Place" and obj["root"] == "state" and obj["name"] not in names.state:
        raise Bad((path, "name"), f"unknown state {obj['name']!r}")
    if cls_name == "Fact" and obj["name"] not in names.facts:
        raise Bad((path, "name"), f"unknown fact {obj['name']!r}")
    if cls_name == "Construct":
        kind = names.kinds.get(obj["record"])
        if kind not in ("record", "union"):
            raise Bad((path, "record"), f"unknown record {obj['record']!r}")
        if (kind == "union") != (obj["variant"] is not None) or (
                kind == "union" and obj["variant"] not in names.variants[obj["record"]]):
            raise Bad((path, "variant"), f"unknown variant {obj['variant']!r} of {obj['record']}")
    if isinstance(obj.get("slot"), int) and obj["slot"] < 0:
        raise Bad((path, "slot"), "negative slot")


def check_type(value: Any, path: tuple, names: Names) -> None:
    if not isinstance(value, dict) or set(value) != {"@t"} or not isinstance(value["@t"], str):
        raise Bad(path, 'expected a type {"@t": "..."}')
    text = value["@t"]
    if text in names.checked_types:
        return
    try:
        t = parse_type(text, names.kinds)
    except (IndexError, ValueError):
        raise Bad(path, f"unreadable type {text!r}") from None
    if str(t) != text and "<empty>" not in text:
        raise Bad(path, f"unreadable type {text!r}")
    for named in named_types(t):
        kind = {EnumType: "enum", RecordType: "record", UnionType: "union"}[type(named)]
        if names.kinds.get(named.name) != kind:
            raise Bad(path, f"unknown type {named.name!r}")
        if isinstance(named, UnionType) and named.variants and not set(named.variants) <= names.variants[named.name]:
            raise Bad(path, f"unknown variant in type {text!r}")
    names.checked_types.add(text)


def check_span(value: Any, path: tuple, names: Names) -> None:
    if not (isinstance(value, list) and len(value) == 4 and all(type(x) is int for x in value)):
        raise Bad(path, "expected a span [line, col, end_line, end_col]")


def check_json_value(value: Any, path: tuple, names: Names) -> None:
    """A raw JSON payload (data, arguments, texts): anything JSON can say."""


_CHECK_CACHE: dict[Form, Check] = {}


def checker(form: Form, field: str) -> Check:
    """The check for one field of an IR node, from its JSON form (built once per form)."""
    key = (form, field)
    if key in _CHECK_CACHE:
        return _CHECK_CACHE[key]
    match form:
        case json_form.Scalar(kind=kind):
            what = {int: "an integer", str: "a string", bool: "a boolean"}[kind]

            def result(value, path, names):
                if type(value) is not kind:
                    raise Bad(path, f"expected {what}")
        case json_form.TypeText():
            result = check_type
        case json_form.SpanList():
            result = check_span
        case json_form.Payload():
            result = check_json_value
        case json_form.Member(enum=enum):
            known = frozenset(enum)

            def result(value, path, names):  # a selector the runtime does not know
                if not isinstance(value, str) or value not in known:
                    raise Bad(path, f"unknown {field} {value!r}")
        case json_form.Own(cls=cls):
            def result(value, path, names):
                try:
                    cls.from_json(value)
                except ValueError as e:
                    raise Bad(path, str(e)) from None
        case json_form.Node(bases=bases):
            result = node_checker(bases)
        case json_form.Maybe(inner=inner):
            sub = checker(inner, field)

            def result(value, path, names):
                if value is not None:
                    sub(value, path, names)
        case json_form.TextOrNode(node=node):
            sub = checker(node, field)

            def result(value, path, names):
                if not isinstance(value, str):
                    sub(value, path, names)
        case json_form.Sequence(item=item):
            sub = checker(item, field)

            def result(value, path, names):
                if not isinstance(value, list):
                    raise Bad(path, "expected a list")
                for i, x in enumerate(value):
                    sub(x, (path, i), names)
        case json_form.Fixed(items=items):
            subs = [checker(a, field) for a in items]

            def result(value, path, names):
                if not isinstance(value, list) or len(value) != len(subs):
                    raise Bad(path, f"expected a list of {len(subs)}")
                for i, (x, c) in enumerate(zip(value, subs)):
                    c(x, (path, i), names)
    _CHECK_CACHE[key] = result
    return result


def node_checker(bases: tuple[type, ...]) -> Check:
    """A node of one of `bases` or of a subclass, as `{"@": Class, field: ...}`."""
    allowed = {name for name, cls in ir.CLASSES.items() if issubclass(cls, bases)}
    expected = " or ".join(b.__name__ for b in bases)

    def check(value, path, names):
        if not isinstance(value, dict):
            raise Bad(path, f"expected {expected}")
        name = value.get("@")
        if name not in allowed:
            raise Bad(path, f"expected {expected}, got {name!r}")
        required, fields = FIELDS[name]
        for key in value:
            if key not in fields and key != "@":
                raise Bad((path, key), f"unknown field of {name}")
        for f in required:
            if f not in value:
                raise Bad(path, f"{name} lacks {f}")
        for key, sub in fields.items():
            if key in value:
                sub(value[key], (path, key), names)
        references(name, value, path, names)

    return check


FIELDS: dict[str, tuple[tuple[str, ...], dict[str, Check]]] = {
    name: (tuple(f.name for f in forms if f.required), {f.name: checker(f.form, f.name) for f in forms})
    for name, forms in ir.FORMS.items()
}
CHECK_DOMAIN = node_checker((ir.Domain,))


def declared_names(data: Any) -> Names:
    """The declarations a valid IR's body may refer to (checked for shape first)."""
    if not isinstance(data, dict) or data.get("@") != "Domain":
        raise Bad((), "expected a Domain")
    lists = {}
    for key in ("enums", "records", "unions", "state", "facts", "functions"):
        items = data.get(key)
        if not isinstance(items, list) or not all(isinstance(x, dict) and isinstance(x.get("name"), str) for x in items):
            raise Bad(((), key), "expected a list of named declarations")
        lists[key] = items
    kinds = {d["name"]: "enum" for d in lists["enums"]}
    kinds.update({d["name"]: "union" for d in lists["unions"]})
    kinds.update({d["name"]: "record" for d in lists["records"]})
    variants = {}
    for u in lists["unions"]:
        vs = u.get("variants")
        if not isinstance(vs, list) or not all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in vs):
            raise Bad(((), "unions"), f"union {u['name']} has no list of variants")
        variants[u["name"]] = {v["name"] for v in vs}
    return Names(kinds, {s["name"] for s in lists["state"]}, {f["name"] for f in lists["facts"]},
                 {f["name"] for f in lists["functions"]}, variants)


def check_ir(folder: Path, data: bytes) -> ir.Domain:
    """`ir.json` checked against the IR's dataclasses and its own declarations, then decoded."""
    if len(data) > MAX_IR_BYTES:
        raise FolderError(f"{folder}/ir.json is larger than {MAX_IR_BYTES:,} bytes")
    raw = parse_json(folder, "ir.json", data)
    try:
        names = declared_names(raw)
        CHECK_DOMAIN(raw, (), names)
        return ir.domain_from_json(raw)
    except Bad as e:
        raise FolderError(f"{folder}/ir.json is not a valid compiled domain at {where(e.path)}: {e.message}; recompile it") from None
    except RecursionError:
        raise FolderError(f"{folder}/ir.json is nested too deeply") from None
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise FolderError(f"{folder}/ir.json is not a valid compiled domain ({type(e).__name__}: {e}); recompile it") from None


# ---------------------------------------------------------------- data in normal form


def conforms(domain: ir.Domain) -> Callable[[Type, Any], bool]:
    """A fast test that data is exactly what validation would return (the compiled folder's form).

    No paths, no copies: a compiled db is checked in one pass. When it says no, the full
    validator runs to find and name the problem (or to normalise data that is valid)."""
    tests = _NormalForm(domain)
    return lambda t, v: tests.get(t)(v)


class _NormalForm(TypeFold[Callable[[Any], bool]]):
    """One test per type, built by cases over the type and cached."""

    def __init__(self, domain: ir.Domain):
        self.enums = {e.name: frozenset(e.values) for e in domain.enums}
        self.records = {r.name: r for r in domain.records}
        self.unions = {u.name: u for u in domain.unions}
        self.cache: dict[Type, Callable[[Any], bool]] = {}

    def get(self, t: Type) -> Callable[[Any], bool]:
        fn = self.cache.get(t)
        if fn is None:
            cache = self.cache
            cache[t] = lambda v: cache[t](v)  # recursive types resolve lazily
            fn = cache[t] = self.fold(t)
        return fn

    def fields_test(self, fields, tag):
        # Plain str/int/bool fields are one type test each; the rest go through their own test.
        simple = tuple((f.name, SIMPLE[f.type.name]) for f in fields if isinstance(f.type, Prim) and f.type.name in SIMPLE)
        other = tuple((f.name, self.get(f.type)) for f in fields if not (isinstance(f.type, Prim) and f.type.name in SIMPLE))
        n = len(fields) + (tag is not None)

        def test(v):
            if type(v) is not dict or len(v) != n:
                return False
            if tag is not None and v.get(tag[0]) != tag[1]:
                return False
            for name, kind in simple:
                if type(v.get(name)) is not kind:
                    return False
            for name, fn in other:
                if name not in v or not fn(v[name]):
                    return False
            return True

        return test

    def on_prim(self, t: Prim):
        return PRIM_TESTS[t.name]

    def on_optional(self, t: OptionalType):
        inner = self.get(t.inner)
        return lambda v: v is None or inner(v)

    def on_enum(self, t: EnumType):
        allowed = self.enums[t.name]
        return lambda v: type(v) is str and v in allowed

    def on_list(self, t: ListType):
        elem = self.get(t.elem)
        return lambda v: type(v) is list and all(map(elem, v))

    def on_empty(self, t: AnyElem):  # the element of a list or map that is always empty
        return lambda v: False

    on_error = on_empty

    def on_map(self, t: MapType):
        key, val = self.get(t.key), self.get(t.value)
        return lambda v: type(v) is dict and all(map(key, v)) and all(map(val, v.values()))

    def on_record(self, t: RecordType):
        return self.fields_test(self.records[t.name].fields, None)

    def on_union(self, t: UnionType):
        u = self.unions[t.name]
        by_tag = {v.tag: self.fields_test(v.fields, (u.tag_field, v.tag))
                  for v in u.variants if t.variants is None or v.name in t.variants}
        tag_field = u.tag_field

        def test_union(v):
            fn = by_tag.get(v.get(tag_field)) if type(v) is dict else None
            return fn is not None and fn(v)

        return test_union


def _is_datetime(v) -> bool:
    return type(v) is str and _DATETIME.match(v) is not None


def _is_date(v) -> bool:
    return type(v) is str and _DATE.match(v) is not None


SIMPLE = {"str": str, "int": int, "bool": bool}
PRIM_TESTS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: type(v) is str,
    "int": lambda v: type(v) is int,
    "float": lambda v: type(v) is float and v - v == 0,  # finite
    "bool": lambda v: type(v) is bool,
    "date": _is_date,
    "datetime": _is_datetime,
    "none": lambda v: v is None,
}


def check_data(folder: Path, domain: ir.Domain, side: str, name: str, data: bytes) -> dict:
    """The side's data, checked against the state's types (normal form fast, else full validation)."""
    value = parse_json(folder, name, data)
    fields = [f for f in domain.state if f.side == side]
    try:
        test = conforms(domain)
        if type(value) is dict and len(value) == len(fields) and all(f.name in value and test(f.type, value[f.name]) for f in fields):
            return value
    except RecursionError:
        pass
    sink = DiagnosticSink()
    try:
        validated = validate_state(domain, fields, value, Span(name, 1, 1, 1, 1), sink, name)
    except RecursionError:
        raise FolderError(f"{folder}/{name} is nested too deeply") from None
    if validated is None:
        raise FolderError(f"{folder}/{name} does not fit the domain's state: {sink.items[0].message.removeprefix(name + ': ')}")
    return validated


def folder_words(folder: Path):
    """The folder's words.json (the domain's customer words) checked against its hash and the
    words schema (eigendsl/words.py); None when the domain has none."""
    from ..words import Words

    manifest = read_manifest(folder)
    if "words.json" not in manifest.files:
        return None
    try:
        data = (folder / "words.json").read_bytes()
    except OSError as e:
        raise FolderError(f"cannot read {folder}/words.json: {e.strerror}") from None
    if sha256_bytes(data) != manifest.sha256.get("words.json"):
        raise FolderError(f"{folder}/words.json was changed after compiling (its sha256 differs from the manifest's); recompile the folder")
    try:
        return Words.model_validate(json.loads(data))
    except (ValueError, ValidationError) as e:
        raise FolderError(f"{folder}/words.json does not fit the words schema: {str(e).splitlines()[0]}") from None


def check_folder(folder: Path) -> tuple[ir.Domain, dict | None, dict | None]:
    """Everything a compiled folder holds, checked: (domain, agent data, user data)."""
    manifest = read_manifest(folder)
    files = read_files(folder, manifest)
    domain = check_ir(folder, files["ir.json"])
    check_tools(folder, "tools.json", files["tools.json"])
    if "user_tools.json" in files:
        check_tools(folder, "user_tools.json", files["user_tools.json"])
    sides = {sf.side for sf in domain.state}
    data = {}
    for side, name in (("agent", "db.json"), ("user", "user_db.json")):
        if side in sides:
            if name not in files:
                raise FolderError(f"{folder} has no {name} in its manifest, but the domain has {side}-side state")
            data[side] = files[name]
    agent = check_data(folder, domain, "agent", "db.json", data["agent"]) if "agent" in data else None
    user = check_data(folder, domain, "user", "user_db.json", data["user"]) if "user" in data else None
    return domain, agent, user

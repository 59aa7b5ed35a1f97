"""OpenAI function-calling schemas of a domain's tools, from their typed parameters."""

from __future__ import annotations

from .. import ir
from ..types import AnyElem, EnumType, ListType, MapType, OptionalType, Prim, RecordType, Type, TypeFold, UnionType
from ..values import DATETIME_PATTERN

_PRIM = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    # eig's datetimes have no time zone and may separate date and time with a space (as the
    # benchmark's data does), which JSON Schema's `date-time` format refuses: the pattern is
    # the one values.py validates with.
    "datetime": {"type": "string", "pattern": DATETIME_PATTERN},
    "none": {"type": "null"},
}


class SchemaWriter(TypeFold[dict]):
    """JSON Schemas of eig types, by cases over the type."""

    def __init__(self, domain: ir.Domain):
        self.enums = {e.name: e for e in domain.enums}
        self.records = {r.name: r for r in domain.records}
        self.unions = {u.name: u for u in domain.unions}

    def type_schema(self, t: Type, doc: str | None = None) -> dict:
        out = self.fold(t)
        if doc:
            out = {**out, "description": doc}
        return out

    def on_prim(self, t: Prim) -> dict:
        return dict(_PRIM[t.name])

    def on_optional(self, t: OptionalType) -> dict:
        return {"anyOf": [self.fold(t.inner), {"type": "null"}]}

    def on_enum(self, t: EnumType) -> dict:
        return {"type": "string", "enum": list(self.enums[t.name].values)}

    def on_list(self, t: ListType) -> dict:
        return {"type": "array", "items": self.fold(t.elem)}

    def on_map(self, t: MapType) -> dict:
        return {"type": "object", "additionalProperties": self.fold(t.value)}

    def on_record(self, t: RecordType) -> dict:
        return self.object_schema(self.records[t.name].fields)

    def on_union(self, t: UnionType) -> dict:
        u = self.unions[t.name]
        variants = [v for v in u.variants if t.variants is None or v.name in t.variants]
        options = [self.object_schema(v.fields, (u.tag_field, v.tag)) for v in variants]
        return options[0] if len(options) == 1 else {"anyOf": options}

    def on_empty(self, t: AnyElem) -> dict:  # the element of an empty list: anything
        return {}

    on_error = on_empty

    def object_schema(self, fields, tag: tuple[str, str] | None = None) -> dict:
        props, required = {}, []
        if tag is not None:
            props[tag[0]] = {"type": "string", "enum": [tag[1]]}
            required.append(tag[0])
        for f in fields:
            props[f.name] = self.type_schema(f.type, f.doc)
            if not f.has_default and not isinstance(f.type, OptionalType):
                required.append(f.name)
        return {"type": "object", "properties": props, "required": required, "additionalProperties": False}

    def tool(self, tool: ir.Function) -> dict:
        params = self.object_schema(tool.params)
        return {
            "type": "function",
            "function": {"name": tool.name, "description": tool.doc or "", "parameters": params},
        }


def tool_schemas(domain: ir.Domain, actor: str = "agent") -> list[dict]:
    writer = SchemaWriter(domain)
    return [writer.tool(t) for t in domain.tools if t.actor == actor]

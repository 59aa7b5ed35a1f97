"""OpenAI function-calling schemas of a domain's tools, from their typed parameters."""

from __future__ import annotations

from .. import ir
from ..types import (
    AnyElem, EnumType, ListType, MapType, OptionalType, Prim, RecordType, Type, UnionType,
)

_PRIM = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "none": {"type": "null"},
}


class SchemaWriter:
    def __init__(self, domain: ir.Domain):
        self.enums = {e.name: e for e in domain.enums}
        self.records = {r.name: r for r in domain.records}
        self.unions = {u.name: u for u in domain.unions}

    def type_schema(self, t: Type, doc: str | None = None) -> dict:
        out = self._schema(t)
        if doc:
            out = {**out, "description": doc}
        return out

    def _schema(self, t: Type) -> dict:
        if isinstance(t, Prim):
            return dict(_PRIM[t.name])
        if isinstance(t, OptionalType):
            return {"anyOf": [self._schema(t.inner), {"type": "null"}]}
        if isinstance(t, EnumType):
            return {"type": "string", "enum": list(self.enums[t.name].values)}
        if isinstance(t, ListType):
            return {"type": "array", "items": {} if isinstance(t.elem, AnyElem) else self._schema(t.elem)}
        if isinstance(t, MapType):
            return {"type": "object", "additionalProperties": self._schema(t.value)}
        if isinstance(t, RecordType):
            return self.object_schema(self.records[t.name].fields)
        if isinstance(t, UnionType):
            u = self.unions[t.name]
            variants = [v for v in u.variants if t.variants is None or v.name in t.variants]
            options = [self.object_schema(v.fields, (u.tag_field, v.tag)) for v in variants]
            return options[0] if len(options) == 1 else {"anyOf": options}
        return {}

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

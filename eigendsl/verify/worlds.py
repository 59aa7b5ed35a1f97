"""The worlds the Z3 encoding evaluates in: every state unknown, or an environment's state with some rows replaced."""

from __future__ import annotations

from typing import Any

from ..runtime.environment import TableView
from ..types import OptionalType


from .symvalues import OverriddenTable
class World:
    """What state roots and facts are: concrete, symbolic, or concrete with unknown parts."""

    def root(self, name: str):
        raise NotImplementedError

    def fact(self, name: str):
        raise NotImplementedError


class SymbolicWorld(World):
    def __init__(self, enc: Any, facts: dict | None = None):
        self.enc = enc
        self.roots: dict[str, Any] = {}
        self.facts_given = facts

    def root(self, name):
        if name not in self.roots:
            sf = self.enc.state_types[name]
            self.roots[name] = self.enc.fresh(sf, f"state.{name}", table=True)
        return self.roots[name]

    def fact(self, name):
        if self.facts_given is not None:
            return self.facts_given.get(name)
        key = f"fact:{name}"
        if key not in self.roots:
            self.roots[key] = self.enc.fresh(OptionalType(self.enc.fact_types[name]), f"fact.{name}")
        return self.roots[key]


class ConcreteWorld(World):
    """An environment's state; `override` replaces whole rows (possibly holding unknowns)."""

    def __init__(self, env, override: dict[tuple[str, Any], Any] | None = None):
        self.env = env
        self.override = override or {}

    def root(self, name):
        state = self.env.state
        kind = state.base.kinds[name]
        if kind == "row":
            return self.override.get((name, None), state.record(name))
        return OverriddenTable(TableView(state, name), name, self.override)

    def fact(self, name):
        return self.env.facts.get(name)

"""The domain's data as the offline writers see it: entities by id, rows and their neighbourhoods,
and helpers that flatten, collect and substitute values inside rows and arguments."""

from __future__ import annotations

from ..runtime.environment import CompiledDomain
from ..ir import Side


class World:
    """The domain's data seen as entities: which table holds a value as a key or a row id."""

    def __init__(self, domain: CompiledDomain):
        self.domain = domain
        base = domain.base
        self.maps = {n: base.roots[n] for n, k in base.kinds.items() if k == "map" and base.sides[n] == Side.AGENT}
        self.lists = {n: base.roots[n] for n, k in base.kinds.items() if k == "list" and base.sides[n] == Side.AGENT}
        self.list_ids: dict[str, tuple[str, int]] = {}
        held = set(getattr(getattr(domain, "words", None), "holds", ()))  # the ids customers hold name rows too (a line by its number)
        for n, rows in self.lists.items():
            for i, row in enumerate(rows):
                if isinstance(row, dict):
                    for f, v in row.items():
                        if isinstance(v, str) and (f.endswith("id") or f in held):
                            self.list_ids.setdefault(v, (n, i))
        self._nb: dict = {}
        self.index: dict = {}

    def entity(self, value) -> tuple[str, object] | None:
        if not isinstance(value, str):
            return None
        for n, m in self.maps.items():
            if value in m:
                return n, value
        return self.list_ids.get(value)

    def row(self, table: str, key):
        return self.maps[table][key] if table in self.maps else self.lists[table][key]

    def keys(self, table: str) -> list:
        return list(self.maps[table]) if table in self.maps else list(range(len(self.lists[table])))

    def neighbourhood(self, table: str, key) -> dict:
        """Every scalar of the row and of the rows its ids point to, by position (memoised)."""
        cached = self._nb.get((table, key))
        if cached is not None:
            return cached
        out: dict[tuple, object] = {}
        flatten(self.row(table, key), ("self",), out)
        links = [(p, v) for p, v in list(out.items()) if isinstance(v, str) and len(p) <= 5][:200]
        for p, v in links:
            found = self.entity(v)
            if found is not None and found != (table, key):
                flatten(self.row(*found), ("link",) + p, out)
        if len(self._nb) > 50000:
            self._nb.clear()
        self._nb[(table, key)] = out
        return out

    def owner_ids(self, table: str) -> list[str]:
        """The ids of a table's rows (the row's own string that names it)."""
        return [v for v in (self.row_id(table, k) for k in self.keys(table)) if v is not None]

    def owner_of(self, table: str, key) -> tuple[str, object] | None:
        """The row of another table that lists `key` among its ids (a line's customer)."""
        index_key = ("owner_of", table)
        if index_key not in self.index:
            index: dict = {}
            for other in list(self.maps) + list(self.lists):
                if other == table:
                    continue
                for k in self.keys(other):
                    row = self.row(other, k)
                    if isinstance(row, dict):
                        own = self.row_id(other, k)
                        if own is None:
                            continue
                        for v in row.values():
                            if isinstance(v, list):
                                for x in v:
                                    if isinstance(x, str):
                                        index.setdefault(x, (other, own))
            self.index[index_key] = index
        return self.index[index_key].get(self.row_id(table, key))

    def named(self, table: str, key) -> dict:
        """Scalars of a row and of the rows its ids point to, by field name (first wins); the
        row's own key under the table's singular name + _id."""
        out: dict = {}
        row = self.row(table, key)
        collect_named(row, out)
        for v in list(out.values()):
            e = self.entity(v)
            if e is not None and e != (table, key):
                collect_named(self.row(*e), out)
        if isinstance(key, str):
            out.setdefault(table[:-1] + "_id" if table.endswith("s") else table + "_id", key)
        owner = self.owner_of(table, key)
        if owner is not None:
            out.setdefault(owner[0][:-1] + "_id" if owner[0].endswith("s") else owner[0] + "_id", owner[1])
        return out

    def row_id(self, table: str, key) -> str | None:
        """The string that names a row: its key, or for a list table the row's own id field."""
        if isinstance(key, str):
            return key
        row = self.row(table, key)
        return next((v for v in row.values() if isinstance(v, str) and self.entity(v) == (table, key)), None) if isinstance(row, dict) else None


def flatten(value, path: tuple, out: dict, depth: int = 0) -> None:
    if depth > 5:
        return
    if isinstance(value, dict):
        for i, (k, v) in enumerate(value.items()):
            out.setdefault(path + (("k", i),), k)
            flatten(v, path + (i,), out, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value[:20]):
            flatten(v, path + (i,), out, depth + 1)
    elif isinstance(value, str):
        out.setdefault(path, value)


def collect_named(value, out: dict, depth: int = 0) -> None:
    if depth > 3:
        return
    if isinstance(value, list):
        for v in value[:3]:
            collect_named(v, out, depth + 1)
        return
    if not isinstance(value, dict):
        return
    for k, v in value.items():
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            out.setdefault(k, v)
        elif isinstance(v, (dict, list)):
            collect_named(v, out, depth + 1)


def substitute(value, subst: dict):
    if isinstance(value, str):
        return subst.get(value, value)
    if isinstance(value, list):
        return [substitute(v, subst) for v in value]
    if isinstance(value, dict):
        return {substitute(k, subst) if isinstance(k, str) else k: substitute(v, subst) for k, v in value.items()}
    return value


def leaves(value, kind, out: list) -> list:
    """The scalars of one kind (str, or numbers without bools) in a JSON value, in order."""
    if isinstance(value, kind) and not isinstance(value, bool):
        out.append(value)
    elif isinstance(value, list):
        for v in value:
            leaves(v, kind, out)
    elif isinstance(value, dict):
        for v in value.values():
            leaves(v, kind, out)
    return out


def strings(value, out: list) -> list:
    return leaves(value, str, out)

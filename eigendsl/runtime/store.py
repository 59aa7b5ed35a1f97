"""Copy-on-write state: one shared read-only base, a small overlay per environment.

A state root is a map table (rows by key), a list table (rows by index) or a single record.
Writes never touch the base: a tool call writes rows into a pending layer, which is merged
into the environment's overlay when the call succeeds and dropped when it fails. Values are
plain JSON trees that are never mutated in place once stored, so rows are shared freely
between the base, overlays and results.

Costs: creating or resetting an environment is O(1); reading or writing a row is O(1) plus
the path copied; the diff against the base is O(rows changed).
"""

from __future__ import annotations

from typing import Any, Iterator

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
DELETED: Any = type("Deleted", (), {"__repr__": lambda self: "DELETED"})()


class Base:
    """The initial state of every environment of a domain, shared and never written."""

    def __init__(self, roots: dict[str, Any], kinds: dict[str, str], sides: dict[str, str]):
        self.roots = roots  # name -> dict (map table) | list (list table) | dict (record)
        self.kinds = kinds  # name -> "map" | "list" | "row"
        self.sides = sides  # name -> "agent" | "user"
        # (list table, field) -> its rows by that field (State.index), for every state that has
        # not written the table; built on first use, never changed after
        self.indexes: dict[tuple[str, str], dict | None] = {}


class Layer:
    """Rows written on top of a parent: per root, key -> row (or DELETED); lists track length."""

    __slots__ = ("rows", "lengths")

    def __init__(self):
        self.rows: dict[str, dict[Any, Any]] = {}
        self.lengths: dict[str, int] = {}

    def copy(self) -> "Layer":
        other = Layer()
        other.rows = {name: dict(rows) for name, rows in self.rows.items()}
        other.lengths = dict(self.lengths)
        return other

    def merge(self, other: "Layer") -> None:
        for name, rows in other.rows.items():
            mine = self.rows.get(name)
            if mine is None:
                self.rows[name] = rows
            else:
                mine.update(rows)
        self.lengths.update(other.lengths)

    def __bool__(self) -> bool:
        return bool(self.rows) or bool(self.lengths)


ROW_KEY = "@row"  # the key under which a record root's single row is stored in a layer


class State:
    """The state one environment sees: base, then committed overlay, then the pending call."""

    __slots__ = ("base", "_overlay", "_pending_layer", "derived")

    def __init__(self, base: Base, overlay: Layer | None = None):
        self.base = base
        self._overlay = overlay if overlay is not None else Layer()
        self._pending_layer: Layer | None = None
        # Values computed from this state (a record root with its derived fields, by root
        # name), each with the roots it was computed from: a write to one of those roots, the
        # rollback of one or a swap of the overlay drops it, so it is computed once per version
        # of what it reads.
        self.derived: dict[Any, tuple[Any, frozenset]] = {}  # also ("index", table, field): State.index

    @property
    def overlay(self) -> Layer:
        return self._overlay

    @overlay.setter
    def overlay(self, layer: Layer) -> None:
        self._overlay = layer
        self.derived = {}

    @property
    def pending(self) -> Layer | None:
        return self._pending_layer

    @pending.setter
    def pending(self, layer: Layer | None) -> None:
        dropped = self._pending_layer
        if dropped and self.derived:  # dropping writes changes what the roots they touched show
            self._forget(set(dropped.rows) | set(dropped.lengths))
        self._pending_layer = layer

    def _forget(self, names) -> None:
        """Drop the derived values computed from any of the roots `names`."""
        self.derived = {k: v for k, v in self.derived.items() if v[1].isdisjoint(names)}

    # ---------------------------------------------------------------- transactions
    def begin(self) -> None:
        self.pending = Layer()

    def commit(self) -> Layer:
        done = self._pending_layer
        if done:
            self._overlay.merge(done)
        self._pending_layer = None  # what is seen stays the same: derived values stay
        return done or Layer()

    def rollback(self) -> None:
        self.pending = None

    # ---------------------------------------------------------------- reads
    def row(self, name: str, key: Any) -> Any:
        """The row under key (MISSING if none); for a list table key is the index."""
        pending = self._pending_layer
        if pending is not None:
            rows = pending.rows.get(name)
            if rows is not None and key in rows:
                value = rows[key]
                return MISSING if value is DELETED else value
        rows = self._overlay.rows.get(name)
        if rows is not None and key in rows:
            value = rows[key]
            return MISSING if value is DELETED else value
        if self.base.kinds[name] == "list":
            if isinstance(key, int) and 0 <= key < self.length(name):
                base = self.base.roots[name]
                return base[key] if key < len(base) else MISSING
            return MISSING
        return self.base.roots[name].get(key, MISSING)

    def record(self, name: str) -> Any:
        value = self.row(name, ROW_KEY) if self._written(name) else MISSING
        return self.base.roots[name] if value is MISSING else value

    def untouched(self, names) -> bool:
        """Whether every root in `names` still shows the base: no row written, no length changed."""
        pending, overlay = self._pending_layer, self._overlay
        for name in names:
            if name in overlay.rows or name in overlay.lengths:
                return False
            if pending is not None and (name in pending.rows or name in pending.lengths):
                return False
        return True

    def index(self, name: str, field: str) -> dict | None:
        """The rows of list table `name` by the value of their `field`, each value's rows in table
        order: `find(x in T: x.f == v)` is the first of index[v]. None where a row is not a record
        with that field or a value cannot be a dict key (the caller then scans). Built once per
        version of the table: on the shared base while this state has not written it, else here
        until a write to it."""
        if self.untouched((name,)):
            cache, key = self.base.indexes, (name, field)
            if key in cache:
                return cache[key]
        else:
            key = ("index", name, field)
            cached = self.derived.get(key)
            if cached is not None:
                return cached[0]
            cache = None
        index: dict | None = {}
        try:
            for _, row in self.items(name):
                index.setdefault(row[field], []).append(row)
        except (TypeError, KeyError, IndexError):
            index = None
        if cache is not None:
            cache[key] = index
        else:
            self.derived[key] = (index, frozenset((name,)))
        return index

    def _written(self, name: str) -> bool:
        if self._pending_layer is not None and name in self._pending_layer.rows:
            return True
        return name in self._overlay.rows

    def length(self, name: str) -> int:
        if self._pending_layer is not None and name in self._pending_layer.lengths:
            return self._pending_layer.lengths[name]
        if name in self._overlay.lengths:
            return self._overlay.lengths[name]
        return len(self.base.roots[name])

    def changes(self, name: str) -> dict:
        """Rows of `name` written since the base, committed and pending together."""
        out = self._overlay.rows.get(name)
        pending = self._pending_layer.rows.get(name) if self._pending_layer is not None else None
        if pending:
            out = {**out, **pending} if out else pending
        return out or {}

    def keys(self, name: str) -> Iterator[Any]:
        changed = self.changes(name)
        base = self.base.roots[name]
        if self.base.kinds[name] == "list":
            yield from range(self.length(name))
            return
        if not changed:
            yield from base
            return
        for key in base:
            if changed.get(key, None) is not DELETED:
                yield key
        for key, value in changed.items():
            if key not in base and value is not DELETED:
                yield key

    def items(self, name: str) -> Iterator[tuple[Any, Any]]:
        changed = self.changes(name)
        base = self.base.roots[name]
        if self.base.kinds[name] == "list":
            n = self.length(name)
            for i in range(n):
                value = changed.get(i, MISSING)
                yield i, base[i] if value is MISSING else value
            return
        if not changed:
            yield from base.items()
            return
        for key, value in base.items():
            new = changed.get(key, MISSING)
            if new is DELETED:
                continue
            yield key, value if new is MISSING else new
        for key, value in changed.items():
            if key not in base and value is not DELETED:
                yield key, value

    # ---------------------------------------------------------------- writes (pending layer)
    def _pending(self, name: str) -> Layer:
        """The pending layer, about to take a write to root `name`."""
        if self._pending_layer is None:
            raise RuntimeError("state written outside a transaction")
        if self.derived:
            self._forget((name,))
        return self._pending_layer

    def set_row(self, name: str, key: Any, value: Any) -> None:
        layer = self._pending(name)
        if self.base.kinds[name] == "list":
            n = self.length(name)
            if not (isinstance(key, int) and 0 <= key < n):
                raise IndexError(key)
        layer.rows.setdefault(name, {})[key] = value

    def set_record(self, name: str, value: Any) -> None:
        self._pending(name).rows.setdefault(name, {})[ROW_KEY] = value

    def delete_row(self, name: str, key: Any) -> None:
        self._pending(name).rows.setdefault(name, {})[key] = DELETED

    def append_row(self, name: str, value: Any) -> None:
        layer = self._pending(name)
        n = self.length(name)
        layer.rows.setdefault(name, {})[n] = value
        layer.lengths[name] = n + 1

    def replace_list(self, name: str, values: list) -> None:
        """Rewrite a list table wholesale (after a removal shifts indices)."""
        layer = self._pending(name)
        old = self.length(name)
        rows = layer.rows.setdefault(name, {})
        for i, v in enumerate(values):
            rows[i] = v
        for i in range(len(values), old):
            rows[i] = DELETED
        layer.lengths[name] = len(values)

    # ---------------------------------------------------------------- whole-state views
    def materialize(self, name: str) -> Any:
        kind = self.base.kinds[name]
        if kind == "row":
            return self.record(name)
        if kind == "list":
            return [v for _, v in self.items(name)]
        return dict(self.items(name))

    def diff(self, name: str, since: Layer | None = None) -> dict[str, Any]:
        """Rows of a table that differ from the base (or a checkpoint): key -> new row, or None if gone."""
        keys = set(self.changes(name))
        if since is not None:
            keys |= set(since.rows.get(name, ()))
        before = State(self.base, since if since is not None else Layer())
        out = {}
        for key in sorted(keys, key=_sort_key):
            now, old = self.row(name, key), before.row(name, key)
            if now is MISSING and old is MISSING:
                continue
            if now is MISSING:
                out[str(key)] = None
            elif old is MISSING or now != old:
                out[str(key)] = now
        return out

    def record_changed(self, name: str, since: Layer | None = None) -> bool:
        before = State(self.base, since if since is not None else Layer())
        return self.record(name) != before.record(name)


def _sort_key(key):
    return (0, key, "") if isinstance(key, int) else (1, 0, str(key))


class TableView:
    """A read-only, dict-like view of a map table or list table as the current state sees it."""

    __slots__ = ("state", "name", "kind")

    def __init__(self, state: State, name: str):
        self.state = state
        self.name = name
        self.kind = state.base.kinds[name]

    def __getitem__(self, key):
        value = self.state.row(self.name, key)
        if value is MISSING:
            raise KeyError(key)
        return value

    def get(self, key, default=None):
        value = self.state.row(self.name, key)
        return default if value is MISSING else value

    def __contains__(self, key) -> bool:
        return self.state.row(self.name, key) is not MISSING

    def __len__(self) -> int:
        if self.kind == "list":
            return self.state.length(self.name)
        return sum(1 for _ in self.state.keys(self.name))

    def __iter__(self):
        if self.kind == "list":
            return self.values()
        return iter(self.state.keys(self.name))

    def keys(self):
        return self.state.keys(self.name)

    def values(self):
        state, name = self.state, self.name
        base = state.base.roots[name]
        if not state.changes(name) and state.length(name) == len(base):
            return iter(base.values() if self.kind == "map" else base)  # unwritten: the base's rows
        return (v for _, v in state.items(name))

    def items(self):
        return self.state.items(self.name)

    def __eq__(self, other):
        return self.state.materialize(self.name) == other

    __hash__ = None

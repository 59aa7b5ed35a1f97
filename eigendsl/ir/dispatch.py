"""Dispatch tables from IR node classes to a pass's handlers, complete or refused when the pass is defined."""

from __future__ import annotations

from .json_form import CLASSES


def node_classes(base: type) -> tuple[type, ...]:
    """Every concrete IR node class under `base` (e.g. every Expr), in declaration order."""
    return tuple(cls for cls in CLASSES.values() if issubclass(cls, base))


def handlers(owner: type, prefix: str, base: type) -> dict[type, str]:
    """{node class: the name of owner's method for it, `prefix + class name`} for every concrete class under `base`.

    A pass builds its table with this once, at import, so a node class without a handler stops
    the import with its name instead of failing (or being skipped) at run time. The table holds
    names, looked up on the instance, so a subclass (or a test) can replace one handler."""
    missing = [cls.__name__ for cls in node_classes(base) if not hasattr(owner, prefix + cls.__name__)]
    if missing:
        raise TypeError(f"{owner.__name__} has no handler for {', '.join(prefix + m for m in missing)}")
    return {cls: prefix + cls.__name__ for cls in node_classes(base)}

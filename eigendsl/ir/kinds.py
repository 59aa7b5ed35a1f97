"""The IR's closed vocabularies: operators, modes and kinds as string enums.

Each is a `StrEnum`, so a member is its JSON text (`BinaryOperator.ADD == "+"`) and the
compiled folder's JSON form is the same as when these were plain strings; the JSON loader
turns the text back into members and refuses any other. A pass that dispatches on one of
these covers every member (tests/test_dispatch.py checks the runtime and the Z3 encoding).
"""

from __future__ import annotations

from enum import StrEnum


class UnaryOperator(StrEnum):
    NOT = "not"
    NEG = "neg"


class BinaryOperator(StrEnum):
    AND = "and"
    OR = "or"
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    FLOORDIV = "//"
    MOD = "%"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "in"
    NOT_IN = "not in"


COMPARISONS = frozenset({BinaryOperator.EQ, BinaryOperator.NE, BinaryOperator.LT, BinaryOperator.LE,
                         BinaryOperator.GT, BinaryOperator.GE})
ARITHMETIC = frozenset({BinaryOperator.ADD, BinaryOperator.SUB, BinaryOperator.MUL, BinaryOperator.DIV,
                        BinaryOperator.FLOORDIV, BinaryOperator.MOD})


class AssignOperator(StrEnum):
    SET = "="
    ADD = "+="
    SUB = "-="


class MutateMethod(StrEnum):
    """In-place collection updates."""

    APPEND = "append"
    EXTEND = "extend"
    INSERT = "insert"
    REMOVE = "remove"
    REMOVE_AT = "remove_at"
    CLEAR = "clear"


class Quantifier(StrEnum):
    ANY = "any"
    ALL = "all"
    COUNT = "count"
    FIND = "find"
    SUM = "sum"


class Iteration(StrEnum):
    """What a `for` loop binds: the items of a list, or the (key, value) pairs of a map."""

    LIST = "list"
    ITEMS = "items"


class Unwrap(StrEnum):
    """What `or fail` does: unwrap a map lookup, unwrap an optional, or check a bool."""

    LOOKUP = "lookup"
    OPTIONAL = "optional"
    CHECK = "check"


class StepKind(StrEnum):
    FIELD = "field"
    INDEX = "index"
    KEY = "key"


class PlaceRoot(StrEnum):
    LOCAL = "local"
    STATE = "state"


class Side(StrEnum):
    """Whose state, tools or turn: the agent's or the simulated user's (dual control)."""

    AGENT = "agent"
    USER = "user"


class Effect(StrEnum):
    """What a function may do to the state, in increasing order (`rank`)."""

    PURE = "pure"
    READS = "reads"
    WRITES = "writes"

    @property
    def rank(self) -> int:
        return _EFFECT_RANK[self]


_EFFECT_RANK = {Effect.PURE: 0, Effect.READS: 1, Effect.WRITES: 2}


class FunctionKind(StrEnum):
    FN = "fn"
    TOOL = "tool"
    SETUP = "setup"
    ASSERTION = "assertion"
    GUARD = "guard"
    DERIVE = "derive"
    CONST = "const"
    GOAL = "goal"
    TASK = "task"  # a task's literal call arguments, checked as a body but never lowered to a Function


class CallKind(StrEnum):
    """What a task's call names: a tool, a setup or an assertion."""

    TOOL = "tool"
    SETUP = "setup"
    ASSERTION = "assertion"


class RewardComponent(StrEnum):
    """A part of a task's reward (tau2-bench's reward basis); the reward is their product."""

    DB = "DB"
    GOAL = "GOAL"
    ENV_ASSERTION = "ENV_ASSERTION"
    COMMUNICATE = "COMMUNICATE"
    ACTION = "ACTION"
    POLICY = "POLICY"
    NL_ASSERTION = "NL_ASSERTION"
    REPLY = "REPLY"


class Outcome(StrEnum):
    """What follows a violated guard: the agent refuses (the default) or transfers to a human."""

    REFUSE = "refuse"
    TRANSFER = "transfer"


ENUMS = (UnaryOperator, BinaryOperator, AssignOperator, MutateMethod, Quantifier, Iteration, Unwrap, StepKind,
         PlaceRoot, Side, Effect, FunctionKind, CallKind, RewardComponent, Outcome)

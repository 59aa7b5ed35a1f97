"""The saved state of a synthesis run (state.json) as typed records, checked before a run resumes from it.

A resume cuts the output files back to the sizes the state records and goes on counting from
its counters, so a state that cannot say what it is (a field of the wrong type, a count that
is not a whole number) must stop the run with one line naming the field, before anything is
cut. Strict types: "3" is not a count and true is not an int. Fields the engine adds later
(per-round timings, coverage counters) are kept as they are.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt, ValidationError

from .plans import Plan

Count = NonNegativeInt


class Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", allow_inf_nan=False)


class Tally(Record):
    """A round's quality counts (synth/quality.py `new_tally`)."""

    scenarios: Count = 0
    tool_language: Count = 0
    foreign_ids: Count = 0
    labelled: Count = 0
    label_agrees: Count = 0
    undetermined: Count = 0
    basis: dict[str, Count] = {}
    masked: dict[str, Count] = {}
    masked_reason: dict[str, Count] = {}


class PlanCounts(Record):
    """What one plan did in one round."""

    attempted: Count = 0
    kept: Count = 0
    rejections: dict[str, Count] = {}
    quality: dict[str, Count] = {}


class RoundState(Record):
    round: PositiveInt
    attempted: Count
    kept: Count
    rejections: dict[str, Count]
    plans: dict[str, PlanCounts]
    seconds: dict[str, float]
    target: Count | None
    budget: Count | None = None
    passed: Count = 0
    rolled: Count = 0
    workflows: list[str] = []
    branches: list[str] = []
    reflection: list[dict] = []
    kinds: dict[str, Count] = {}
    quality: Tally = Tally()


class RunState(Record):
    config_hash: str
    round: PositiveInt
    batch: Count
    plans: list[Plan]
    kept: Count
    rounds: list[RoundState]
    sizes: dict[str, Count]  # output file -> the bytes the state accounts for
    signatures: list[str]
    meanings: list[str] = []  # kept tasks' meanings (render.py `meaning`): reworded copies are duplicates
    weights: dict[str, float]
    retired: list[str]
    op_weights: dict[str, float]
    quality: dict[str, float] = {}  # plan -> quality factor (synth/reflect.py `quality_weights`)
    done: bool


def problem(state) -> str | None:
    """None when `state` (state.json as read) is a whole run state; else the first wrong field and why."""
    if not isinstance(state, dict):
        return "it is not an object"
    try:
        RunState.model_validate(state)
    except ValidationError as e:
        first = e.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc']) or 'the state'}: {first['msg']}"
    return None

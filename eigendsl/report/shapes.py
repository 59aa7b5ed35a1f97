"""The shapes of what `report` reads, checked at the edge so that a damaged file is one error, not a traceback.

Only the fields the page reads are typed; everything else is kept as it is and shown when present.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class Shape(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


class Guard(Shape):
    policy: Any = None
    verdict: str = "?"
    enforce: bool = False


class ToolCall(Shape):
    name: Any = None
    arguments: Any = None


class Message(Shape):
    role: str = "?"
    content: Any = None
    tool_calls: list[ToolCall] | None = None
    guards: list[Guard] | None = None
    usage: dict[str, Any] | None = None
    side: str = "agent"

    @model_validator(mode="after")
    def text_content(self):
        if self.role != "tool" and not isinstance(self.content, (str, type(None))):
            raise ValueError(f"the content of a {self.role} message must be text")
        return self


class Episode(Shape):
    task_id: str | int
    trial: int = Field(default=0, ge=0)
    reward: float
    components: dict[str, float | None] = {}
    details: dict[str, Any] = {}
    termination: str
    steps: int | None = None
    tool_errors: int | None = None
    messages: list[Message] = []
    fidelity_flags: list[Any] = []
    tokens: dict[str, dict[str, int]] = {}


class Summary(Shape):
    trials: int | None = None
    pass_hat_k: dict[str, float | None] = {}
    episodes_expected: int | None = None
    tokens: dict[str, dict[str, int]] = {}
    policy_violations: dict[str, int] = {}
    fidelity_flags: int | None = None
    episodes_with_fidelity_flags: int | None = None


class Results(Shape):
    config: dict[str, Any] = {}
    summary: Summary = Summary()
    episodes: list[Episode]


class Quality(Shape):
    """A synth report's quality figures (eigendsl/synth/quality.py): shares of the kept tasks."""

    scenarios: int = Field(default=0, ge=0)
    tool_language: float | None = Field(default=None, ge=0, le=1)
    foreign_ids: float | None = Field(default=None, ge=0, le=1)
    identical_masked: float | None = Field(default=None, ge=0, le=1)
    identical_masked_reason: float | None = Field(default=None, ge=0, le=1)
    undetermined: float | None = Field(default=None, ge=0, le=1)
    label_agreement: float | None = Field(default=None, ge=0, le=1)
    label_basis: dict[str, int] = {}


class Round(Shape):
    round: int | None = None
    rejections: dict[str, int] = {}
    quality: Quality | None = None


class SynthReport(Shape):
    rounds: list[Round]
    quality: Quality | None = None


class ShapeError(Exception):
    """What is wrong, and where in the file: one sentence."""


def checked(model: type[Shape], data: Any) -> dict:
    """DATA as MODEL's plain dict (fields coerced, extras kept, absent ones left out); ShapeError names the first wrong field."""
    try:
        return model.model_validate(data).model_dump(exclude_unset=True)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the record"
        raise ShapeError(f"{where}: {first['msg']}") from None

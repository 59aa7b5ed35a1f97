"""Chat completions through any OpenAI-compatible endpoint, for agents and simulated users.

The official `openai` client does the HTTP, timeouts, and retries of connection errors, 429s
and 5xx answers (with backoff). On top of it this module checks the reply itself: a reply
without a message, or with tool calls that are not tool calls, is asked for again a few
times and then reported as a ChatError that says what was wrong. Tool-call arguments that are
not valid JSON are passed on as text: the environment tells the model its call was malformed,
as a real deployment would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ChatError(Exception):
    """The endpoint did not produce a usable message after its retries."""


class ChatConfig(BaseModel):
    """Where and how to call a model; comes from the command line or a config file."""

    model_config = ConfigDict(extra="forbid")
    model: str
    base_url: str | None = None
    api_key: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    timeout: float = 60.0
    max_retries: int = 3
    reply_retries: int = 2  # extra attempts for malformed replies
    extra_body: dict[str, Any] = Field(default_factory=dict)


@dataclass
class ChatClient:
    config: ChatConfig
    calls: int = 0
    _client: Any = field(default=None, repr=False)

    def client(self):
        if self._client is None:
            try:
                import openai
            except ImportError:  # pragma: no cover - the eval extra installs it
                raise ChatError("the openai package is needed for model endpoints: pip install 'eigendsl[eval]'") from None
            key = self.config.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
            self._client = openai.OpenAI(base_url=self.config.base_url, api_key=key, timeout=self.config.timeout,
                                         max_retries=self.config.max_retries)
        return self._client

    def complete(self, messages: list[dict], tools: list[dict] | None = None, seed: int | None = None) -> dict:
        """One assistant message as a dict: content, tool_calls ([{id, name, arguments}]), usage."""
        import openai

        kwargs: dict[str, Any] = {"model": self.config.model, "messages": messages}
        if tools:
            kwargs["tools"] = tools
        for name in ("temperature", "top_p", "max_tokens"):
            value = getattr(self.config, name)
            if value is not None:
                kwargs[name] = value
        if seed is not None or self.config.seed is not None:
            kwargs["seed"] = seed if seed is not None else self.config.seed
        if self.config.extra_body:
            kwargs["extra_body"] = self.config.extra_body
        problem = "no attempt"
        for _ in range(1 + self.config.reply_retries):
            self.calls += 1
            try:
                response = self.client().chat.completions.create(**kwargs)
            except openai.APITimeoutError:
                raise ChatError(f"{self.config.model}: the request timed out after {self.config.max_retries} retries") from None
            except openai.APIConnectionError as e:
                raise ChatError(f"{self.config.model}: cannot reach {self.config.base_url or 'the API'}: {e}") from None
            except openai.APIStatusError as e:
                raise ChatError(f"{self.config.model}: the endpoint answered {e.status_code}: {str(e)[:200]}") from None
            except (openai.APIResponseValidationError, ValueError) as e:
                problem = f"the reply is not a chat completion ({type(e).__name__}: {str(e)[:120]})"
                continue
            except openai.APIError as e:
                raise ChatError(f"{self.config.model}: {type(e).__name__}: {str(e)[:200]}") from None
            message, problem = parse_reply(response)
            if message is not None:
                return message
        raise ChatError(f"{self.config.model}: {problem}")


def parse_reply(response: Any) -> tuple[dict | None, str]:
    """A usable message from a completion object, or None and what is wrong with it."""
    choices = getattr(response, "choices", None)
    if not choices:
        return None, "the reply has no choices"
    msg = getattr(choices[0], "message", None)
    if msg is None:
        return None, "the reply's first choice has no message"
    content = getattr(msg, "content", None)
    if content is not None and not isinstance(content, str):
        return None, "the reply's content is not text"
    calls = []
    for i, call in enumerate(getattr(msg, "tool_calls", None) or []):
        fn = getattr(call, "function", None)
        name = getattr(fn, "name", None)
        if not isinstance(name, str) or not name:
            return None, f"tool call {i} of the reply has no function name"
        arguments = getattr(fn, "arguments", None)
        if not isinstance(arguments, str):
            arguments = "" if arguments is None else str(arguments)
        calls.append({"id": getattr(call, "id", None) or f"call_{i}", "name": name, "arguments": arguments})
    if not calls and not (content or "").strip():
        return None, "the reply is empty (no text and no tool calls)"
    usage = getattr(response, "usage", None)
    out: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        out["tool_calls"] = calls
    if usage is not None:
        out["usage"] = {"prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
                        "completion_tokens": getattr(usage, "completion_tokens", 0) or 0}
    return out, ""

"""Chat completions through any OpenAI-compatible endpoint, for agents and simulated users.

The official `openai` client does the HTTP, timeouts, and retries of connection errors, 429s
and 5xx answers (with backoff). On top of it this module tells two kinds of failure apart:

- the endpoint failed (refused the credentials, no such model, answering bytes that are not a
  chat completion, or down): an EndpointError. That is not a result about the model; the
  evaluation does not record or score such an episode, so a rerun retries it.
  A request that fails as a busy or flaky endpoint does (a connection reset or refused, a
  timeout, 429, 502, 503...) is retried with back-off (the server's Retry-After where it says
  one) for as long as the endpoint lives: it is down only when no request to it, from any
  client of this process (agent, user, judge, synth's roles), has succeeded for `down_after`
  seconds and this request has failed `down_tries` times in that quiet spell. A success anywhere
  starts the count and the back-off again, and no back-off is longer than `down_after /
  down_tries` (a server's Retry-After is kept), so an unlucky request on a live endpoint is never
  judged on one long sleep. `overload_wait`
  caps one request's waiting whatever the others do.
- the model answered, badly: a reply without a message, or with tool calls that are not tool
  calls, is asked for again a few times and then reported as a ChatError, which ends the
  episode as a result (agent_error / user_error), as it would in deployment.

Tool-call arguments that are not valid JSON are passed on as text: the environment tells the
model its call was malformed, as a real deployment would.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ChatError(Exception):
    """The model answered, but not with a usable message after its retries: a result."""


class EndpointError(Exception):
    """The endpoint itself failed after its retries and back-off: not a result, the episode is not scored."""


# Answers that mean "busy, come back later": back off rather than give up. (A 500 is often a
# bug that answers every retry the same way: after the client's own retries it is a failure.)
OVERLOADED = {408, 409, 425, 429, 502, 503, 504, 529}
# Answers that say the request itself is refused (too long a context, say): the model's result.
REFUSED_REQUEST = {400, 413, 422}


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
    overload_wait: float = 600.0  # the most seconds one request keeps backing off, whatever the others do
    down_after: float = 120.0  # seconds without one successful request to the endpoint: it is down
    down_tries: int = Field(default=5, ge=1)  # ...and this request has failed this many times
    extra_body: dict[str, Any] = Field(default_factory=dict)


class Health:
    """When a request to one endpoint (a base URL) last succeeded, shared by every client of the
    process: one request's failures mean the endpoint is down only if the others fail too."""

    lock = threading.Lock()
    last_ok: dict[str, float] = {}
    # When a request last found it down: for down_after seconds after, and until a request
    # succeeds, the others give up at their first failure rather than wait as long again.
    down: dict[str, float] = {}

    @classmethod
    def ok(cls, where: str) -> None:
        with cls.lock:
            cls.last_ok[where] = time.monotonic()

    @classmethod
    def found_down(cls, where: str) -> None:
        with cls.lock:
            cls.down[where] = time.monotonic()

    @classmethod
    def found_down_ago(cls, where: str, within: float) -> float | None:
        """Seconds since a request found the endpoint down, if that was within `within` seconds
        and nothing has succeeded since; else None."""
        with cls.lock:
            found = cls.down.get(where)
            if found is None or found < cls.last_ok.get(where, float("-inf")) or time.monotonic() - found > within:
                return None
            return time.monotonic() - found

    @classmethod
    def last_success(cls, where: str) -> float | None:
        with cls.lock:
            return cls.last_ok.get(where)

    @classmethod
    def quiet(cls, where: str, since: float) -> float:
        """Seconds since the later of `since` and the endpoint's last success."""
        with cls.lock:
            return time.monotonic() - max(since, cls.last_ok.get(where, since))


@dataclass
class ChatClient:
    config: ChatConfig
    who: str = "model"  # agent | user | judge: named in the messages of failures
    calls: int = 0
    _client: Any = field(default=None, repr=False)
    garbage: str = ""

    def client(self):
        if self._client is None:
            try:
                import openai
            except ImportError:  # pragma: no cover - the eval extra installs it
                raise EndpointError("the openai package is needed for model endpoints: pip install 'eigendsl[eval]'") from None
            key = self.config.api_key or os.environ.get("OPENAI_API_KEY") or "not-needed"
            self._client = openai.OpenAI(base_url=self.config.base_url, api_key=key, timeout=self.config.timeout,
                                         max_retries=self.config.max_retries)
        return self._client

    def complete(self, messages: list[dict], tools: list[dict] | None = None, seed: int | None = None) -> dict:
        """One assistant message as a dict: content, tool_calls ([{id, name, arguments}]), usage.
        Raises ChatError when the model answered unusably, EndpointError when the endpoint failed."""
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
            response = self.create(kwargs)
            if response is None:
                problem = "garbage"
                continue
            message, problem = parse_reply(response)
            if message is not None:
                return message
        if problem == "garbage":
            raise EndpointError(f"{self.where()} answers something that is not a chat completion: {self.garbage}")
        raise ChatError(f"{self.config.model}: {problem}")

    def where(self) -> str:
        return f"the {self.who} endpoint {self.config.base_url or 'of the OpenAI API'} (model {self.config.model})"

    def create(self, kwargs: dict) -> Any:
        """One completion object, riding out a busy or flaky endpoint while it lives; None for a
        reply that is not a completion."""
        import openai

        endpoint = self.config.base_url or "openai"
        started = time.monotonic()
        waited = 0.0
        # this request's failures since the endpoint last answered anyone: a success elsewhere
        # shows it alive, so the count (and the back-off it drives) starts again
        failures, seen_ok = 0, Health.last_success(endpoint)
        while True:
            self.calls += 1
            try:
                response = self.client().chat.completions.create(**kwargs)
                Health.ok(endpoint)
                return response
            except openai.APITimeoutError:
                failure, asked = f"{self.where()} did not answer within {self.config.timeout:g}s", None
            except openai.APIConnectionError as e:
                failure, asked = f"cannot reach {self.where()}: {e}", None
            except openai.APIStatusError as e:
                said = error_text(e)
                if e.status_code in REFUSED_REQUEST:
                    raise ChatError(f"{self.config.model}: the endpoint refused the request ({e.status_code}: {said})") from None
                if e.status_code in (401, 403):
                    raise EndpointError(f"{self.where()} refused the credentials ({e.status_code}: {said}); "
                                        "check --agent-api-key / --user-api-key or OPENAI_API_KEY") from None
                if e.status_code == 404:
                    raise EndpointError(f"{self.where()} answered 404 ({said}); check the model name and the base URL") from None
                if e.status_code not in OVERLOADED:
                    raise EndpointError(f"{self.where()} answered {e.status_code}: {said}") from None
                failure, asked = f"{self.where()} answered {e.status_code}: {said}", retry_after(e.response)
                if waited >= self.config.overload_wait:
                    raise EndpointError(f"{self.where()} is still overloaded after {waited:.0f}s of backing off "
                                        f"({e.status_code}: {said})") from None
            except (openai.APIResponseValidationError, ValueError) as e:
                self.garbage = f"{type(e).__name__}: {str(e)[:120]}"
                return None
            except openai.APIError as e:
                raise EndpointError(f"{self.where()}: {type(e).__name__}: {str(e)[:200]}") from None
            if waited >= self.config.overload_wait:
                raise EndpointError(f"{failure}; still failing after {waited:.0f}s of backing off")
            if Health.last_success(endpoint) != seen_ok:
                failures, seen_ok = 0, Health.last_success(endpoint)
            failures += 1
            quiet = Health.quiet(endpoint, started)
            ago = Health.found_down_ago(endpoint, self.config.down_after)
            if ago is not None:
                raise EndpointError(f"{failure}; it is down: another request found nothing answering for "
                                    f"{self.config.down_after:g}s, {ago:.0f}s ago, and none has succeeded since")
            if failures >= self.config.down_tries and quiet >= self.config.down_after:
                Health.found_down(endpoint)
                raise EndpointError(f"{failure}; it is down: no request to it has succeeded for {quiet:.0f}s "
                                    f"({failures} tries of this one meanwhile; down_after = {self.config.down_after:g})")
            longest = min(30.0, self.config.down_after / self.config.down_tries)
            delay = asked if asked is not None else min(longest, 0.25 * 2 ** failures) * (0.75 + 0.5 * random.random())
            # never past the moment the endpoint would count as down: look again then
            delay = max(0.01, min(delay, self.config.overload_wait - waited, max(0.0, self.config.down_after - quiet) + 0.01))
            time.sleep(delay)
            waited += delay


def error_text(e: Any) -> str:
    """The message an error reply carries, short and on one line."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
    else:
        text = getattr(e, "message", None) or str(e)
    return " ".join(str(text).split())[:200]


def retry_after(response: Any) -> float | None:
    """Seconds the server asks to wait (Retry-After / retry-after-ms), when it says."""
    headers = getattr(response, "headers", None) or {}
    try:
        if headers.get("retry-after-ms"):
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        if headers.get("retry-after"):
            return max(0.0, float(headers["retry-after"]))
    except ValueError:  # an HTTP date: honour it roughly
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(headers["retry-after"]).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
    return None


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

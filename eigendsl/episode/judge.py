"""The NL-assertion judge: a language model reads the conversation and grades each assertion.

As in the benchmark, the judge sees the spoken conversation (user and agent messages, one per
line as `role: text`) and the task's assertions, and answers JSON:
`{"results": [{"expectedOutcome", "reasoning", "metExpectation": true|false}, ...]}`, one result
per assertion in order. The component is 1 when every assertion is met. Any OpenAI-compatible
endpoint serves (`--judge openai:MODEL --judge-base-url URL`); temperature 0 by default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .chat import ChatClient, ChatConfig, ChatError

INSTRUCTIONS = """You grade a customer-service conversation against a list of expected outcomes.

The conversation is between a support agent and a customer. For each expected outcome, decide
on the conversation alone whether the agent's behaviour satisfies it, and grade each outcome
separately.

Answer with one JSON object and nothing else:
{"results": [{"expectedOutcome": "<the outcome, repeated>", "reasoning": "<one or two sentences>",
              "metExpectation": true or false}, ...]}
with one entry per expected outcome, in the order given."""


class JudgeError(Exception):
    """The judge could not give a verdict (endpoint failure or an unreadable answer)."""


def conversation_text(conversation: list[dict]) -> str:
    return "\n".join(f"{m['role']}: {m['content']}" for m in conversation
                     if m.get("role") in ("user", "assistant") and m.get("content"))


def parse_verdicts(text: str, count: int) -> list[tuple[bool, str]]:
    """The judge's answer as (met, reasoning) per assertion; JudgeError when it does not say."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`")
        body = body[body.find("{"):] if "{" in body else body
    start, end = body.find("{"), body.rfind("}")
    try:
        data = json.loads(body[start:end + 1]) if start >= 0 else None
    except ValueError:
        data = None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list) or len(results) != count:
        raise JudgeError(f"the judge's answer does not grade the {count} assertion(s): {text[:160]!r}")
    out = []
    for r in results:
        met = r.get("metExpectation") if isinstance(r, dict) else None
        if not isinstance(met, bool):
            raise JudgeError(f"the judge's answer has a result without a true/false metExpectation: {str(r)[:120]}")
        out.append((met, str(r.get("reasoning", ""))))
    return out


@dataclass
class ChatJudge:
    """A judge behind a chat-completions endpoint."""

    client: ChatClient

    @classmethod
    def from_spec(cls, spec: str, base_url: str | None = None, api_key: str | None = None,
                  endpoint: dict | None = None) -> "ChatJudge":
        """`endpoint`: ChatConfig's waiting settings (timeout, down_after...), as a config file's [judge] gives them."""
        kind, _, model = spec.partition(":")
        if kind != "openai" or not model:
            raise JudgeError(f"unknown judge {spec!r}: use openai:MODEL")
        return cls(ChatClient(ChatConfig(model=model, base_url=base_url, api_key=api_key, temperature=0.0, **(endpoint or {})),
                              who="judge"))

    def judge(self, conversation: list[dict], assertions: list[str]) -> list[tuple[bool, str]]:
        prompt = (f"Conversation:\n{conversation_text(conversation)}\n\n"
                  f"Expected outcomes:\n{json.dumps(assertions, ensure_ascii=False, indent=1)}")
        messages = [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": prompt}]
        try:
            reply = self.client.complete(messages)
        except ChatError as e:
            raise JudgeError(str(e)) from None
        return parse_verdicts(reply.get("content") or "", len(assertions))

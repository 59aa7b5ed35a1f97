"""Local models: a transformers causal LM with a chat template that takes tools, as agent or user.

Tool calls are read from the generated text in the common `<tool_call>{"name": ...,
"arguments": {...}}</tool_call>` convention (Hermes, Qwen). The user is a model fine-tuned by
`eigendsl train --stage user-sft`: it reads what it was trained on, the scenario as system
message and the user's view of the conversation (the agent as `user`, itself as `assistant`).
Needs the training extra (torch, transformers); nothing else in eigendsl imports this module.
"""

from __future__ import annotations

import json
import re

from .agents import AgentError
from .users import scenario_system

TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)

# Used when a tokenizer has no chat template of its own (e.g. a tiny test tokenizer).
DEFAULT_TEMPLATE = (
    "{% if tools %}<|system|>You may call these tools, one per <tool_call>{\"name\": ..., \"arguments\": ...}</tool_call>:\n"
    "{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}<|end|>\n{% endif %}"
    "{% for m in messages %}<|{{ m['role'] }}|>"
    "{% if m['content'] %}{{ m['content'] }}{% endif %}"
    "{% if m.get('tool_calls') %}{% for c in m['tool_calls'] %}<tool_call>{\"name\": \"{{ c['function']['name'] }}\", "
    "\"arguments\": {{ c['function']['arguments'] }}}</tool_call>{% endfor %}{% endif %}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def parse_generation(text: str) -> dict:
    """An assistant message from generated text: tool calls where there are any, else text."""
    calls = []
    for i, block in enumerate(TOOL_CALL.findall(text)):
        try:
            data = json.loads(block)
        except ValueError:
            calls.append({"id": f"local_{i}", "name": "", "arguments": block})
            continue
        if not isinstance(data, dict):
            calls.append({"id": f"local_{i}", "name": "", "arguments": block})
            continue
        name = data.get("name")
        arguments = data.get("arguments", data.get("parameters", {}))
        calls.append({"id": f"local_{i}", "name": name if isinstance(name, str) else "", "arguments": arguments})
    content = TOOL_CALL.sub("", text).strip()
    if calls:
        return {"role": "assistant", "content": content or None, "tool_calls": calls}
    return {"role": "assistant", "content": content}


class TransformersAgent:
    """Generates with a local model; one instance per episode, sharing the loaded model."""

    def __init__(self, model, tokenizer, max_new_tokens: int = 512, temperature: float | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = 0
        if getattr(tokenizer, "chat_template", None) is None:
            tokenizer.chat_template = DEFAULT_TEMPLATE

    @staticmethod
    def load(path: str):
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise AgentError("the local agent needs the training extra: pip install 'eigendsl[train]'") from None
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForCausalLM.from_pretrained(path)
        except (OSError, ValueError, ImportError) as e:
            first = next((line.strip() for line in str(e).splitlines() if line.strip()), type(e).__name__)
            raise AgentError(f"cannot load a model from {path}: {first}") from None
        model.eval()
        return model, tokenizer

    def reset(self, task, domain, seed: int) -> None:
        self.seed = seed

    def prompt(self, messages: list[dict], tools: list[dict]) -> str:
        return self.tokenizer.apply_chat_template(messages, tools=tools or None, add_generation_prompt=True, tokenize=False)

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        import torch

        prompt = self.prompt(messages, tools)
        inputs = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        sample = bool(self.temperature)
        torch.manual_seed(self.seed)
        with torch.no_grad():
            output = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens, do_sample=sample,
                **({"temperature": self.temperature} if sample else {}),
                pad_token_id=self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id,
            )
        new = output[0][inputs["input_ids"].shape[1]:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        message = parse_generation(text)
        message["usage"] = {"prompt_tokens": int(inputs["input_ids"].shape[1]), "completion_tokens": int(new.shape[0])}
        return message


class TransformersUser:
    """A user played by a local model; one instance per episode, sharing the loaded model."""

    def __init__(self, model, tokenizer, max_new_tokens: int = 256, temperature: float | None = None, seed: int = 0):
        self.speaker = TransformersAgent(model, tokenizer, max_new_tokens, temperature)  # generates, whoever speaks
        self.speaker.seed = seed
        self.system: dict = {}

    def reset(self, task, domain) -> None:
        self.system = scenario_system(task)

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        return self.speaker.respond([self.system, *messages], tools)

"""Local models: a transformers causal LM with a chat template that takes tools, as agent or user.

Tool calls are read from the generated text in the common `<tool_call>{"name": ...,
"arguments": {...}}</tool_call>` convention (Hermes, Qwen). The user is a model fine-tuned by
`eigendsl train --stage user-sft`: it reads what it was trained on, the scenario as system
message and the user's view of the conversation (the agent as `user`, itself as `assistant`).
Needs the training extra (torch, transformers) to generate; train.masks imports only
`template_messages`, the form every chat template is given messages in.
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
    "\"arguments\": {% if c['function']['arguments'] is string %}{{ c['function']['arguments'] }}"
    "{% else %}{{ c['function']['arguments'] | tojson }}{% endif %}}</tool_call>{% endfor %}{% endif %}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def template_messages(messages: list[dict]) -> list[dict]:
    """MESSAGES as chat templates take them: tool-call arguments as objects. OpenAI's API carries
    them as JSON text, which templates that `tojson` the arguments (Qwen2.5's, Llama-3.1's) would
    encode twice; SFT, GRPO and eval all render through here, so the model sees one form."""
    out = []
    for m in messages:
        calls = m.get("tool_calls")
        if calls and any(isinstance((c.get("function") or {}).get("arguments"), str) for c in calls if isinstance(c, dict)):
            m = {**m, "tool_calls": [object_arguments(c) for c in calls]}
        out.append(m)
    return out


def object_arguments(call):
    function = call.get("function") if isinstance(call, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
        return call
    try:
        value = json.loads(function["arguments"])
    except ValueError:
        return call  # not JSON: rendered as it was sampled
    return {**call, "function": {**function, "arguments": value}} if isinstance(value, dict) else call


def bare_call(text: str) -> dict | None:
    """A tool call written as a bare JSON object `{"name": ..., "parameters": {...}}` (Llama-3.1's
    templates, after an optional <|python_tag|>), or None."""
    text = text.removeprefix("<|python_tag|>").strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or set(data) - {"name", "parameters", "arguments"}:
        return None
    arguments = data.get("parameters", data.get("arguments", {}))
    return {"name": data["name"], "arguments": arguments} if isinstance(arguments, dict) else None


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
    if not calls and (bare := bare_call(content)) is not None:  # Llama-3.1's form: the JSON object alone
        calls, content = [{"id": "local_0", **bare}], ""
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
        return self.tokenizer.apply_chat_template(template_messages(messages), tools=tools or None,
                                                  add_generation_prompt=True, tokenize=False, tools_in_user_message=False)

    def respond(self, messages: list[dict], tools: list[dict]) -> dict:
        import torch

        prompt = self.prompt(messages, tools)
        inputs = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(self.model.device)
        sample = bool(self.temperature)
        cuda = [self.model.device] if self.model.device.type == "cuda" else []
        # seeded for this episode, and the random state put back after: a user model sampling inside
        # GRPO must not reset the policy's sampling every turn
        with torch.no_grad(), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.seed)
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

"""Token masks: 1 over the trained role's own tokens, 0 over everything the model is given.

A conversation is rendered with the model's chat template one message at a time; each
message's text is the difference between consecutive renderings, so the tokens of every
message are known exactly. The trained role's tokens are what it would generate: its message
after the generation prompt, through the end-of-turn marker (not the template's text after it),
for text and tool-call turns alike. System, user and tool-result tokens (and the generation prompts) get 0. For the agent
the trained role is `assistant`; a user model is trained on the user's view of the
conversation, where the user speaks as `assistant` (see Episode.user_view), so the same rule
trains only user turns.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..episode.local import template_messages
from .config import TrainError


@dataclass(frozen=True)
class Masked:
    input_ids: list[int]
    mask: list[int]          # 1 = trained
    prompt_length: int       # tokens before the first trained token's generation prompt ends


# Llama-3.1's template puts the tools into the first user message, which in an episode comes after
# the agent's greeting (and is absent while only the system prompt is rendered): the system
# message takes them instead. Templates that do not read the option ignore it.
TEMPLATE_OPTIONS = {"tools_in_user_message": False}


def render(tokenizer, messages: list[dict], tools: list[dict] | None, generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(template_messages(messages), tools=tools or None, tokenize=False,
                                         add_generation_prompt=generation_prompt, **TEMPLATE_OPTIONS)


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"] if text else []


def check_extends(text: str, prefix: str) -> None:
    """Masking needs each rendering of a growing conversation to extend the previous one."""
    if not text.startswith(prefix):
        raise TrainError("the model's chat template renders earlier turns differently as the conversation "
                         "grows, so turns cannot be masked; use a template whose renderings extend each other")


def mask_conversation(tokenizer, messages: list[dict], tools: list[dict] | None, role: str = "assistant",
                      start: int = 0) -> Masked:
    """Token ids of MESSAGES and a mask that is 1 exactly over ROLE's generated tokens from message
    START on (earlier ones, such as an episode's fixed greeting, are given)."""
    ids: list[int] = []
    mask: list[int] = []
    done = ""
    prompt_length = None
    for i, message in enumerate(messages):
        if message["role"] == role and i >= start:
            head = render(tokenizer, messages[:i], tools, generation_prompt=True)
            whole = render(tokenizer, messages[: i + 1], tools)
            check_extends(head, done)
            check_extends(whole, head)
            given, own = head[len(done):], whole[len(head):]
            ids += encode(tokenizer, given)
            mask += [0] * (len(ids) - len(mask))
            if prompt_length is None:
                prompt_length = len(ids)
            # trained through the end-of-turn token; what the template adds after it (a newline) is
            # never generated, so it is given, as in GRPO's token traces
            end = tokenizer.eos_token or ""
            cut = own.rfind(end) + len(end) if end and end in own else len(own)
            own_ids = encode(tokenizer, own[:cut])
            ids += own_ids
            mask += [1] * len(own_ids)
            after = encode(tokenizer, own[cut:])
            ids += after
            mask += [0] * len(after)
            done = whole
        else:
            whole = render(tokenizer, messages[: i + 1], tools)
            check_extends(whole, done)
            given = encode(tokenizer, whole[len(done):])
            ids += given
            mask += [0] * len(given)
            done = whole
    return Masked(ids, mask, len(ids) if prompt_length is None else prompt_length)

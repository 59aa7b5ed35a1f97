"""A batch's conversations as a prefix tree: every prefix rendered and tokenized once, in batches.

The rollouts of a task begin alike (system prompt, greeting, the user's opening) and often go
on alike, and masking a finished conversation needs the rendering of every prefix of it
(masks.py). A Transcripts tree holds one node per distinct prefix of a batch's conversations;
a node renders its prefix with the chat template at most twice, with the generation prompt
(the prompt a round generates from) and without (for the mask), and tokenizes its message's
segment once; what a round or a finished batch needs is rendered in one call per kind and
tokenized in one call. Its token ids and masks are those of `masks.mask_conversation`, the
reference, to the token.
"""

from __future__ import annotations

from .masks import Masked, check_extends, encode_many, render_many


def frozen(value):
    """A hashable form of a JSON-like value, equal only for the same value of the same type (True and 1,
    or -0.0 and 0.0, are equal to Python but render apart)."""
    if isinstance(value, dict):
        return ("{", *sorted((k, frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("[", *(frozen(v) for v in value))
    if isinstance(value, (bool, int, float)):
        return (type(value).__name__, repr(value))
    return value


class Node:
    """A prefix of a conversation: its last message, its renderings and its message's tokens."""

    __slots__ = ("parent", "message", "depth", "children", "whole", "prompt", "given", "turn")

    def __init__(self, parent: Node | None, message: dict | None):
        self.parent, self.message = parent, message
        self.depth = parent.depth + 1 if parent is not None else 0
        self.children: dict = {}
        self.whole: str | None = "" if parent is None else None  # the prefix rendered
        self.prompt: str | None = None  # the prefix rendered with the generation prompt
        self.given: list[int] | None = None  # the message's tokens, all given
        self.turn: tuple[list[int], list[int]] | None = None  # a trained message: generation prompt, own tokens

    def path(self) -> list[Node]:
        """The nodes from the first message to this one."""
        out, node = [], self
        while node.parent is not None:
            out.append(node)
            node = node.parent
        return out[::-1]


class Transcripts:
    """The conversations of one batch, over one tokenizer and one tool list."""

    def __init__(self, tokenizer, tools: list[dict] | None, role: str = "assistant"):
        self.tokenizer, self.tools, self.role = tokenizer, tools, role
        self.root = Node(None, None)

    def extend(self, node: Node, messages: list[dict]) -> Node:
        """The node of MESSAGES, a conversation that continues NODE's (the root's: any)."""
        for message in messages[node.depth:]:
            key = frozen(message)
            child = node.children.get(key)
            if child is None:
                child = node.children[key] = Node(node, message)
            node = child
        return node

    def prompts(self, nodes: list[Node]) -> list[str]:
        """Each node's conversation rendered with the generation prompt."""
        self._render([n for n in nodes if n.prompt is None], generation_prompt=True)
        return [n.prompt for n in nodes]

    def masked(self, ends: list[Node], starts: list[int], trimmed: bool = False) -> list[Masked]:
        """The token ids and mask of each conversation ENDS[k] ends, its role's turns trained from
        message STARTS[k] on: what mask_conversation gives. TRIMMED: what trim_after_last leaves of
        it, the messages after the role's last turn being neither rendered nor tokenized."""
        paths = [end.path() for end in ends]
        needed = {}  # (node, trained) in the order mask_conversation meets them
        for k, (path, start) in enumerate(zip(paths, starts)):
            trained = [n.message["role"] == self.role and n.depth > start for n in path]
            if trimmed and any(trained):
                last = len(trained) - trained[::-1].index(True)
                paths[k], trained = path[:last], trained[:last]
            for n, t in zip(paths[k], trained):
                needed.setdefault((id(n), t), n)
        nodes = list({id(n): n for n in needed.values()}.values())
        self._render([n for n in nodes if n.whole is None], generation_prompt=False)
        self._render([n.parent for (_, trained), n in needed.items() if trained and n.parent.prompt is None],
                     generation_prompt=True)
        todo = [(trained, n) for (_, trained), n in needed.items() if (n.turn if trained else n.given) is None]
        texts = []
        for trained, n in todo:
            done = n.parent.whole
            if trained:
                head = n.parent.prompt
                check_extends(head, done)
                check_extends(n.whole, head)
                texts += [head[len(done):], n.whole[len(head):]]
            else:
                check_extends(n.whole, done)
                texts.append(n.whole[len(done):])
        ids = iter(encode_many(self.tokenizer, texts))
        for trained, n in todo:
            if trained:
                n.turn = (next(ids), next(ids))
            else:
                n.given = next(ids)
        return [self._assemble(path, start) for path, start in zip(paths, starts)]

    def _assemble(self, path: list[Node], start: int) -> Masked:
        ids: list[int] = []
        mask: list[int] = []
        prompt_length = None
        for n in path:
            if n.message["role"] == self.role and n.depth > start:
                given, own = n.turn
                ids += given
                mask += [0] * len(given)
                if prompt_length is None:
                    prompt_length = len(ids)
                ids += own
                mask += [1] * len(own)
            else:
                ids += n.given
                mask += [0] * len(n.given)
        return Masked(ids, mask, len(ids) if prompt_length is None else prompt_length)

    def _render(self, nodes: list[Node], generation_prompt: bool) -> None:
        unique = list({id(n): n for n in nodes}.values())
        texts = render_many(self.tokenizer, [[p.message for p in n.path()] for n in unique], self.tools,
                            generation_prompt)
        for node, text in zip(unique, texts):
            if generation_prompt:
                node.prompt = text
            else:
                node.whole = text

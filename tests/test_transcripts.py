"""Rollout transcripts: the prefix tree's prompts, token ids and masks are those of the reference masking."""

from __future__ import annotations

import copy

import pytest

from conftest import ROOT

TINYSHOP = ROOT / "tests" / "data" / "tinyshop.eig"

BASE = [
    {"role": "system", "content": "You cancel pending orders."},
    {"role": "assistant", "content": "Hi! How can I help you today?"},
    {"role": "user", "content": "I want to cancel order 07."},
]


def call(order: str, cid: str = "c1") -> dict:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": cid, "type": "function", "function": {"name": "cancel_order", "arguments": f'{{"order_id": "{order}"}}'}}]}


def conversations() -> list[tuple[list[dict], int]]:
    """Conversations that share prefixes and part ways at every kind of message, with their START."""
    done = {"role": "tool", "tool_call_id": "c1", "content": '{"order_id": "07", "status": "cancelled"}'}
    closing = {"role": "assistant", "content": "All done, order 07 is cancelled."}
    stop = {"role": "user", "content": "Thanks! ###STOP###"}
    return [
        (BASE, 3),                                                    # ended before the policy spoke
        (BASE + [call("07"), done, closing, stop], 3),
        (BASE + [call("07"), done, closing, stop], 3),                # a repeat shares every node
        (BASE + [call("07"), done, {"role": "assistant", "content": "Done."}], 3),
        (BASE + [call("08"), {"role": "tool", "tool_call_id": "c1", "content": "error: no order 08"}], 3),
        (BASE + [{"role": "assistant", "content": "Which order?"}, {"role": "user", "content": "07"}, call("07")], 3),
        (BASE + [call("07"), done, closing, stop], 0),                # the greeting trained too, on shared nodes
        (BASE[:2], 2),
    ]


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    pytest.importorskip("transformers")
    from eigendsl.compiler import load_domain
    from eigendsl.episode.local import DEFAULT_TEMPLATE
    from eigendsl.train.data import oracle_dialogues
    from eigendsl.train.run import corpus, load_tokenizer
    from eigendsl.train.tiny import build_tiny_model

    domain = load_domain(TINYSHOP)
    folder = build_tiny_model(tmp_path_factory.mktemp("tiny") / "m",
                              corpus(domain, oracle_dialogues(domain, list(domain.ir.tasks)[:4])))
    tiny = load_tokenizer(str(folder))
    default = type(tiny).from_pretrained(folder)
    default.chat_template = DEFAULT_TEMPLATE
    return domain, {"tiny": tiny, "default": default}


@pytest.mark.parametrize("template", ["tiny", "default"])
def test_transcripts_give_the_reference_prompts_ids_and_masks(tokenizers, template):
    from eigendsl.train.masks import mask_conversation, render, trim_after_last
    from eigendsl.train.transcripts import Transcripts

    domain, by_name = tokenizers
    tokenizer, tools = by_name[template], domain.tool_schemas("agent")
    cases = conversations()
    tree = Transcripts(tokenizer, tools)
    ends = []
    for messages, _ in cases:  # grown a round at a time, as rollouts grow, each round prompted
        node = tree.root
        for n in range(1, len(messages) + 1):
            node = tree.extend(node, copy.deepcopy(messages[:n]))  # equal messages, not the same objects
            if messages[n - 1]["role"] != "assistant" or n == len(messages):
                assert tree.prompts([node]) == [render(tokenizer, messages[:n], tools, generation_prompt=True)]
        ends.append(node)
    masked = tree.masked(ends, [start for _, start in cases])
    for (messages, start), got in zip(cases, masked):
        assert got == mask_conversation(tokenizer, messages, tools, start=start)
    fresh = Transcripts(tokenizer, tools)  # a rollout's completion ends with the policy's last turn
    trimmed = fresh.masked([fresh.extend(fresh.root, m) for m, _ in cases], [start for _, start in cases], trimmed=True)
    assert trimmed == [trim_after_last(m) for m in masked] and trimmed[1] != masked[1] and trimmed[0] == masked[0]
    assert sum(masked[1].mask) > 0 and len(tree.root.children) == 1  # one system prompt, shared by all
    assert masked[1] == masked[2] and masked[6].mask != masked[1].mask


def test_a_template_that_rewrites_earlier_turns_is_refused_as_by_the_reference(tokenizers):
    from eigendsl.train.config import TrainError
    from eigendsl.train.masks import mask_conversation
    from eigendsl.train.transcripts import Transcripts

    domain, by_name = tokenizers
    tokenizer = type(by_name["tiny"]).from_pretrained(by_name["tiny"].name_or_path)
    tokenizer.chat_template = ("{% for m in messages[-2:] %}<|{{ m['role'] }}|>{{ m['content'] or '' }}<|end|>{% endfor %}"
                               "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    messages = BASE + [call("07")]
    with pytest.raises(TrainError, match="renders earlier turns differently") as reference:
        mask_conversation(tokenizer, messages, None, start=3)
    tree = Transcripts(tokenizer, None)
    with pytest.raises(TrainError) as ours:
        tree.masked([tree.extend(tree.root, messages)], [3])
    assert str(ours.value) == str(reference.value)


def test_messages_share_a_node_exactly_when_they_are_the_same():
    from eigendsl.train.transcripts import frozen

    same = [({"a": [1, {"b": None}], "c": "x"}, {"c": "x", "a": [1, {"b": None}]})]
    different = [({"a": 1}, {"a": True}), ({"a": 0.0}, {"a": -0.0}), ({"a": 1}, {"a": 1.0}), ({"a": [1]}, {"a": "[1]"}),
                 ({"a": {}}, {"a": []}), ({"a": None}, {})]
    assert all(frozen(x) == frozen(y) and hash(frozen(x)) == hash(frozen(y)) for x, y in same)
    assert all(frozen(x) != frozen(y) for x, y in different)

"""Chat templates other than the tiny model's: TRL 1.16's shipped Qwen2.5, Qwen3 (training
variant) and Llama-3.1 templates mask the airline oracle's dialogues and replay them, token trace and all, at
reward 1; tool-call arguments reach every template as objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT

trl = pytest.importorskip("trl")
TEMPLATES = Path(trl.__file__).parent / "chat_templates"  # TRL's own copies of the models' templates
AIRLINE = ROOT / "compiled" / "airline"


@pytest.fixture(scope="module")
def airline():
    from eigendsl.compiler import load_domain
    from eigendsl.train.data import oracle_dialogues

    domain = load_domain(AIRLINE)
    tasks = [t for t in domain.ir.tasks if t.gold][:6]
    return domain, tasks, oracle_dialogues(domain, tasks)


# each template with its model's special tokens, the end-of-turn token first
SPECIAL = {"qwen2_5.jinja": ["<|im_end|>", "<|im_start|>"], "qwen3_training.jinja": ["<|im_end|>", "<|im_start|>"],
           "llama3_1.jinja": ["<|eot_id|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>"]}


def small_tokenizer(folder: Path, corpus: list[str], template: str, special: list[str]):
    """A small BPE tokenizer with the model's turn markers as special tokens, SPECIAL[0] ending a turn."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    special = ["<|endoftext|>", *special]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=800, special_tokens=special,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|endoftext|>", eos_token=special[1],
                                        additional_special_tokens=special[2:])
    tokenizer.save_pretrained(folder)
    (folder / "template.jinja").write_text(template)
    return folder


@pytest.fixture(scope="module", params=sorted(SPECIAL))
def tokenizer(request, airline, tmp_path_factory):
    from eigendsl.train.run import corpus, load_tokenizer

    domain, _, dialogues = airline
    folder = small_tokenizer(tmp_path_factory.mktemp("tok"), corpus(domain, dialogues)[:400],
                             (TEMPLATES / request.param).read_text(), SPECIAL[request.param])
    return load_tokenizer(str(folder), (folder / "template.jinja").read_text())  # as --chat-template gives it


def test_masks_cover_exactly_the_agents_turns_with_arguments_as_objects(airline, tokenizer):
    from eigendsl.train.masks import mask_conversation, render

    _, _, dialogues = airline
    for d in dialogues:
        m = mask_conversation(tokenizer, d["messages"], d["tools"], start=d["train_from"])
        trained = tokenizer.decode([t for t, k in zip(m.input_ids, m.mask) if k])
        text = render(tokenizer, d["messages"], d["tools"])
        assert '"arguments": "{' not in text and '"parameters": "{' not in text  # not a JSON string inside JSON
        for message in d["messages"][2:]:
            if message["role"] == "assistant":
                for call in message.get("tool_calls") or []:  # the arguments as the object they are
                    assert f'"name": "{call["function"]["name"]}", ' in trained
                    assert json.dumps(json.loads(call["function"]["arguments"]), ensure_ascii=False) in trained
                if message.get("content") and not message.get("tool_calls"):
                    assert message["content"].strip() in trained
            elif message["role"] in ("user", "tool") and message["content"]:
                assert message["content"][:40] not in trained
        ends = sum(1 for x in d["messages"][2:] if x["role"] == "assistant")
        assert trained.count(tokenizer.eos_token) == ends and trained.endswith(tokenizer.eos_token)


class Replay:
    """Generates, for each live episode, the oracle's next agent message as the template renders
    it (its text after the generation prompt, through the end-of-turn token), as sampled token ids."""

    def __init__(self, tokenizer, dialogue: dict, copies: int):
        from eigendsl.train.masks import encode, render

        messages, tools = dialogue["messages"], dialogue["tools"]
        self.turns = []
        for i, m in enumerate(messages):
            if m["role"] == "assistant" and i >= 2:
                head = render(tokenizer, messages[:i], tools, generation_prompt=True)
                self.turns.append(encode(tokenizer, render(tokenizer, messages[: i + 1], tools)[len(head):]))
        self.tokenizer, self.at = tokenizer, [0] * copies

    def generate(self, prompts, max_new_tokens=None):
        from eigendsl.train.rollouts import sample

        out = []
        for i in range(len(prompts)):  # every copy plays the same dialogue, all live together
            ids = self.turns[self.at[i]]
            out.append(sample(ids, [-0.1] * len(ids), self.tokenizer))
            self.at[i] += 1
        return out


def test_token_traces_replay_the_oracle_at_reward_1(airline, tokenizer):
    from eigendsl.episode.users import ScriptedUser
    from eigendsl.train.masks import mask_conversation
    from eigendsl.train.rollouts import RolloutPlayer, Timers

    domain, tasks, dialogues = airline
    by_task = {t.id: t for t in tasks}
    player = RolloutPlayer(domain, list(by_task.values()), tokenizer, ScriptedUser, max_steps=60, max_completion_length=16384)
    replayed = 0
    for task in tasks:
        dialogue = next((d for d in dialogues if d["messages"][2]["content"] == player_first_user(domain, task)), None)
        if dialogue is None:
            continue
        [r] = player.play([task.id], Replay(tokenizer, dialogue, 1), Timers())
        assert r.reward == 1.0 and r.termination == "user_stop", (task.id, r.termination)
        m = mask_conversation(tokenizer, dialogue["messages"], dialogue["tools"], start=2)
        assert r.prompt_ids + r.completion_ids == m.input_ids[: len(r.prompt_ids) + len(r.completion_ids)]
        assert r.env_mask == m.mask[len(r.prompt_ids): len(r.prompt_ids) + len(r.env_mask)]
        replayed += 1
    assert replayed >= 3


def player_first_user(domain, task) -> str:
    from eigendsl.episode.episode import Episode
    from eigendsl.episode.users import ScriptedUser

    return Episode(domain, task, ScriptedUser()).reset()[2]["content"]


def test_a_template_that_does_not_render_is_one_sentence(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.jinja"
    bad.write_text("{% for m in messages %}{{ m.content }")
    result = subprocess.run([sys.executable, "-m", "eigendsl", "train", str(ROOT / "tests" / "data" / "tinyshop.eig"),
                             "--model", "tiny:hidden=32", "--out", str(tmp_path / "run"), "--chat-template", str(bad)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 1 and "--chat-template: the template does not render a conversation" in result.stderr
    assert "Traceback" not in result.stderr

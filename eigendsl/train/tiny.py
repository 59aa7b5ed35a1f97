"""A tiny randomly initialised causal LM with a tokenizer trained here, for CPU runs and tests.

`--model tiny:` (or `tiny:hidden=64,layers=2,heads=4,vocab=400`) builds one from a corpus of the
domain's own text, so that nothing is downloaded. Its chat template renders tools compactly and
ends every turn with the end-of-sequence token, so that generation stops at the end of a turn.
"""

from __future__ import annotations

from pathlib import Path

from .config import TrainError

ROLES = ["<|system|>", "<|user|>", "<|assistant|>", "<|tool|>"]
END = "<|end|>"

# Tools as one line of names and parameters; arguments of a tool call exactly as given (the
# episode's messages carry them as JSON text).
TEMPLATE = (
    "{% if messages and messages[0]['role'] == 'system' %}<|system|>{{ messages[0]['content'] }}"
    "{% if tools %}\ntools:{% for t in tools %} {{ t['function']['name'] }}"
    "({{ t['function']['parameters']['properties'] | list | join(', ') }}){% endfor %}{% endif %}<|end|>{% endif %}"
    "{% for m in messages %}{% if m['role'] != 'system' %}<|{{ m['role'] }}|>"
    "{% if m['content'] %}{{ m['content'] }}{% endif %}"
    "{% for c in m.get('tool_calls') or [] %}<tool_call>{\"name\": \"{{ c['function']['name'] }}\", \"arguments\": "
    "{% if c['function']['arguments'] is string %}{{ c['function']['arguments'] }}{% else %}{{ c['function']['arguments'] | tojson }}{% endif %}"
    "}</tool_call>{% endfor %}<|end|>{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


LIMITS = {"hidden": (1, 4096), "layers": (1, 64), "heads": (1, 64), "vocab": (1, 262144), "positions": (16, 131072),
          "seed": (0, 2**32 - 1), "ids": (0, 1)}  # a tiny model stays small enough to build on a laptop


def parse_spec(spec: str) -> dict[str, int]:
    """`tiny:hidden=64,layers=2` as settings; unknown keys are an error."""
    sizes = {"hidden": 64, "layers": 2, "heads": 4, "vocab": 1000, "positions": 16384, "seed": 0, "ids": 0}
    rest = spec.partition(":")[2]
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key not in sizes or not value.isdigit():
            raise TrainError(f"bad tiny model setting {item!r}; use key=integer with keys {', '.join(sizes)}")
        sizes[key] = int(value)
    for key, (low, high) in LIMITS.items():
        if not low <= sizes[key] <= high:
            raise TrainError(f"tiny model setting {key}={sizes[key]} is out of range: {low} to {high}")
    if sizes["hidden"] % sizes["heads"]:
        raise TrainError(f"tiny model: hidden={sizes['hidden']} must be a multiple of heads={sizes['heads']}")
    return sizes


def data_ids(roots: dict) -> list[str]:
    """The ids in a domain's data: the keys of every map of records (users, reservations, a
    user's payment methods) and the string values of fields named `id` or `..._id`, in the
    order first met. With `ids=1` each is one token of a tiny model, so a model too small to
    learn to copy a run of sub-word pieces copies one token."""
    found: dict[str, None] = {}

    def walk(value) -> None:
        if isinstance(value, dict):
            if value and all(isinstance(v, dict) for v in value.values()):
                found.update((k, None) for k in value if isinstance(k, str))
            for k, v in value.items():
                if isinstance(v, str) and (k == "id" or str(k).endswith("_id")):
                    found[v] = None
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for table in roots.values():
        walk(table)
    return [x for x in found if x.strip() and len(x) <= 64]


def build_tiny_model(folder: Path, corpus: list[str], spec: str = "tiny:", ids: list[str] = ()) -> Path:
    """Train a byte-level BPE tokenizer on CORPUS and save a random Llama next to it; with
    `ids=1` in SPEC each of IDS is a token of its own."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    sizes = parse_spec(spec)
    special = ["<pad>", "<unk>", END, *ROLES]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=sizes["vocab"], special_tokens=special,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token=END, unk_token="<unk>",
                                        additional_special_tokens=ROLES)
    tokenizer.add_tokens(["<tool_call>", "</tool_call>"])  # plain tokens: decoding keeps them for the parser
    if sizes["ids"]:
        tokenizer.add_tokens(list(ids))
    tokenizer.chat_template = TEMPLATE
    torch.manual_seed(sizes["seed"])
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=sizes["hidden"], intermediate_size=2 * sizes["hidden"],
                         num_hidden_layers=sizes["layers"], num_attention_heads=sizes["heads"],
                         num_key_value_heads=sizes["heads"], max_position_embeddings=sizes["positions"],
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=tokenizer.eos_token_id, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder

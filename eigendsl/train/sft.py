"""SFT with TRL's SFTTrainer on multi-turn tool dialogues, loss on the trained role's tokens only.

Dialogues are tokenized here with the model's chat template and masked (masks.py), and given to
SFTTrainer as a pre-tokenized dataset (`input_ids`, `assistant_masks`), which it turns into
labels of -100 wherever the mask is 0. The same path trains the agent and the user model.
"""

from __future__ import annotations

import random
from pathlib import Path

from .config import LoraSettings, SFTSettings, TrainError, trl_arguments
from .masks import mask_conversation
from .metrics import MetricsLog, step_callback


def tokenize_dialogues(tokenizer, dialogues: list[dict], max_length: int | None) -> list[dict]:
    rows, longest = [], 0
    for d in dialogues:
        m = mask_conversation(tokenizer, d["messages"], d.get("tools"), start=d.get("train_from", 0))
        longest = max(longest, len(m.input_ids))
        if max_length is not None and len(m.input_ids) > max_length:
            continue  # a cut dialogue would teach a turn without its end
        if any(m.mask):
            rows.append({"input_ids": m.input_ids, "assistant_masks": m.mask})
    if not rows:
        raise TrainError(f"no dialogue fits in max_length = {max_length} tokens with a turn to train on "
                         f"(the longest of {len(dialogues)} has {longest}); raise [sft] max_length, or use a model with more positions")
    return rows


def train_sft(model_path: str, tokenizer, dialogues: list[dict], out: Path, s: SFTSettings,
              lora: LoraSettings | None, resume: str | None, metrics: MetricsLog):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    from .grpo import _cuda, model_dtype, peft_config

    if s.max_dialogues is not None:
        dialogues = random.Random(s.seed).sample(dialogues, min(s.max_dialogues, len(dialogues)))
    fields = trl_arguments("sft", s, SFTConfig)
    fields["bf16"] = _cuda() if fields["bf16"] is None else fields["bf16"]
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=model_dtype(fields["bf16"]))
    positions = getattr(model.config, "max_position_embeddings", None)
    limit = min(x for x in (s.max_length, positions) if x is not None) if (s.max_length or positions) else None
    rows = tokenize_dialogues(tokenizer, dialogues, limit)
    try:
        args = SFTConfig(output_dir=str(out), **{**fields, "max_length": limit}, save_strategy="steps",
                         disable_tqdm=True, use_cpu=not _cuda())
    except (ValueError, TypeError) as e:
        raise TrainError(f"[sft]: TRL's SFTConfig refuses these settings: {e}") from None

    def collect(state, logs, seconds):
        return {"loss": logs.get("loss"), "learning_rate": logs.get("learning_rate"),
                "tokens": logs.get("num_tokens"), "time": {"training": round(seconds, 4)}}

    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                         peft_config=peft_config(lora), callbacks=[step_callback(metrics, collect)])
    trainer.train(resume_from_checkpoint=resume)
    return trainer

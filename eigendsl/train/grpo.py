"""GRPO with TRL's GRPOTrainer and a rollout function that plays real episodes.

The dataset holds one row per task (its id as the prompt); TRL's sampler repeats each row G
times, and the rollout function plays those G episodes (rollouts.py), drops the groups whose
rewards all agree and refills the batch with new tasks (dynamic filtering), and hands TRL the
prompt ids, the multi-turn completion ids as sampled, their sampling log-probs (which TRL's vLLM
importance-sampling correction uses) and `env_mask` (0 over tool results and user turns). TRL
computes the group-relative advantages and the loss over the masked tokens. The reward function
only returns the reward each episode's compiled checker gave.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from .. import ir
from ..runtime.environment import CompiledDomain
from .config import GRPOSettings, LoraSettings, TrainError
from .metrics import MetricsLog, step_callback
from .rollouts import Group, RolloutPlayer, Timers, TransformersGenerator, VLLMGenerator, fill_batch, group_advantages


def episode_reward(prompts, completions, episode_reward=None, **kwargs) -> list[float]:
    """The reward the task's compiled checker gave each episode (computed during the rollout)."""
    return [float(r) for r in episode_reward]


def make_user_factory(s: GRPOSettings):
    from ..episode.users import LLMUser, ScriptedUser

    if s.user == "scripted":
        return ScriptedUser
    kind, _, model = s.user.partition(":")
    if kind != "openai" or not model:
        raise TrainError(f"grpo.user must be 'scripted' or 'openai:MODEL', not {s.user!r}")
    from ..episode.chat import ChatConfig

    chat = ChatConfig(model=model, base_url=s.user_base_url)
    return lambda: LLMUser(chat)


class EpisodeRollouts:
    """TRL's rollout_func: G episodes per task, filtered and refilled, as token ids and masks."""

    def __init__(self, player: RolloutPlayer, settings: GRPOSettings, tokenizer, seed: int):
        self.player, self.s, self.tokenizer = player, settings, tokenizer
        self.rng = random.Random(seed)
        self.pending: dict = {}
        self.seconds = 0.0

    def generator(self, trainer):
        if trainer.use_vllm:
            return VLLMGenerator(trainer, self.tokenizer, self.s.max_turn_tokens)
        return TransformersGenerator(trainer.accelerator.unwrap_model(trainer.model), self.tokenizer, self.s.max_turn_tokens,
                                     self.s.temperature, self.s.top_p, trainer.accelerator, trainer.model_wrapped)

    def groups(self, task_ids: list[str], generator, timers: Timers) -> list[Group]:
        G = self.s.num_generations
        rollouts = self.player.play([t for t in task_ids for _ in range(G)], generator, timers)
        return [Group(t, rollouts[i * G:(i + 1) * G]) for i, t in enumerate(task_ids)]

    def __call__(self, prompts: list, trainer) -> dict:
        started = time.perf_counter()
        G = self.s.num_generations
        task_ids = [p if isinstance(p, str) else p[-1]["content"] for p in prompts[::G]]
        generator = self.generator(trainer)
        timers = Timers()
        groups = self.groups(task_ids, generator, timers)
        generated = [*groups]
        if self.s.dynamic_filtering:
            pool = sorted(self.player.tasks)

            def refill(n: int) -> list[Group]:
                new = self.groups([self.rng.choice(pool) for _ in range(n)], generator, timers)
                generated.extend(new)
                return new

            groups, filtered = fill_batch(groups, len(task_ids), refill, self.s.refill_rounds)
        else:
            filtered = 0.0
        batch = [r for g in groups for r in g.rollouts]
        rewards_all = [r.reward for g in generated for r in g.rollouts]
        components: dict[str, list[float]] = {}
        for g in generated:
            for r in g.rollouts:
                for name, value in r.components.items():
                    if value is not None:
                        components.setdefault(name, []).append(float(value))
        advantages = group_advantages([r.reward for r in batch], G)
        self.seconds = time.perf_counter() - started
        self.pending = {
            "reward": sum(rewards_all) / len(rewards_all),
            "components": {k: sum(v) / len(v) for k, v in sorted(components.items())},
            "pass_rate": sum(r >= 1.0 for r in rewards_all) / len(rewards_all),
            "batch_reward": sum(r.reward for r in batch) / len(batch),
            "filtered_fraction": round(filtered, 4),
            "groups_generated": len(generated),
            "nonzero_advantage_fraction": sum(abs(a) > 1e-6 for a in advantages) / len(advantages),
            "tokens": {"policy": sum(r.policy_tokens for r in batch), "completion": sum(len(r.completion_ids) for r in batch),
                       "prompt": sum(len(r.prompt_ids) for r in batch)},
            "episode_length": sum(r.steps for r in batch) / len(batch),
            "rollouts": len(rewards_all),
            "time": timers.to_json(),
        }
        return {
            "prompt_ids": [r.prompt_ids for r in batch],
            "completion_ids": [r.completion_ids for r in batch],
            "logprobs": [r.logprobs for r in batch],
            "env_mask": [r.env_mask for r in batch],
            "episode_reward": [r.reward for r in batch],
        }

    def collect(self, state, logs: dict, seconds: float) -> dict:
        record = dict(self.pending)
        record["time"] = {**record.get("time", {}), "training": round(max(seconds - self.seconds, 0.0), 4)}
        record["loss"] = logs.get("loss")
        return record


def train_grpo(model_path: str, tokenizer, domain: CompiledDomain, tasks: list[ir.TaskDef], out: Path,
               s: GRPOSettings, lora: LoraSettings | None, resume: str | None, metrics: MetricsLog):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    if s.per_device_train_batch_size % s.num_generations:  # each process plays whole groups
        raise TrainError(f"grpo: per_device_train_batch_size ({s.per_device_train_batch_size}) must be a multiple "
                         f"of num_generations ({s.num_generations})")
    player = RolloutPlayer(domain, tasks, tokenizer, make_user_factory(s), s.max_episode_steps, s.max_tool_errors,
                           s.max_completion_length)
    rollout = EpisodeRollouts(player, s, tokenizer, s.seed)
    fields = s.trl_fields()
    args = GRPOConfig(output_dir=str(out), **fields, save_strategy="steps", disable_tqdm=True,
                      remove_unused_columns=False, use_cpu=not _cuda())
    dataset = Dataset.from_list([{"prompt": t.id} for t in tasks])
    model = AutoModelForCausalLM.from_pretrained(model_path)
    trainer = GRPOTrainer(model=model, reward_funcs=[episode_reward], args=args, train_dataset=dataset,
                          processing_class=tokenizer, rollout_func=rollout, peft_config=peft_config(lora),
                          callbacks=[step_callback(metrics, rollout.collect)])
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def peft_config(lora: LoraSettings | None):
    if lora is None:
        return None
    try:
        from peft import LoraConfig
    except ImportError:
        raise TrainError("[lora] needs peft: pip install 'eigendsl[train]'") from None
    return LoraConfig(task_type="CAUSAL_LM", **lora.model_dump())


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()

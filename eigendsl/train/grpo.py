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

import math
import os
import random
import time
from pathlib import Path

from .. import ir
from ..runtime.environment import CompiledDomain
from .config import GRPOSettings, LoraSettings, TrainError, trl_arguments
from .metrics import MetricsLog, step_callback
from .rollouts import Group, RolloutPlayer, Timers, TransformersGenerator, VLLMGenerator, fill_batch, group_advantages


def episode_reward(prompts, completions, episode_reward=None, **kwargs) -> list[float]:
    """The reward the task's compiled checker gave each episode (computed during the rollout)."""
    return [float(r) for r in episode_reward]


def merge_ranks(accelerator, record: dict) -> dict:
    """One step's figures over every process (each plays its own groups): means weighted by the
    rollouts, sums of counts, the slowest process's times, and each process's task ids."""
    if accelerator.num_processes == 1:
        return {**record, "task_ids": [record["task_ids"]]}
    from accelerate.utils import gather_object

    parts = gather_object([record])  # every process calls the rollout function once per generation: safe to gather
    total = sum(p["rollouts"] for p in parts)

    def mean(key: str, weight: str = "scored") -> float:
        return sum(p[key] * p[weight] for p in parts) / max(sum(p[weight] for p in parts), 1)

    generated = sum(p["groups_generated"] for p in parts)
    names = sorted({k for p in parts for k in p["components"]})
    return {
        "task_ids": [p["task_ids"] for p in parts],
        "reward": mean("reward"), "pass_rate": mean("pass_rate"),
        "components": {k: sum(p["components"].get(k, 0.0) * p["rollouts"] for p in parts if k in p["components"]) /
                       sum(p["rollouts"] for p in parts if k in p["components"]) for k in names},
        "batch_reward": sum(p["batch_reward"] for p in parts) / len(parts),
        "unscored": sum(p["unscored"] for p in parts), "truncated": sum(p["truncated"] for p in parts),
        "filtered_fraction": round(sum(p["filtered_fraction"] * p["groups_generated"] for p in parts) / generated, 4),
        "groups_generated": generated,
        "nonzero_advantage_fraction": sum(p["nonzero_advantage_fraction"] for p in parts) / len(parts),
        "tokens": {k: sum(p["tokens"][k] for p in parts) for k in parts[0]["tokens"]},
        "episode_length": sum(p["episode_length"] for p in parts) / len(parts),
        "rollouts": total, "scored": sum(p["scored"] for p in parts),
        "time": {k: max(p["time"][k] for p in parts) for k in parts[0]["time"]},
    }


def make_user_factory(s: GRPOSettings):
    from ..episode.users import LLMUser, ScriptedUser

    if s.user == "scripted":
        return ScriptedUser
    kind, _, model = s.user.partition(":")
    if kind == "hf" and model:
        return local_user_factory(model, s)
    if kind != "openai" or not model:
        raise TrainError(f"grpo.user must be 'scripted', 'openai:MODEL' or 'hf:PATH', not {s.user!r}")
    from ..episode.chat import ChatConfig

    chat = ChatConfig(model=model, base_url=s.user_base_url)
    return lambda: LLMUser(chat)


def local_user_factory(path: str, s: GRPOSettings):
    """A user model from `train --stage user-sft`, loaded once per process (on its GPU, in bf16,
    where there is one) and shared by the episodes; it answers one episode's turn at a time."""
    from ..episode.agents import AgentError
    from ..episode.local import TransformersAgent, TransformersUser

    try:
        model, tokenizer = TransformersAgent.load(path)
    except AgentError as e:
        raise TrainError(f"grpo.user: {e}") from None
    if _cuda():
        import torch

        model.to(device=f"cuda:{int(os.environ.get('LOCAL_RANK', '0') or 0)}", dtype=torch.bfloat16)
    return lambda: TransformersUser(model, tokenizer, s.user_max_new_tokens, s.user_temperature)


class EpisodeRollouts:
    """TRL's rollout_func: G episodes per task, filtered and refilled, as token ids and masks."""

    def __init__(self, player: RolloutPlayer, settings: GRPOSettings, tokenizer, seed: int, rank: int = 0):
        self.player, self.s, self.tokenizer = player, settings, tokenizer
        self.rng = random.Random(seed + 1_000_003 * rank)  # a seed per rank: each draws its own refill tasks (rank 0: SEED)
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
        trained = [x for g in groups for x in g.training_rewards()]  # unscored rollouts: their group's mean
        rewards_all = [r.reward for g in generated for r in g.rollouts if r.scored] or [0.0]
        components: dict[str, list[float]] = {}
        for g in generated:
            for r in g.rollouts:
                for name, value in r.components.items():
                    if value is not None:
                        components.setdefault(name, []).append(float(value))
        advantages = group_advantages(trained, G)
        self.seconds = time.perf_counter() - started
        self.pending = {
            "task_ids": task_ids,
            "reward": sum(rewards_all) / len(rewards_all),
            "components": {k: sum(v) / len(v) for k, v in sorted(components.items())},
            "pass_rate": sum(r >= 1.0 for r in rewards_all) / len(rewards_all),
            "batch_reward": sum(trained) / len(trained),
            "unscored": sum(not r.scored for g in generated for r in g.rollouts),
            "truncated": sum(r.truncated for g in generated for r in g.rollouts),
            "filtered_fraction": round(filtered, 4),
            "groups_generated": len(generated),
            "nonzero_advantage_fraction": sum(abs(a) > 1e-6 for a in advantages) / len(advantages),
            "tokens": {"policy": sum(r.policy_tokens for r in batch), "completion": sum(len(r.completion_ids) for r in batch),
                       "prompt": sum(len(r.prompt_ids) for r in batch)},
            "episode_length": sum(r.steps for r in batch) / len(batch),
            "rollouts": sum(len(g.rollouts) for g in generated),
            "scored": sum(r.scored for g in generated for r in g.rollouts),
            "time": timers.to_json(),
        }
        self.pending = merge_ranks(trainer.accelerator, self.pending)
        return {
            "prompt_ids": [r.prompt_ids for r in batch],
            "completion_ids": [r.completion_ids for r in batch],
            "logprobs": [r.logprobs for r in batch],
            "env_mask": [r.env_mask for r in batch],
            "episode_reward": trained,
        }

    def collect(self, state, logs: dict, seconds: float) -> dict:
        record = dict(self.pending)
        record["time"] = {**record.get("time", {}), "training": round(max(seconds - self.seconds, 0.0), 4)}
        record["loss"] = logs.get("loss")
        sampling = {k: v for k, v in logs.items() if k.startswith("sampling/")}  # TRL's vLLM figures: IS ratio, logp gap
        if sampling:
            record["sampling"] = sampling
        return record


def processes() -> int:
    """The training processes of this launch (accelerate launch sets WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def check_groups(fields: dict, G: int, n_processes: int) -> None:
    """Each process is handed per_device_train_batch_size x steps_per_generation prompts per
    generation (TRL's generation batch over the processes) and plays whole groups of them, so that
    number must be a multiple of G (TRL itself asks only the whole generation batch to be)."""
    per_device = fields["per_device_train_batch_size"]
    steps = fields.get("steps_per_generation")
    if steps is None and fields.get("generation_batch_size") is not None:
        steps = fields["generation_batch_size"] / (per_device * n_processes)
    steps = fields["gradient_accumulation_steps"] if steps is None else steps
    local = per_device * steps
    if local != int(local) or int(local) % G:
        fix = G // math.gcd(per_device, G)
        raise TrainError(f"[grpo]: each process plays whole groups of num_generations ({G}) episodes, but is handed "
                         f"per_device_train_batch_size ({per_device}) x steps_per_generation ({steps:g}) = {local:g} "
                         f"prompts per generation; make it a multiple of {G} (e.g. [grpo.trl] steps_per_generation = {fix})")


def grpo_arguments(s: GRPOSettings, out: Path, n_processes: int | None = None, positions: int | None = None):
    """TRL's GRPOConfig for the settings, validated as TRL validates it (and for whole groups per process)."""
    from trl import GRPOConfig

    fields = trl_arguments("grpo", s, GRPOConfig)
    fields["bf16"] = _cuda() if fields["bf16"] is None else fields["bf16"]
    fields.setdefault("ddp_find_unused_parameters", False)  # every weight (or LoRA adapter) takes part in the loss
    if s.use_vllm and fields.get("vllm_max_model_length") is None and positions:
        fields["vllm_max_model_length"] = positions  # vLLM's context: the episode's budget keeps every trace inside it
    check_groups(fields, s.num_generations, n_processes or processes())
    try:
        return GRPOConfig(output_dir=str(out), **fields, save_strategy="steps", disable_tqdm=True,
                          remove_unused_columns=False, use_cpu=not _cuda())
    except (ValueError, TypeError) as e:
        raise TrainError(f"[grpo]: TRL's GRPOConfig refuses these settings: {e}") from None


def refuse_unsafe(trainer, s: GRPOSettings) -> None:
    """Set-ups whose generation would hang or cross episodes between processes are refused here."""
    acc = trainer.accelerator
    if acc.num_processes == 1:
        return
    sharded = trainer.is_fsdp_enabled or (trainer.is_deepspeed_enabled and
                                          acc.state.deepspeed_plugin.zero_stage == 3)
    if sharded and not s.use_vllm:
        raise TrainError("[grpo]: ZeRO-3 / FSDP with several processes needs use_vllm = true: without vLLM every agent "
                         "turn gathers the sharded weights, a collective that processes whose episodes end after "
                         "different numbers of turns would wait on forever")
    if s.use_vllm and s.vllm_mode == "colocate" and trainer.args.vllm_tensor_parallel_size > 1:
        raise TrainError("[grpo]: vllm_tensor_parallel_size > 1 in colocate mode gathers prompts across processes on "
                         "every turn, which episodes of different lengths would hang; use 1, or vllm_mode = \"server\"")


def model_dtype(bf16: bool):
    """bf16 weights on a GPU when training in bf16 (fp32 on a CPU, where the tiny models train)."""
    import torch

    return torch.bfloat16 if bf16 and _cuda() else torch.float32


def train_grpo(model_path: str, tokenizer, domain: CompiledDomain, tasks: list[ir.TaskDef], out: Path,
               s: GRPOSettings, lora: LoraSettings | None, resume: str | None, metrics: MetricsLog):
    from datasets import Dataset
    from transformers import AutoConfig, AutoModelForCausalLM
    from trl import GRPOTrainer

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is experimental in TRL 1.16: known, pinned
    positions = getattr(AutoConfig.from_pretrained(model_path), "max_position_embeddings", None)
    args = grpo_arguments(s, out, positions=positions)
    context = args.vllm_max_model_length if s.use_vllm else positions
    player = RolloutPlayer(domain, tasks, tokenizer, make_user_factory(s), s.max_episode_steps, s.max_tool_errors,
                           s.max_completion_length, context)
    rollout = EpisodeRollouts(player, s, tokenizer, s.seed, int(os.environ.get("RANK", "0") or 0))
    dataset = Dataset.from_list([{"prompt": t.id} for t in tasks])
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=model_dtype(args.bf16))
    trainer = GRPOTrainer(model=model, reward_funcs=[episode_reward], args=args, train_dataset=dataset,
                          processing_class=tokenizer, rollout_func=rollout, peft_config=peft_config(lora),
                          callbacks=[step_callback(metrics, rollout.collect)])
    refuse_unsafe(trainer, s)
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

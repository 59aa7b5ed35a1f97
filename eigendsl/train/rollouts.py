"""Rollouts: G real episodes per task (policy ⇄ simulated user ⇄ compiled tools), batched.

All episodes of a batch advance together: each round renders every live conversation with the
chat template, generates every agent turn in one batched call, and steps each episode with its
reply. The reward is the task's compiled checker. After the episode the conversation is
rendered once more and masked (masks.py): the policy's own tokens get 1, tool results and user
turns 0. Also here: group-relative advantages and dynamic filtering of zero-variance groups.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

from .. import ir
from ..episode.episode import Episode
from ..episode.local import parse_generation
from ..runtime.environment import CompiledDomain
from ..verify.reward import TaskChecker
from .masks import Masked, trim_after_last
from .transcripts import Transcripts


@dataclass
class Timers:
    """Seconds spent per part of a rollout batch."""

    generation: float = 0.0
    environment: float = 0.0
    user: float = 0.0
    orchestration: float = 0.0  # rendering prompts, parsing replies, masking

    def total(self) -> float:
        return self.generation + self.environment + self.user + self.orchestration

    def to_json(self) -> dict:
        return {k: round(v, 4) for k, v in vars(self).items()}


@dataclass
class Rollout:
    task_id: str
    reward: float
    components: dict
    termination: str
    steps: int
    prompt_ids: list[int]
    completion_ids: list[int]
    env_mask: list[int]

    @property
    def policy_tokens(self) -> int:
        return sum(self.env_mask)


@dataclass
class Group:
    """The G rollouts of one task."""

    task_id: str
    rollouts: list[Rollout] = field(default_factory=list)

    @property
    def rewards(self) -> list[float]:
        return [r.reward for r in self.rollouts]

    @property
    def varies(self) -> bool:
        return len(set(self.rewards)) > 1


def group_advantages(rewards: list[float], group_size: int, scale: bool = True) -> list[float]:
    """Each reward minus its group's mean, over the group's standard deviation when SCALE (as TRL does)."""
    out = []
    for start in range(0, len(rewards), group_size):
        group = rewards[start:start + group_size]
        mean = sum(group) / len(group)
        scale_by = statistics.stdev(group) + 1e-4 if scale and len(group) > 1 else 1.0
        out += [(r - mean) / scale_by for r in group]
    return out


def fill_batch(groups: list[Group], size: int, refill: Callable[[int], list[Group]], rounds: int) -> tuple[list[Group], float]:
    """Drop the groups whose rewards all agree and refill with new ones up to SIZE groups.

    Returns the batch and the fraction of generated groups dropped. When ROUNDS of refilling
    do not find enough varying groups, dropped groups pad the batch so that it keeps its size
    (their advantages are zero, so they add no gradient)."""
    kept = [g for g in groups if g.varies]
    dropped = [g for g in groups if not g.varies]
    generated = len(groups)
    for _ in range(rounds):
        if len(kept) >= size:
            break
        new = refill(size - len(kept))
        generated += len(new)
        kept += [g for g in new if g.varies]
        dropped += [g for g in new if not g.varies]
    batch = kept[:size]
    batch += dropped[: size - len(batch)]
    return batch, (generated - len([g for g in kept])) / generated if generated else 0.0


class TimedUser:
    """A simulated user whose time is counted apart from the environment's."""

    def __init__(self, user, timers: Timers):
        self.user, self.timers = user, timers

    def reset(self, task, domain) -> None:
        started = time.perf_counter()
        self.user.reset(task, domain)
        self.timers.user += time.perf_counter() - started

    def respond(self, messages, tools):
        started = time.perf_counter()
        try:
            return self.user.respond(messages, tools)
        finally:
            self.timers.user += time.perf_counter() - started


class TransformersGenerator:
    """Batched sampling with transformers (CPU, or a GPU without vLLM)."""

    def __init__(self, model, tokenizer, max_new_tokens: int, temperature: float, top_p: float = 1.0, accelerator=None,
                 wrapped=None):
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature, self.top_p = max_new_tokens, temperature, top_p
        self.accelerator, self.wrapped = accelerator, wrapped

    def generate(self, prompts: list[str]) -> list[tuple[str, int]]:
        import torch

        tok = self.tokenizer
        side, tok.padding_side = tok.padding_side, "left"
        inputs = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        tok.padding_side = side
        model = self.model
        inputs = {k: v.to(model.device) for k, v in inputs.items()}
        sample = self.temperature > 0
        kwargs = {"do_sample": sample, "max_new_tokens": self.max_new_tokens, "pad_token_id": tok.pad_token_id,
                  "eos_token_id": tok.eos_token_id}
        if sample:
            kwargs.update(temperature=self.temperature, top_p=self.top_p, top_k=0)
        with torch.no_grad():
            if self.accelerator is not None and self.wrapped is not None:
                from trl.models import unwrap_model_for_generation

                with unwrap_model_for_generation(self.wrapped, self.accelerator) as unwrapped:
                    output = unwrapped.generate(**inputs, **kwargs)
            else:
                output = model.generate(**inputs, **kwargs)
        new = output[:, inputs["input_ids"].shape[1]:].tolist()
        out = []
        for row in new:
            if tok.eos_token_id in row:
                row = row[: row.index(tok.eos_token_id)]
            row = [t for t in row if t != tok.pad_token_id]
            out.append((tok.decode(row, skip_special_tokens=True), len(row) + 1))
        return out


class VLLMGenerator:
    """Sampling through TRL's vLLM generation (colocate or server), synced with the trained weights."""

    def __init__(self, trainer, tokenizer, max_new_tokens: int):
        self.trainer, self.tokenizer = trainer, tokenizer
        trainer.vllm_generation.max_completion_length = max_new_tokens  # per turn; TRL's is per completion

    def generate(self, prompts: list[str]) -> list[tuple[str, int]]:
        ids = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        _, completions, _, _ = self.trainer.vllm_generation.generate(prompts=ids, images=None, num_generations=1)
        eos = self.tokenizer.eos_token_id
        out = []
        for row in completions:
            row = row[: row.index(eos)] if eos in row else row
            out.append((self.tokenizer.decode(row, skip_special_tokens=True), len(row) + 1))
        return out


class RolloutPlayer:
    """Plays batches of episodes of a domain's tasks and turns them into masked token sequences."""

    def __init__(self, domain: CompiledDomain, tasks: list[ir.TaskDef], tokenizer, make_user: Callable[[], object],
                 max_steps: int = 30, max_errors: int = 5, max_completion_length: int = 1024):
        self.domain, self.tokenizer, self.make_user = domain, tokenizer, make_user
        self.tasks = {t.id: t for t in tasks}
        self.checkers = {t.id: TaskChecker(domain, t) for t in tasks}
        self.max_steps, self.max_errors, self.max_completion_length = max_steps, max_errors, max_completion_length

    def play(self, task_ids: list[str], generator, timers: Timers) -> list[Rollout]:
        """One rollout per entry of TASK_IDS, all played at once. The environment's share of the
        time is what is left of the wall time after generation, the user and orchestration."""
        started = time.perf_counter()
        before = (timers.generation, timers.user, timers.orchestration)
        episodes = [Episode(self.domain, self.tasks[t], TimedUser(self.make_user(), timers), checker=self.checkers[t],
                            max_steps=self.max_steps, max_errors=self.max_errors) for t in task_ids]
        views = [e.reset() for e in episodes]
        given = [len(v) for v in views]  # up to the user's opening: the greeting is the episode's, not the policy's
        live = [i for i, e in enumerate(episodes) if not e.done]
        transcripts = Transcripts(self.tokenizer, self.domain.tool_schemas("agent"))
        nodes = [transcripts.root] * len(episodes)
        while live:
            t0 = time.perf_counter()
            for i in live:
                nodes[i] = transcripts.extend(nodes[i], views[i])
            prompts = transcripts.prompts([nodes[i] for i in live])
            t1 = time.perf_counter()
            replies = generator.generate(prompts)
            t2 = time.perf_counter()
            messages = [parse_generation(text) for text, _ in replies]
            timers.orchestration += (t1 - t0) + (time.perf_counter() - t2)
            timers.generation += t2 - t1
            for i, message, (_, n) in zip(live, messages, replies):
                message["usage"] = {"completion_tokens": n}
                views[i] = episodes[i].step(message).observation
            live = [i for i in live if not episodes[i].done]
        t0 = time.perf_counter()
        masked = transcripts.masked([transcripts.extend(n, v) for n, v in zip(nodes, views)], given, trimmed=True)
        timers.orchestration += time.perf_counter() - t0
        rollouts = [self.finish(e, m, timers) for e, m in zip(episodes, masked)]
        inside = (timers.generation - before[0]) + (timers.user - before[1]) + (timers.orchestration - before[2])
        timers.environment += time.perf_counter() - started - inside
        return rollouts

    def finish(self, episode: Episode, masked: Masked, timers: Timers) -> Rollout:
        result = episode.result()
        t0 = time.perf_counter()
        masked = trim_after_last(masked)
        p = masked.prompt_length
        completion, env_mask = masked.input_ids[p:], masked.mask[p:]
        if not completion:  # the episode ended before the policy spoke
            completion, env_mask = [self.tokenizer.eos_token_id], [0]
        timers.orchestration += time.perf_counter() - t0
        return Rollout(episode.task.id, result.reward, dict(result.breakdown.components), result.termination,
                       result.steps, masked.input_ids[:p], completion[: self.max_completion_length],
                       env_mask[: self.max_completion_length])

"""Rollouts: G real episodes per task (policy ⇄ simulated user ⇄ compiled tools), batched.

All episodes of a batch advance together: each round generates every live agent turn in one
batched call and steps each episode with its reply. Each episode keeps its token trace: the
ids the policy sampled (mask 1, with their sampling log-probs) and, between its turns, the
tokens of the chat template's rendering of what it was given (tool results, the user's reply:
mask 0); the next turn is generated from that trace, and it is what TRL trains on. The reward
is the task's compiled checker. Also here: group-relative advantages and dynamic filtering of
zero-variance groups.
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
from ..verify import rules
from ..verify.reward import TaskChecker
from .masks import check_extends, encode, render


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
    completion_ids: list[int]   # the sampled ids of the agent's turns and, between them, what it was given
    env_mask: list[int]         # 1 over the sampled ids
    logprobs: list[float]       # of each sampled id when it was drawn; 0 over the given ones
    truncated: bool = False     # cut at the token budget (scored 0, as any early ending)

    @property
    def policy_tokens(self) -> int:
        return sum(self.env_mask)

    @property
    def scored(self) -> bool:
        """Whether the reward says something about the agent: not when the simulated user failed
        (user_error), nor when no component of a finished episode could be evaluated."""
        if self.termination == "user_error":
            return False
        return rules.ended_prematurely(self.termination) or not self.components or \
            any(v is not None for v in self.components.values())


@dataclass
class Group:
    """The G rollouts of one task."""

    task_id: str
    rollouts: list[Rollout] = field(default_factory=list)

    @property
    def rewards(self) -> list[float]:
        return [r.reward for r in self.rollouts]

    @property
    def scored_rewards(self) -> list[float]:
        return [r.reward for r in self.rollouts if r.scored]

    @property
    def varies(self) -> bool:
        return len(set(self.scored_rewards)) > 1

    def training_rewards(self) -> list[float]:
        """The rewards TRL gets: an unscored rollout gets its group's mean of the scored ones, so its
        advantage is zero (it teaches nothing) and the group's mean is the scored rollouts' own."""
        scored = self.scored_rewards
        mean = sum(scored) / len(scored) if scored else 0.0
        return [r.reward if r.scored else mean for r in self.rollouts]


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


@dataclass(frozen=True)
class Sample:
    """One generated agent turn: the token ids as sampled (through the end-of-turn token when the
    turn ended there), the log-probability of each under the distribution it was drawn from, and
    the decoded text."""

    ids: list[int]
    logprobs: list[float]
    text: str
    stopped: bool  # ended with the end-of-turn token (else cut at the turn's token limit)


def sample(ids: list[int], logprobs: list[float], tokenizer) -> Sample:
    """The sample of one row of generated ids: cut after the first end-of-turn token and before any padding."""
    eos = tokenizer.eos_token_id
    stopped = eos in ids
    if stopped:
        ids = ids[: ids.index(eos) + 1]
    elif tokenizer.pad_token_id in ids:
        ids = ids[: ids.index(tokenizer.pad_token_id)]
    return Sample(ids, logprobs[: len(ids)], tokenizer.decode(ids, skip_special_tokens=True), stopped)


class SampledLogprobs:
    """A logits processor placed after temperature and top-p: records the log-probability of each
    sampled token under the distribution it was drawn from (one step's distribution held at a time)."""

    def __init__(self):
        self.steps: list = []
        self.last = None

    def __call__(self, input_ids, scores):
        import torch

        if self.last is not None:  # input_ids now ends with the token drawn from the previous step's distribution
            self.steps.append(self.last.gather(1, input_ids[:, -1:]).squeeze(1))
        self.last = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def finish(self, sequences) -> list[list[float]]:
        import torch

        if self.last is None:
            return [[] for _ in range(sequences.shape[0])]
        steps = [*self.steps, self.last.gather(1, sequences[:, -1:]).squeeze(1)]
        return torch.stack(steps, dim=1).tolist()


class TransformersGenerator:
    """Batched sampling with transformers (CPU, or a GPU without vLLM), from token ids."""

    def __init__(self, model, tokenizer, max_new_tokens: int, temperature: float, top_p: float = 1.0, accelerator=None,
                 wrapped=None):
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature, self.top_p = max_new_tokens, temperature, top_p
        self.accelerator, self.wrapped = accelerator, wrapped

    def generate(self, prompts: list[list[int]], max_new_tokens: int | None = None) -> list[Sample]:
        import torch
        from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

        tok, model = self.tokenizer, self.model
        width = max(map(len, prompts))
        input_ids = torch.tensor([[tok.pad_token_id] * (width - len(p)) + p for p in prompts], device=model.device)
        attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=model.device)
        recorder = SampledLogprobs()
        do_sample = self.temperature > 0
        # The warpers are passed here (and generate's own switched off) so that the recorder sees the final distribution.
        warpers = [TemperatureLogitsWarper(self.temperature)] if do_sample else []
        if do_sample and self.top_p < 1.0:
            warpers.append(TopPLogitsWarper(self.top_p))
        kwargs = {"do_sample": do_sample, "max_new_tokens": min(self.max_new_tokens, max_new_tokens or self.max_new_tokens), "pad_token_id": tok.pad_token_id,
                  "eos_token_id": tok.eos_token_id, "temperature": 1.0, "top_p": 1.0, "top_k": 0,
                  "logits_processor": LogitsProcessorList([*warpers, recorder])}
        with torch.no_grad():
            if self.accelerator is not None and self.wrapped is not None:
                from trl.models import unwrap_model_for_generation

                with unwrap_model_for_generation(self.wrapped, self.accelerator) as unwrapped:
                    output = unwrapped.generate(input_ids=input_ids, attention_mask=attention, **kwargs)
            else:
                output = model.generate(input_ids=input_ids, attention_mask=attention, **kwargs)
        logprobs = recorder.finish(output)
        return [sample(row, lp, tok) for row, lp in zip(output[:, width:].tolist(), logprobs)]


class VLLMGenerator:
    """Sampling through TRL's vLLM generation (colocate or server), synced with the trained weights."""

    def __init__(self, trainer, tokenizer, max_new_tokens: int):
        self.trainer, self.tokenizer, self.max_new_tokens = trainer, tokenizer, max_new_tokens

    def generate(self, prompts: list[list[int]], max_new_tokens: int | None = None) -> list[Sample]:
        vllm = self.trainer.vllm_generation
        vllm.max_completion_length = min(self.max_new_tokens, max_new_tokens or self.max_new_tokens)  # per turn
        if vllm.mode == "server":
            # each process asks the server for its own episodes' turns: TRL's server path gathers
            # every process's prompts and slices the answers by rank, which needs every process to
            # call it equally often, and episodes end after different numbers of rounds
            out = server_client(vllm).generate(prompts=prompts, n=1, temperature=vllm.temperature, top_p=vllm.top_p,
                                            top_k=vllm.top_k, min_p=0.0 if vllm.min_p is None else vllm.min_p,
                                            repetition_penalty=vllm.repetition_penalty,
                                            max_tokens=vllm.max_completion_length, logprobs=0)
            completions, logprobs = out["completion_ids"], out["logprobs"]
        else:
            _, completions, logprobs, _ = vllm.generate(prompts=prompts, images=None, num_generations=1)
        return [sample(row, [lp[0] for lp in lps], self.tokenizer) for row, lps in zip(completions, logprobs)]


def server_client(vllm):
    """The vLLM server's client: TRL's on the main process (which also syncs the weights), a plain
    one of this process's own elsewhere (vLLM's server batches concurrent requests itself)."""
    if getattr(vllm, "vllm_client", None) is None:
        from trl.generation.vllm_client import VLLMClient

        url = vllm.server_base_url or f"http://{vllm.server_host}:{vllm.server_port}"
        vllm.vllm_client = VLLMClient(base_url=url, connection_timeout=vllm.server_timeout)
    return vllm.vllm_client


class TokenTrace:
    """One episode's tokens exactly as the policy saw and sampled them.

    The prompt is the rendering up to the first agent turn; then, turn by turn, the sampled ids
    (mask 1, with their log-probs) and the tokens the policy is given before its next turn (the
    rest of the template's rendering of its message after the end-of-turn token, tool results,
    the user's reply, the generation prompt: mask 0). The next turn is generated from these ids,
    so what TRL trains on is what was sampled, in the context it was sampled in."""

    def __init__(self, tokenizer, messages: list[dict], tools: list[dict] | None):
        self.tokenizer, self.tools = tokenizer, tools
        self.text = render(tokenizer, messages, tools, generation_prompt=True)  # what the ids stand for
        self.ids = encode(tokenizer, self.text)
        self.prompt_length = len(self.ids)
        self.mask = [0] * len(self.ids)
        self.logprobs = [0.0] * len(self.ids)
        self.pending: Sample | None = None
        self.at = len(messages)  # where the agent's next message goes in the conversation

    def sampled(self, turn: Sample) -> None:
        self.ids += turn.ids
        self.mask += [1] * len(turn.ids)
        self.logprobs += turn.logprobs
        self.pending = turn

    def given(self, messages: list[dict]) -> None:
        """Extend with what the policy is given after its last turn: MESSAGES is the conversation now."""
        through = render(self.tokenizer, messages[: self.at + 1], self.tools)
        now = render(self.tokenizer, messages, self.tools, generation_prompt=True)
        check_extends(through, self.text)
        check_extends(now, through)
        own, end = through[len(self.text):], self.tokenizer.eos_token or ""
        cut = own.rfind(end) if end else -1
        # after a turn that stopped, the template's text after its end-of-turn token is given; after a cut one, the end too
        tail = "" if cut < 0 else own[cut + len(end):] if self.pending.stopped else own[cut:]
        given = encode(self.tokenizer, tail + now[len(through):])
        self.ids += given
        self.mask += [0] * len(given)
        self.logprobs += [0.0] * len(given)
        self.text, self.at, self.pending = now, len(messages), None


class RolloutPlayer:
    """Plays batches of episodes of a domain's tasks and keeps each one's token trace."""

    def __init__(self, domain: CompiledDomain, tasks: list[ir.TaskDef], tokenizer, make_user: Callable[[], object],
                 max_steps: int = 30, max_errors: int = 5, max_completion_length: int = 1024,
                 max_context: int | None = None):
        self.domain, self.tokenizer, self.make_user = domain, tokenizer, make_user
        self.tasks = {t.id: t for t in tasks}
        self.checkers = {t.id: TaskChecker(domain, t) for t in tasks}
        self.max_steps, self.max_errors, self.max_completion_length = max_steps, max_errors, max_completion_length
        self.max_context = max_context  # vLLM's max_model_len, or the model's positions: prompt + completion

    def budget(self, trace: TokenTrace) -> int:
        """Tokens the episode may still add: within max_completion_length and the context."""
        left = self.max_completion_length - (len(trace.ids) - trace.prompt_length)
        return min(left, self.max_context - len(trace.ids)) if self.max_context else left

    def play(self, task_ids: list[str], generator, timers: Timers) -> list[Rollout]:
        """One rollout per entry of TASK_IDS, all played at once. The environment's share of the
        time is what is left of the wall time after generation, the user and orchestration."""
        started = time.perf_counter()
        before = (timers.generation, timers.user, timers.orchestration)
        episodes = [Episode(self.domain, self.tasks[t], TimedUser(self.make_user(), timers), checker=self.checkers[t],
                            max_steps=self.max_steps, max_errors=self.max_errors) for t in task_ids]
        views = [e.reset() for e in episodes]
        t0 = time.perf_counter()
        traces = [TokenTrace(self.tokenizer, v, e.tools) for e, v in zip(episodes, views)]
        timers.orchestration += time.perf_counter() - t0
        cut: set[int] = set()
        live = [i for i, e in enumerate(episodes) if not e.done]
        while live:
            t0 = time.perf_counter()
            for i in live:
                if traces[i].pending is not None:
                    traces[i].given(views[i])
            left = {i: self.budget(traces[i]) for i in live}
            for i in [i for i in live if left[i] <= 0]:  # what it was given used up the budget
                self.cut(episodes[i], cut, i)
            live = [i for i in live if not episodes[i].done]
            if not live:
                break
            t1 = time.perf_counter()
            turns = generator.generate([traces[i].ids for i in live], max(left[i] for i in live))
            t2 = time.perf_counter()
            messages = [parse_generation(turn.text) for turn in turns]
            timers.orchestration += (t1 - t0) + (time.perf_counter() - t2)
            timers.generation += t2 - t1
            for i, message, turn in zip(live, messages, turns):
                if len(turn.ids) > left[i] or (len(turn.ids) == left[i] and not turn.stopped):
                    # the turn ran into the budget: its tokens up to it are trained, the episode ends there
                    turn = Sample(turn.ids[: left[i]], turn.logprobs[: left[i]], "", False)
                    traces[i].sampled(turn)
                    self.cut(episodes[i], cut, i)
                    continue
                message["usage"] = {"completion_tokens": len(turn.ids)}
                traces[i].sampled(turn)
                views[i] = episodes[i].step(message).observation
            live = [i for i in live if not episodes[i].done]
        rollouts = [self.finish(e, trace, i in cut) for i, (e, trace) in enumerate(zip(episodes, traces))]
        inside = (timers.generation - before[0]) + (timers.user - before[1]) + (timers.orchestration - before[2])
        timers.environment += time.perf_counter() - started - inside
        return rollouts

    @staticmethod
    def cut(episode: Episode, cut: set[int], i: int) -> None:
        """End an episode at its token budget: an early ending, so its reward is 0."""
        episode.fail_agent("token budget: the episode reached max_completion_length or the model's context")
        cut.add(i)

    def finish(self, episode: Episode, trace: TokenTrace, truncated: bool = False) -> Rollout:
        result = episode.result()
        p, n = trace.prompt_length, self.max_completion_length
        completion, env_mask, logprobs = trace.ids[p:], trace.mask[p:], trace.logprobs[p:]
        if not completion:  # the episode ended before the policy spoke
            completion, env_mask, logprobs = [self.tokenizer.eos_token_id], [0], [0.0]
        assert not any(env_mask[n:]), "the budget keeps every sampled token inside max_completion_length"
        # past n lie only tokens the policy was given after its budget ran out (the episode then ended, reward 0)
        return Rollout(episode.task.id, result.reward, dict(result.breakdown.components), result.termination,
                       result.steps, trace.ids[:p], completion[:n], env_mask[:n], logprobs[:n], truncated)

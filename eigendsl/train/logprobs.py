"""Sampled against recomputed log-probs: the check that a rollout's recorded log-probs are the policy's.

GRPO's loss (and TRL's importance-sampling correction under vLLM) takes the log-probs recorded
while sampling as the old policy's. Recomputing them with one forward pass over the episode's
token trace, at the sampling temperature, must give the same figures per sampled token up to the
precision of the dtype; a gap larger than that means the trace and what was sampled disagree
(a tokenisation round trip, a template that renders differently, a lost token).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LogprobGap:
    """Absolute differences between sampled and recomputed log-probs over the sampled tokens."""

    tokens: int               # sampled tokens compared
    episodes: int
    token_max: float          # largest per-token |sampled - recomputed|
    token_mean: float
    episode_max: float        # largest |sum sampled - sum recomputed| of one episode
    episode_mean_per_token: float  # mean over episodes of that sum's gap divided by the episode's sampled tokens

    def line(self) -> str:
        return (f"{self.tokens} sampled tokens in {self.episodes} episodes: per token max {self.token_max:.2e} "
                f"mean {self.token_mean:.2e}; per episode sum max {self.episode_max:.2e} "
                f"({self.episode_mean_per_token:.2e} per token)")


def recompute(model, prompt_ids: list[int], completion_ids: list[int], temperature: float = 1.0) -> list[float]:
    """Log-prob of each completion token given everything before it, from one forward pass at TEMPERATURE."""
    import torch

    ids = torch.tensor([prompt_ids + completion_ids], device=model.device)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, len(prompt_ids) - 1: -1].float()
    if temperature > 0:
        logits = logits / temperature
    logps = torch.log_softmax(logits, dim=-1)
    return logps.gather(1, ids[0, len(prompt_ids):, None].to(logps.device)).squeeze(1).tolist()


def compare(rollouts, recomputed: list[list[float]]) -> LogprobGap:
    """The gap over the sampled tokens (env_mask 1) of ROLLOUTS, against RECOMPUTED (one list per rollout)."""
    diffs: list[float] = []
    episode_gaps: list[float] = []
    per_token: list[float] = []
    for r, again in zip(rollouts, recomputed, strict=True):
        if len(again) != len(r.completion_ids):
            raise ValueError(f"recomputed {len(again)} log-probs for a completion of {len(r.completion_ids)} tokens")
        pairs = [(s, a) for s, a, m in zip(r.logprobs, again, r.env_mask) if m]
        if not pairs:
            continue
        diffs += [abs(s - a) for s, a in pairs]
        gap = abs(sum(s for s, _ in pairs) - sum(a for _, a in pairs))
        episode_gaps.append(gap)
        per_token.append(gap / len(pairs))
    if not diffs:
        raise ValueError("no sampled tokens to compare")
    return LogprobGap(len(diffs), len(episode_gaps), max(diffs), sum(diffs) / len(diffs), max(episode_gaps),
                      sum(per_token) / len(per_token))

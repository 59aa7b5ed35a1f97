"""Sampled against recomputed log-probs (eigendsl.train.logprobs): a tiny random model's sampled
turns, recomputed by one forward pass, agree per token in fp32; a corrupted trace is caught; TRL's
logged sampling figures (the vLLM importance-sampling ratio) reach metrics.jsonl."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


class Tok:
    """Just what TransformersGenerator and sample() use of a tokenizer."""

    pad_token_id, eos_token_id = 0, 1

    def decode(self, ids, skip_special_tokens=True):
        return " ".join(map(str, ids))


@pytest.fixture(scope="module")
def played():
    from transformers import LlamaConfig, LlamaForCausalLM

    from eigendsl.train.rollouts import Rollout, TransformersGenerator

    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=4, num_key_value_heads=4, pad_token_id=0, eos_token_id=1))
    model.eval()
    prompts = [[5, 6, 7, 8, 9, 10], [11, 12, 13]]  # different lengths: the shorter one is left-padded when sampled
    turns = TransformersGenerator(model, Tok(), max_new_tokens=12, temperature=0.7).generate(prompts)
    rollouts = []
    for p, t in zip(prompts, turns):
        given = [20, 21]  # a tool result after the turn: not sampled, logprob 0, masked out of the comparison
        rollouts.append(Rollout("t", 0.0, {}, "done", 1, p, t.ids + given, [1] * len(t.ids) + [0, 0],
                                t.logprobs + [0.0, 0.0]))
    return model, rollouts


def test_sampled_log_probs_agree_with_a_forward_pass(played):
    from eigendsl.train.logprobs import compare, recompute

    model, rollouts = played
    again = [recompute(model, r.prompt_ids, r.completion_ids, temperature=0.7) for r in rollouts]
    gap = compare(rollouts, again)
    assert gap.episodes == 2 and gap.tokens == sum(sum(r.env_mask) for r in rollouts)
    assert gap.token_max < 1e-4 and gap.episode_max < 1e-3
    assert "per token max" in gap.line()
    wrong = [recompute(model, r.prompt_ids, r.completion_ids, temperature=1.0) for r in rollouts]
    assert compare(rollouts, wrong).token_max > 1e-3  # the wrong temperature is a different distribution


def test_a_shifted_trace_is_caught(played):
    from eigendsl.train.logprobs import compare, recompute

    model, rollouts = played
    r = rollouts[0]
    shifted = [recompute(model, r.prompt_ids + [r.completion_ids[0]], r.completion_ids[1:], 0.7) + [0.0]]
    assert compare([r], shifted).token_max > 1e-2  # one token lost between sampling and training
    with pytest.raises(ValueError, match="recomputed 1 log-probs"):
        compare([r], [[0.0]])


def test_trls_sampling_figures_reach_the_metrics_record():
    pytest.importorskip("trl")
    from eigendsl.train.config import GRPOSettings
    from eigendsl.train.grpo import EpisodeRollouts

    rollouts = EpisodeRollouts(None, GRPOSettings(), None, seed=0)
    rollouts.pending = {"reward": 0.5, "time": {"generation": 1.0}}
    logs = {"loss": 0.1, "sampling/importance_sampling_ratio/mean": 1.01, "sampling/sampling_logp_difference/max": 0.2,
            "reward": 0.5}
    record = rollouts.collect(None, logs, seconds=3.0)
    assert record["sampling"] == {"sampling/importance_sampling_ratio/mean": 1.01,
                                  "sampling/sampling_logp_difference/max": 0.2}  # what the GPU check's vllm step reads
    assert record["time"]["training"] == 3.0 and record["loss"] == 0.1
    assert "sampling" not in rollouts.collect(None, {"loss": 0.1}, 1.0)  # without vLLM TRL logs none

"""Training benchmark: rollout throughput of GRPO's episode loop with a tiny model on the CPU.

    python benchmarks/bench_train.py                 # tiny shop, 20 RL tasks x G=8
    python benchmarks/bench_train.py --sft-steps 50 --generations 8 --model tiny:hidden=512,layers=4,heads=8

A tiny random model (`tiny:hidden=128` unless --model says otherwise) is first taught the tiny shop's oracle dialogues by SFT (so that
episodes have their real length: tool call, result, closing), then the rollout loop of
`eigendsl train --stage grpo` plays every RL task G times, all episodes batched, three passes.
Reported per pass and as the median:
  rollouts_per_s   finished episodes per second of rollout time
  generation_s     time in the model's generate()
  environment_s    episode steps: tool calls on copy-on-write state, the checker
  user_s           the scripted user
  orchestration_s  rendering prompts with the chat template, parsing replies, masking tokens
  outside_pct      share of rollout time outside generation (target: under 1%)
  outside_ms_per_turn  time outside generation per agent turn generated, in milliseconds
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sft-steps", type=int, default=50)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--model", default="tiny:hidden=128", help="the tiny model's spec (tiny:hidden=...,layers=...)")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM

    from eigendsl.episode.users import ScriptedUser
    from eigendsl.compiler import load_domain
    from eigendsl.runtime.environment import CompiledDomain
    from eigendsl.compiler import compile_file
    from eigendsl.train.config import SFTSettings
    from eigendsl.train.data import oracle_dialogues
    from eigendsl.train.metrics import MetricsLog
    from eigendsl.train.rollouts import RolloutPlayer, Timers, TransformersGenerator
    from eigendsl.train.run import load_tokenizer, resolve_model, save_final
    from eigendsl.train.sft import train_sft

    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = ROOT / "tests" / "data"
    domain = load_domain(data / "tinyshop.eig")
    rl = compile_file(data / "tinyshop_rl.eig")
    rl_domain = CompiledDomain.from_compilation(rl)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        dialogues = oracle_dialogues(domain, list(domain.ir.tasks))
        base = resolve_model(args.model, out, domain, dialogues)
        tokenizer = load_tokenizer(base)
        started = time.perf_counter()
        trainer = train_sft(base, tokenizer, dialogues, out / "sft",
                            SFTSettings(learning_rate=3e-3, max_steps=args.sft_steps, save_steps=10**6), None, None,
                            MetricsLog(out / "metrics.jsonl"))
        save_final(trainer, tokenizer, out / "final", base)
        print(f"sft: {args.sft_steps} steps in {time.perf_counter() - started:.1f}s")
        model = AutoModelForCausalLM.from_pretrained(out / "final")
        tasks = list(rl.domain.tasks)
        player = RolloutPlayer(rl_domain, tasks, tokenizer, ScriptedUser, max_steps=30, max_errors=5)
        generator = CountingGenerator(TransformersGenerator(model, tokenizer, 48, 1.0))
        ids = [t.id for t in tasks for _ in range(args.generations)]
        rows = []
        for n in range(args.passes):
            timers = Timers()
            generator.turns = 0
            rollouts = player.play(ids, generator, timers)
            total = timers.total()
            rows.append({"rollouts_per_s": len(rollouts) / total, "generation_s": timers.generation,
                         "environment_s": timers.environment, "user_s": timers.user,
                         "orchestration_s": timers.orchestration, "outside_pct": 100 * (total - timers.generation) / total,
                         "outside_ms_per_turn": 1000 * (total - timers.generation) / generator.turns,
                         "turns": generator.turns, "reward": sum(r.reward for r in rollouts) / len(rollouts)})
            print(f"pass {n + 1}: " + " ".join(f"{k}={v:.4g}" for k, v in rows[-1].items()))
        median = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        print(f"{len(ids)} rollouts per pass ({len(tasks)} tasks x G={args.generations}); median: "
              + " ".join(f"{k}={v:.4g}" for k, v in median.items()))
        print(f"train_rollouts_per_s={median['rollouts_per_s']:.2f} train_outside_generation_pct={median['outside_pct']:.2f} "
              f"train_outside_ms_per_turn={median['outside_ms_per_turn']:.3f}")


class CountingGenerator:
    """A generator that counts the agent turns it generates."""

    def __init__(self, generator):
        self.generator, self.turns = generator, 0

    def generate(self, prompts: list[list[int]], max_new_tokens: int | None = None):
        self.turns += len(prompts)
        return self.generator.generate(prompts, max_new_tokens)


if __name__ == "__main__":
    main()

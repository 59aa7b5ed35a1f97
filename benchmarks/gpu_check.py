"""What one GPU without network proves about `eigendsl train`, in one run (scripts/gpu_check.sh).

    python benchmarks/gpu_check.py WORK          # on one GPU: 0.5B shape, bf16; about 6-7 min on an H100 (estimate)
    python benchmarks/gpu_check.py WORK --cpu    # the same steps at toy sizes on a CPU (about 1 min here)
    python benchmarks/gpu_check.py WORK --missing  # the distributions to carry in as wheels (docs/training.md)

Checks, one summary line each (`gpu_check: NAME: ok|FAIL|skipped: ...`), exit status 1 on any FAIL:
  env       imports, the card, the versions
  model     a randomly initialised Qwen2-architecture model of Qwen2.5-0.5B's shape (hidden 896, 24
            layers, 14 heads, 2 kv heads, intermediate 4864, 151,936 embedding rows) with TRL's
            shipped Qwen2.5 chat template and a BPE tokenizer trained here on the airline domain's
            text with Qwen's special tokens (Qwen's own tokenizer would need the network); saved to WORK/base
  generate  transformers generation in bf16: 4 prompts x 128 new tokens, tokens/s
  sft       `eigendsl train compiled/airline --stage sft`, 20 steps on the oracle dialogues
  grpo      `--stage grpo`, 3 steps with transformers generation and the scripted user
  logprobs  episodes sampled by the GRPO model against log-probs recomputed by a forward pass, per
            sampled token and summed per episode (eigendsl.train.logprobs); fails above the tolerance
  memory    peak memory of one forward+backward of a 16,384-token micro-batch (activation checkpointing, bf16)
  vllm      where vLLM imports: 3 GRPO steps in TRL's colocate mode; fails unless TRL's logged
            importance-sampling ratio (mean, every step) lies in [0.9, 1.1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
AIRLINE = ROOT / "compiled" / "airline"

# Qwen2.5-0.5B's config; the CPU mode keeps the architecture at toy sizes.
SHAPES = {
    "gpu": {"hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
            "intermediate_size": 4864, "vocab_size": 151936},
    "cpu": {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "intermediate_size": 128, "vocab_size": None},  # None: the tokenizer's own size
}
SIZES = {  # tokenizer vocabulary, steps, token counts
    "gpu": {"bpe": 8192, "sft_steps": 20, "grpo_steps": 3, "new_tokens": 128, "micro_batch": 16384,
            "turn_tokens": 64, "episode_steps": 6, "completion": 1024, "generations": 4, "episodes": 8},
    "cpu": {"bpe": 4000, "sft_steps": 2, "grpo_steps": 1, "new_tokens": 8, "micro_batch": 512,
            "turn_tokens": 8, "episode_steps": 2, "completion": 64, "generations": 2, "episodes": 2},
}
# |sampled - recomputed| allowed: per token (max in fp32, mean in bf16) and per episode's sum, per
# sampled token. fp32 agrees to rounding; the bf16 figures are a first guess, to be set from a measured run.
TOLERANCE = {"fp32": (1e-3, 1e-3), "bf16": (0.1, 0.05)}
QWEN_SPECIAL = ["<|endoftext|>", "<|im_end|>", "<|im_start|>"]  # pad, end of turn, start of turn


# What the check imports, as (module, distribution to pip download); the device image lacks some (docs/training.md).
NEEDED = [("torch", "torch"), ("transformers", "transformers"), ("tokenizers", "tokenizers"), ("trl", "trl==1.16.0"),
          ("accelerate", "accelerate==1.15.0"), ("datasets", "datasets==5.2.0"), ("pyarrow", "pyarrow"),
          ("pandas", "pandas"), ("dill", "dill"), ("multiprocess", "multiprocess"), ("xxhash", "xxhash"),
          ("fsspec", "fsspec"), ("z3", "z3-solver"), ("lark", "lark"), ("pydantic", "pydantic"),
          ("networkx", "networkx"), ("click", "click"), ("rich", "rich"), ("jinja2", "jinja2")]


def missing() -> list[str]:
    """The distributions whose modules this Python cannot find."""
    from importlib.util import find_spec

    return [dist for module, dist in NEEDED if find_spec(module) is None]


class Check:
    def __init__(self):
        self.failed = False

    def report(self, name: str, status: str, detail: str) -> None:
        self.failed |= status == "FAIL"
        print(f"gpu_check: {name}: {status}: {detail}", flush=True)

    def run(self, name: str, fn, *args) -> object:
        started = time.perf_counter()
        try:
            result = fn(*args)
        except Skipped as e:
            self.report(name, "skipped", str(e))
            return None
        except Exception as e:  # a failed check is reported and the others still run
            traceback.print_exc()
            self.report(name, "FAIL", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            return None
        finally:
            release()
        status, detail = result if isinstance(result, tuple) else ("ok", result)
        self.report(name, status, f"{detail} ({time.perf_counter() - started:.1f}s)")
        return status == "ok"


class Skipped(Exception):
    pass


def release() -> None:
    """Give back a check's GPU memory: the train runs are other processes, and vLLM asks for a share of the card free."""
    import gc

    gc.collect()
    if "torch" in sys.modules and sys.modules["torch"].cuda.is_available():
        sys.modules["torch"].cuda.empty_cache()


def check_env(cpu: bool) -> str:
    import accelerate
    import torch
    import transformers
    import trl

    versions = f"torch {torch.__version__}, transformers {transformers.__version__}, trl {trl.__version__}, accelerate {accelerate.__version__}"
    if cpu:
        return f"CPU mode, {versions}"
    if not torch.cuda.is_available():
        raise RuntimeError("no CUDA device is visible (use --cpu for the toy-sized run)")
    try:
        import vllm
        versions += f", vllm {vllm.__version__}"
    except ImportError:
        versions += ", no vllm"
    return f"{torch.cuda.get_device_name(0)}, {versions}"


def build_model(work: Path, mode: str) -> str:
    import torch
    import trl
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    from eigendsl.compiler import load_domain
    from eigendsl.train.data import oracle_dialogues
    from eigendsl.train.run import corpus

    domain = load_domain(AIRLINE)
    text = corpus(domain, oracle_dialogues(domain, [t for t in domain.ir.tasks if t.gold][:20]))
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(text, trainers.BpeTrainer(vocab_size=SIZES[mode]["bpe"], special_tokens=QWEN_SPECIAL,
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=QWEN_SPECIAL[0], eos_token=QWEN_SPECIAL[1],
                                        additional_special_tokens=QWEN_SPECIAL[2:])
    tokenizer.chat_template = (Path(trl.__file__).parent / "chat_templates" / "qwen2_5.jinja").read_text()
    shape = dict(SHAPES[mode])
    shape["vocab_size"] = shape["vocab_size"] or len(tokenizer)
    torch.manual_seed(0)
    config = Qwen2Config(**shape, max_position_embeddings=32768, tie_word_embeddings=True, rope_theta=1e6,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=tokenizer.pad_token_id)
    model = Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    base = work / "base"
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    params = sum(p.numel() for p in model.parameters())
    return f"Qwen2 {params / 1e6:.1f}M parameters, {shape['vocab_size']} embedding rows, tokenizer {len(tokenizer)} tokens -> {base}"


def load(path: Path, cpu: bool):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.float32 if cpu else torch.bfloat16
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to("cpu" if cpu else "cuda")
    return model.eval(), AutoTokenizer.from_pretrained(path)


def check_generate(work: Path, mode: str) -> str:
    import torch

    cpu = mode == "cpu"
    model, tok = load(work / "base", cpu)
    policy = (AIRLINE / "policy.md").read_text(encoding="utf-8")[:3000]
    asks = ["I want to cancel my reservation.", "Can I change my flight to tomorrow?",
            "How many bags may I check?", "My flight was delayed, what can you do?"]
    prompts = [tok.apply_chat_template([{"role": "system", "content": policy}, {"role": "user", "content": a}],
                                       tokenize=False, add_generation_prompt=True) for a in asks]
    tok.padding_side = "left"
    batch = tok(prompts, return_tensors="pt", padding=True).to(model.device)
    n = SIZES[mode]["new_tokens"]
    sync = (lambda: None) if cpu else torch.cuda.synchronize
    sync()
    started = time.perf_counter()
    with torch.no_grad():
        out = model.generate(**batch, do_sample=True, max_new_tokens=n, min_new_tokens=n, pad_token_id=tok.pad_token_id)
    sync()
    seconds = time.perf_counter() - started
    made = out.shape[1] - batch["input_ids"].shape[1]
    if made != n:
        raise RuntimeError(f"generated {made} tokens per prompt, asked for {n}")
    return (f"{'fp32 (no GPU, so not bf16)' if cpu else 'bf16'}, {len(asks)} prompts of {batch['input_ids'].shape[1]} "
            f"tokens x {n} new: {len(asks) * n / seconds:.1f} tokens/s")


def write_config(work: Path, mode: str, vllm: bool = False) -> Path:
    s, gpu = SIZES[mode], mode == "gpu"
    G = s["generations"]
    lines = ["[sft]", "learning_rate = 1e-4", f"max_steps = {s['sft_steps']}", "per_device_train_batch_size = 1",
             f"max_length = {16384 if gpu else 8192}", f"save_steps = {s['sft_steps']}", f"bf16 = {str(gpu).lower()}",
             f"activation_checkpointing = {str(gpu).lower()}", "",
             "[grpo]", "learning_rate = 1e-6", f"max_steps = {s['grpo_steps']}", f"num_generations = {G}",
             # 2 tasks x G per step, trained G episodes per micro-batch; no activation checkpointing, since the
             # rollout's transformers generation runs in training mode, where checkpointing switches its KV cache off
             f"per_device_train_batch_size = {G}", "gradient_accumulation_steps = 2", f"max_turn_tokens = {s['turn_tokens']}",
             f"max_episode_steps = {s['episode_steps']}", f"max_completion_length = {s['completion']}",
             "dynamic_filtering = false", f"save_steps = {s['grpo_steps']}", f"bf16 = {str(gpu).lower()}"]
    if vllm:
        lines += ["use_vllm = true", 'vllm_mode = "colocate"', "vllm_gpu_memory_utilization = 0.3",
                  'vllm_importance_sampling_mode = "token_truncate"']
    lines += ["", "[grpo.trl]", "steps_per_generation = 2"]
    path = work / ("train_vllm.toml" if vllm else "train.toml")
    path.write_text("\n".join(lines) + "\n")
    return path


def train(work: Path, mode: str, stage: str, model: str, out: str, config: Path) -> list[dict]:
    """Run `eigendsl train` as a user would (under accelerate launch on a GPU); its metrics."""
    if mode == "gpu":
        launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                  str(ROOT / "configs/accelerate/single_gpu.yaml"), "-m", "eigendsl.cli"]
    else:
        launch = [sys.executable, "-m", "eigendsl.cli"]
    command = [*launch, "train", str(AIRLINE), "--stage", stage, "--model", model, "--out", str(work / out),
               "--config", str(config)]
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))  # and where carried wheels went
    env = {**os.environ, "PYTHONPATH": path, "TRL_EXPERIMENTAL_SILENCE": "1"}
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    (work / f"{out}.log").write_text(done.stdout + done.stderr)
    if done.returncode:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        print("\n".join(tail), file=sys.stderr)
        raise RuntimeError(f"eigendsl train --stage {stage} exited {done.returncode} (log: {work / out}.log)")
    if not (work / out / "final" / "config.json").is_file():
        raise RuntimeError(f"no final model in {work / out}")
    return [json.loads(line) for line in (work / out / "metrics.jsonl").read_text().splitlines()]


def check_sft(work: Path, mode: str) -> str:
    steps = SIZES[mode]["sft_steps"]
    records = train(work, mode, "sft", str(work / "base"), "sft", write_config(work, mode))
    if [r["step"] for r in records] != list(range(1, steps + 1)):
        raise RuntimeError(f"expected metrics for steps 1-{steps}, found {[r['step'] for r in records]}")
    losses = [r["loss"] for r in records]
    return f"{steps} steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}"


def check_grpo(work: Path, mode: str, vllm: bool = False) -> tuple[str, str] | str:
    steps = SIZES[mode]["grpo_steps"]
    out = "grpo_vllm" if vllm else "grpo"
    records = train(work, mode, "grpo", str(work / "sft" / "final"), out, write_config(work, mode, vllm))
    if [r["step"] for r in records] != list(range(1, steps + 1)):
        raise RuntimeError(f"expected metrics for steps 1-{steps}, found {[r['step'] for r in records]}")
    parts = []
    for r in records:
        t = r["time"]
        rollout_s = t["generation"] + t["environment"] + t["user"] + t["orchestration"]
        parts.append(f"step {r['step']}: reward {r['reward']:.2f}, {r['rollouts']} rollouts, "
                     f"{r['tokens']['policy']} policy tokens, rollout {rollout_s:.1f}s, training {t['training']:.1f}s")
    if not vllm:
        return "; ".join(parts)
    ratios = [r.get("sampling", {}).get("sampling/importance_sampling_ratio/mean") for r in records]
    if any(x is None for x in ratios):
        return "FAIL", f"TRL logged no importance-sampling ratio in some step: {ratios}; " + "; ".join(parts)
    shown = ", ".join(f"{x:.4f}" for x in ratios)
    if not all(0.9 <= x <= 1.1 for x in ratios):
        return "FAIL", f"importance-sampling ratio (mean per step) {shown} outside [0.9, 1.1]"
    return "ok", f"importance-sampling ratio (mean per step) {shown} in [0.9, 1.1]; " + "; ".join(parts)


def check_logprobs(work: Path, mode: str) -> tuple[str, str]:
    from eigendsl.compiler import load_domain
    from eigendsl.episode.users import ScriptedUser
    from eigendsl.train.logprobs import compare, recompute
    from eigendsl.train.rollouts import RolloutPlayer, Timers, TransformersGenerator

    s, cpu = SIZES[mode], mode == "cpu"
    model, tok = load(work / "grpo" / "final", cpu)
    domain = load_domain(AIRLINE)
    tasks = [t for t in domain.ir.tasks if t.gold][: s["episodes"]]
    player = RolloutPlayer(domain, tasks, tok, ScriptedUser, s["episode_steps"], 5, s["completion"],
                           model.config.max_position_embeddings)
    rollouts = player.play([t.id for t in tasks], TransformersGenerator(model, tok, s["turn_tokens"], 1.0), Timers())
    gap = compare(rollouts, [recompute(model, r.prompt_ids, r.completion_ids, 1.0) for r in rollouts])
    dtype = "fp32" if cpu else "bf16"
    per_token, per_episode = TOLERANCE[dtype]
    token_figure = gap.token_max if cpu else gap.token_mean
    ok = token_figure <= per_token and gap.episode_mean_per_token <= per_episode
    what = "max" if cpu else "mean"
    return ("ok" if ok else "FAIL"), (f"{dtype}, {gap.line()}; limits: per token {what} {per_token:g}, "
                                      f"per episode {per_episode:g} per token")


def check_memory(work: Path, mode: str) -> str:
    import torch

    cpu = mode == "cpu"
    n = SIZES[mode]["micro_batch"]
    model, tok = load(work / "base", cpu)
    model.train()
    if not cpu:
        model.gradient_checkpointing_enable()
        model.config.use_cache = False
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    ids = torch.randint(0, len(tok), (1, n), device=model.device)
    started = time.perf_counter()
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    if cpu:
        return f"forward+backward of {n} tokens in {time.perf_counter() - started:.1f}s; peak memory not measured (no GPU)"
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2**30
    return (f"forward+backward of {n} tokens (bf16, activation checkpointing) in {time.perf_counter() - started:.1f}s: "
            f"peak {peak:.1f} GiB allocated")


def check_vllm(work: Path, mode: str):
    if mode == "cpu":
        raise Skipped("no GPU")
    try:
        import vllm  # noqa: F401
    except ImportError:
        raise Skipped("vllm is not installed") from None
    if not (work / "sft" / "final" / "config.json").is_file():
        raise RuntimeError("no SFT model to start from")
    return check_grpo(work, mode, vllm=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="the work folder (models, runs, logs)")
    parser.add_argument("--cpu", action="store_true", help="toy sizes on the CPU: bf16, peak memory and vLLM skipped")
    parser.add_argument("--missing", action="store_true", help="only list the distributions to carry in as wheels")
    args = parser.parse_args(argv)
    if args.missing:
        print(f"gpu_check: missing: {' '.join(missing()) or 'nothing'}")
        return 0
    mode = "cpu" if args.cpu else "gpu"
    args.work.mkdir(parents=True, exist_ok=True)
    check = Check()
    started = time.perf_counter()
    if not check.run("env", check_env, args.cpu) or not check.run("model", build_model, args.work, mode):
        print("gpu_check: FAILED (nothing further can run)")
        return 1
    check.run("generate", check_generate, args.work, mode)
    if check.run("sft", check_sft, args.work, mode):
        if check.run("grpo", check_grpo, args.work, mode):
            check.run("logprobs", check_logprobs, args.work, mode)
        else:
            check.report("logprobs", "FAIL", "no GRPO model to sample from")
    else:
        for name in ("grpo", "logprobs"):
            check.report(name, "FAIL", "no SFT model to start from")
    check.run("vllm", check_vllm, args.work, mode)
    check.run("memory", check_memory, args.work, mode)
    verdict = "FAILED" if check.failed else "ok"
    print(f"gpu_check: {verdict} in {time.perf_counter() - started:.0f}s ({mode} mode, work folder {args.work})")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Which tool a trained model would call for each kind of request, and how sure it is.

    python benchmarks/probe_tool_choice.py runs/sft/final
    python benchmarks/probe_tool_choice.py runs/grpo/final --tasks tests/data/tinyshop_rl.eig

For every task of the tiny shop's task file (default: the held-out tasks) the probe renders the
agent's prompt after the customer's opening, scores each tool's full name at the tool-call
position by its summed token log-probs, and normalises over the tools. It prints, per kind of
request (the task id's middle word), the mean probability of each tool and how often each is
the most likely: the figures behind the acceptance notes in docs/training.md. The argmax is
the tool greedy decoding picks when the model opens a tool call, as `eval` does.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OPENING = '<tool_call>{"name": "'


def tool_probabilities(model, tokenizer, prompt: str, tools: list[str]) -> list[float]:
    """P(tool) at the tool-call position of PROMPT, over TOOLS, from each full name's log-prob."""
    import torch

    start = len(tokenizer(prompt + OPENING, add_special_tokens=False)["input_ids"])
    scores = []
    for name in tools:
        ids = tokenizer(prompt + OPENING + name + '"', add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logps = torch.log_softmax(model(torch.tensor([ids])).logits[0], dim=-1)
        scores.append(sum(logps[i - 1, ids[i]].item() for i in range(start, len(ids))))
    return torch.tensor(scores).softmax(0).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model folder (e.g. runs/sft/final)")
    parser.add_argument("--tasks", default=str(ROOT / "tests" / "data" / "tinyshop_heldout.eig"))
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM

    from eigendsl.cli import load_eval_tasks
    from eigendsl.episode.episode import Episode
    from eigendsl.episode.users import ScriptedUser
    from eigendsl.train.masks import render
    from eigendsl.train.config import TrainError
    from eigendsl.train.run import load_tokenizer

    if not (Path(args.model) / "config.json").is_file():
        raise SystemExit(f"error: {args.model} is not a model folder (no config.json)")
    try:
        tokenizer = load_tokenizer(args.model)
    except TrainError as e:
        raise SystemExit(f"error: {e}") from None
    model = AutoModelForCausalLM.from_pretrained(args.model).eval()
    domain, tasks = load_eval_tasks(str(ROOT / "tests" / "data" / "tinyshop.eig"), args.tasks, None, None)
    tools = [t["function"]["name"] for t in domain.tool_schemas("agent")]
    by_kind: dict[str, list[list[float]]] = defaultdict(list)
    for task in tasks:
        episode = Episode(domain, task, ScriptedUser())
        prompt = render(tokenizer, episode.reset(), episode.tools, generation_prompt=True)
        by_kind[task.id.split("-")[1]].append(tool_probabilities(model, tokenizer, prompt, tools))
    for kind, rows in by_kind.items():
        means = "  ".join(f"{tool} {sum(r[i] for r in rows) / len(rows):.2f}" for i, tool in enumerate(tools))
        picked = Counter(tools[max(range(len(tools)), key=r.__getitem__)] for r in rows)
        print(f"{kind} requests ({len(rows)}): {means}  most likely: {dict(picked)}")


if __name__ == "__main__":
    main()

"""`metrics.jsonl`: one line per optimiser step, appended and flushed, continued on resume.

SFT steps carry the loss, learning rate and tokens; GRPO steps carry reward, its components,
pass rate, the fraction of groups dropped by dynamic filtering, tokens, episode length and
the time split between generation, environment, user and training. On resume the lines of
steps after the checkpoint (redone by the resumed run) are dropped, so the step numbers
continue without a gap and without repeats. Only the main process writes it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


class MetricsLog:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def records(self) -> list[dict]:
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                break  # a line cut short by a kill: everything after it is redone
        return out

    def resume_at(self, step: int) -> None:
        """Keep only the lines of steps up to STEP (the checkpoint the run resumes from)."""
        kept = [r for r in self.records() if r.get("step", 0) <= step]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")

    def append(self, record: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()


def step_callback(log: MetricsLog, collect):
    """A TrainerCallback that writes one line per step: COLLECT(state, logs, seconds) gives its fields."""
    from transformers import TrainerCallback

    class StepMetrics(TrainerCallback):
        def __init__(self):
            self.started = time.perf_counter()
            self.logged = -1

        def on_step_begin(self, args, state, control, **kw):
            self.started = time.perf_counter()

        def on_log(self, args, state, control, logs=None, **kw):
            if not state.is_world_process_zero:  # one line per step, from the main process (figures over all ranks)
                return
            if state.global_step == self.logged or logs is None or not any(k in logs for k in ("loss", "train_loss")):
                return
            if "train_runtime" in logs:  # the end-of-training summary, not a step
                return
            self.logged = state.global_step
            record = {"step": state.global_step, **collect(state, logs, time.perf_counter() - self.started)}
            log.append(record)

    return StepMetrics()

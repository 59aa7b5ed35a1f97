"""Evaluation: K trials of every task, run concurrently, written as they finish, resumable.

Results go to two files: OUT (results.json: the configuration, the summary with pass^k, and
one entry per finished episode, rewritten atomically after every episode) and OUT.jsonl (one
line per finished episode, appended and flushed). Rerunning the same command reads OUT.jsonl
and runs only the episodes not finished yet; an interrupted run (Ctrl-C) keeps every episode
that finished. A different configuration is refused rather than mixed in.

Infrastructure failures are not results: an episode whose agent, user or judge endpoint
failed (EndpointError: unreachable, credentials refused, overloaded past its back-off,
garbage) is neither recorded nor scored, and after a few such failures in a row the run stops
with the endpoint's message, so that a rerun retries exactly those episodes. A results file
that cannot be written stops the run too; a torn or unterminated last line (an interrupted
write) is repaired when the run resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from math import comb
from pathlib import Path
from typing import Any, Callable

from .. import ir
from ..episode.chat import EndpointError
from ..files import make_folder, write_atomic
from ..runtime.environment import CompiledDomain
from ..verify.reward import TaskChecker


REFRESH_S = 2.0
MAX_ENDPOINT_FAILURES = 3  # endpoint failures in a row (no finished episode between) that stop a run


class EvalError(Exception):
    """A problem with the evaluation's inputs or its result files; the message says which."""


def pass_hat_k(rewards_by_task: dict[str, list[float]], k: int) -> float | None:
    """The benchmark's pass^k: per task C(successes, k) / C(trials, k), averaged over tasks."""
    values = []
    for rewards in rewards_by_task.values():
        n = len(rewards)
        if n < k:
            continue
        c = sum(1 for r in rewards if r >= 1.0 - 1e-9)
        values.append(comb(c, k) / comb(n, k))
    return sum(values) / len(values) if values else None


def summarise(episodes: list[dict], trials: int, n_tasks: int) -> dict:
    by_task: dict[str, list[float]] = {}
    terminations: dict[str, int] = {}
    tokens = {"agent": {"prompt": 0, "completion": 0}, "user": {"prompt": 0, "completion": 0}}
    flags = 0
    flagged = 0
    violations: dict[str, int] = {}  # policy (mode) -> calls that violated it
    protocol = {"writes": 0, "unconfirmed_writes": 0, "episodes_with_unconfirmed_writes": 0, "crowded_messages": 0}
    for e in episodes:
        kept = e.get("protocol") or {}
        for key in ("writes", "unconfirmed_writes", "crowded_messages"):
            protocol[key] += int(kept.get(key, 0) or 0)
        protocol["episodes_with_unconfirmed_writes"] += bool(kept.get("unconfirmed_writes"))
        by_task.setdefault(e["task_id"], []).append(e["reward"])
        terminations[e["termination"]] = terminations.get(e["termination"], 0) + 1
        for side in tokens:
            for kind in tokens[side]:
                tokens[side][kind] += e.get("tokens", {}).get(side, {}).get(kind, 0)
        flags += len(e.get("fidelity_flags", []))
        flagged += bool(e.get("fidelity_flags"))
        for m in e.get("messages", []):
            for g in m.get("guards", []):
                if g.get("verdict") == "violated":
                    key = f"{g['policy']} ({'enforce' if g.get('enforce') else 'monitor'})"
                    violations[key] = violations.get(key, 0) + 1
    return {
        "tasks": n_tasks,
        "trials": trials,
        "episodes": len(episodes),
        "episodes_expected": n_tasks * trials,
        "average_reward": sum(e["reward"] for e in episodes) / len(episodes) if episodes else None,
        "pass_hat_k": {str(k): pass_hat_k(by_task, k) for k in range(1, trials + 1)},
        "terminations": dict(sorted(terminations.items())),
        "tokens": tokens,
        "fidelity_flags": flags,
        "episodes_with_fidelity_flags": flagged,
        "policy_violations": dict(sorted(violations.items())),
        "protocol": protocol,
    }


def fingerprint(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def read_done(path: Path) -> list[dict]:
    """Episodes already finished, from the append-only file, each once.

    Whatever an interruption or a full disk left is repaired in place: a last line without its
    newline gets one, a torn line is dropped, two records run together are split, a record
    written twice is kept once."""
    if not path.is_file():
        return []
    raw = path.read_bytes()
    decoder = json.JSONDecoder()
    done, seen = [], set()
    for line in raw.decode("utf-8", errors="replace").splitlines():
        at = 0
        while at < len(line):
            try:
                record, end = decoder.raw_decode(line, at)
            except ValueError:
                break  # the rest of this line is torn
            at = end
            while at < len(line) and line[at].isspace():
                at += 1
            key = (record.get("task_id"), record.get("trial"), record.get("fingerprint")) if isinstance(record, dict) else None
            if key is not None and key not in seen:
                seen.add(key)
                done.append(record)
    repaired = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in done).encode()
    if repaired != raw:
        write_atomic(path, [repaired.decode()])
    return done


@dataclass
class Evaluation:
    domain: CompiledDomain
    tasks: list[ir.TaskDef]
    make_agent: Callable[[], Any]
    make_user: Callable[[int], Any]
    config: dict
    out: Path
    trials: int = 1
    concurrency: int = 1
    limits: dict = field(default_factory=dict)
    judge: Any = None  # grades NL assertions (episode/judge.py); None: reported as not evaluated

    def __post_init__(self):
        self.out = Path(self.out)
        self.log = self.out.with_name(self.out.name + ".jsonl")
        self.lock = threading.Lock()
        self.episodes: list[dict] = []
        self.last_write = 0.0
        self.checkers = {t.id: TaskChecker(self.domain, t, self.judge) for t in self.tasks}

    # ------------------------------------------------------------ files
    def prepare(self, overwrite: bool = False) -> list[tuple[str, int]]:
        """The (task, trial) pairs still to run; loads what a previous run finished."""
        make_folder(self.out.parent)
        if overwrite:
            self.out.unlink(missing_ok=True)
            self.log.unlink(missing_ok=True)
        print_ = fingerprint(self.config)
        if self.out.is_file():
            try:
                previous = json.loads(self.out.read_text(encoding="utf-8"))
            except ValueError as e:
                raise EvalError(f"{self.out} exists but is not a results file ({e}); move it away or pass --overwrite") from None
            if previous.get("fingerprint") != print_:
                raise EvalError(f"{self.out} holds results of a different configuration; use another --out or pass --overwrite")
        done = read_done(self.log)
        wanted = {t.id for t in self.tasks}
        self.episodes = [e for e in done if e.get("task_id") in wanted and e.get("fingerprint") == print_]
        finished = {(e["task_id"], e["trial"]) for e in self.episodes}
        return [(t.id, k) for k in range(self.trials) for t in self.tasks if (t.id, k) not in finished]

    def record(self, entry: dict) -> None:
        """Append one finished episode; an OSError (a full disk) leaves the file as it was."""
        with self.lock:
            line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
            with open(self.log, "ab") as fh:
                start = fh.tell()
                try:
                    fh.write(line)
                    fh.flush()
                    os.fsync(fh.fileno())
                except OSError:
                    try:  # cut the part that made it, so no torn line stays behind
                        fh.truncate(start)
                    except OSError:
                        pass  # read_done repairs it on resume
                    raise
            self.episodes.append(entry)
            # The .jsonl line is the durable record; the summary file is refreshed every few
            # seconds (rewriting it after every episode would cost quadratic time on long runs).
            if time.monotonic() - self.last_write > REFRESH_S:
                self.write_results()

    def finish(self) -> None:
        with self.lock:
            self.write_results()

    def write_results(self) -> None:
        self.last_write = time.monotonic()
        order = {t.id: i for i, t in enumerate(self.tasks)}
        episodes = sorted(self.episodes, key=lambda e: (order.get(e["task_id"], 0), e["trial"]))
        payload = {
            "fingerprint": fingerprint(self.config),
            "config": self.config,
            "summary": summarise(episodes, self.trials, len(self.tasks)),
            "episodes": episodes,
        }
        write_atomic(self.out, [json.dumps(payload, ensure_ascii=False, indent=1)])

    # ------------------------------------------------------------ running
    def run_one(self, task_id: str, trial: int) -> dict:
        from ..episode.episode import run_episode

        task = next(t for t in self.tasks if t.id == task_id)
        seed = int(hashlib.sha256(f"{task_id}:{trial}".encode()).hexdigest()[:8], 16)
        result = run_episode(self.domain, task, self.make_agent(), self.make_user(seed), seed=seed,
                             checker=self.checkers[task_id], **self.limits)
        entry = {"task_id": task_id, "trial": trial, "seed": seed, "fingerprint": fingerprint(self.config)}
        entry.update(result.to_json())
        return entry

    def run(self, todo: list[tuple[str, int]], on_done: Callable[[dict], None] | None = None) -> None:
        """Run the episodes on `concurrency` daemon threads; Ctrl-C stops without losing finished ones.

        Raises EvalError when episodes crashed, when the results cannot be written, or when
        endpoints failed (those episodes are left unrecorded for a rerun)."""
        jobs: queue.Queue = queue.Queue()
        for job in todo:
            jobs.put(job)
        results: queue.Queue = queue.Queue()
        stop = threading.Event()
        in_a_row = [0]  # endpoint failures since the last finished episode, counted where they happen

        def worker():
            while not stop.is_set():
                try:
                    task_id, trial = jobs.get_nowait()
                except queue.Empty:
                    break
                try:
                    entry = self.run_one(task_id, trial)
                except EndpointError as e:  # not a result: leave it for a rerun
                    with self.lock:
                        in_a_row[0] += 1
                        if in_a_row[0] >= MAX_ENDPOINT_FAILURES:
                            stop.set()
                    results.put(("endpoint", str(e)))
                    continue
                except Exception as e:  # a bug must not kill the whole run; report it with the task
                    results.put(("error", f"{task_id} trial {trial}: {type(e).__name__}: {e}"))
                    continue
                try:
                    self.record(entry)
                except OSError as e:
                    stop.set()
                    results.put(("unwritable", f"cannot write the results to {self.log}: {e.strerror or e}"))
                    break
                with self.lock:
                    in_a_row[0] = 0
                results.put(("done", entry))
            results.put(("exit", None))

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, min(self.concurrency, len(todo))))]
        for t in threads:
            t.start()
        errors: list[str] = []
        failures: list[str] = []
        unwritable = None
        exited = finished = 0
        try:
            while exited < len(threads):
                kind, payload = results.get()
                if kind == "exit":
                    exited += 1
                elif kind == "done":
                    finished += 1
                    if on_done is not None:
                        on_done(payload)
                elif kind == "endpoint":
                    failures.append(payload)
                elif kind == "unwritable":
                    unwritable = payload
                else:
                    errors.append(payload)
        except KeyboardInterrupt:
            stop.set()
            with self.lock:  # let a write in progress finish; then leave, dropping unfinished episodes
                try:
                    self.write_results()
                except OSError:
                    pass
            raise
        missing = len(todo) - finished
        if unwritable:
            raise EvalError(f"{unwritable}. The run stopped with {plural(len(self.episodes), 'finished episode')} kept: "
                            "make room and rerun the same command to resume.")
        if failures:
            stopped = "The run stopped" if stop.is_set() else "The run ended"
            raise EvalError(f"{failures[-1].rstrip('.')}. {stopped} after {plural(len(failures), 'episode')} failed on the "
                            f"endpoint; they are not recorded or scored, and {missing} of {len(todo)} are still to run: "
                            "rerun the same command when the endpoint answers.")
        if errors:
            raise EvalError(f"{plural(len(errors), 'episode')} crashed: " + "; ".join(errors[:3]))


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"

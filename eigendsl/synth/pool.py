"""Verification of a batch's drafts across worker processes, merged back in draft order.

Each worker is a fresh (spawned) process that loads the domain once, in the pool's
initializer, and then runs `Verifier.verify` on the chunks of a batch it is sent: compile
(the chunk's drafts together), analyses, gold replay, mutation kill rate and information
flow. Each verdict is a function of its draft and the domain alone (`compile_batch` never
blames one draft for another), so the verdicts are the same whatever the number of workers;
the parent merges them in the order the chunks were sent. Workers ignore SIGINT: an interrupt
stops the parent, which lets the chunks in hand finish and ends the workers; a worker that
dies or raises becomes a `PoolFailure` that says so.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..compiler import load_domain
from .render import Draft
from .verify import Verdict, Verifier

MAX_WORKERS = 8  # beyond this the serial write and compile stages dominate a batch
CHUNKS_PER_WORKER = 2  # enough to balance the load; each chunk costs one more check of the domain

Items = list[tuple[str, Draft]]

_verifier: Verifier | None = None  # the worker process's own, set up by `_start`


class PoolFailure(Exception):
    """A verification worker died or raised; the run cannot go on."""


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform
        return os.cpu_count() or 1


def default_workers() -> int:
    return max(1, min(usable_cpus(), MAX_WORKERS))


def _start(source: Path, portable: Path, db, user_db, kill_rate: float) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _verifier
    _verifier = Verifier(load_domain(source, db, user_db), portable, db, user_db, kill_rate)


def _verify(chunk: Items) -> tuple[list[Verdict], dict[str, float], float]:
    cpu = time.process_time()
    verdicts = _verifier.verify(chunk)
    seconds, _verifier.timer.seconds = _verifier.timer.seconds, {}
    return verdicts, seconds, time.process_time() - cpu


class VerifyPool:
    """Worker processes for one run's verification, started on first use."""

    def __init__(self, verifier: Verifier, source: Path, workers: int):
        self.verifier = verifier
        self.source = source
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None
        self.cpu_seconds = 0.0  # the workers' CPU time, summed, since the last `take_cpu`

    def start(self) -> ProcessPoolExecutor:
        if self.executor is None:
            v = self.verifier
            self.executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                initargs=(self.source, v.source, v.db, v.user_db, v.threshold))
        return self.executor

    def verify(self, items: Items) -> list[Verdict]:
        """The verdicts on `items`, in their order; stage times go to the verifier's timer."""
        if not items:
            return []
        executor = self.start()
        size = max(1, -(-len(items) // (self.workers * CHUNKS_PER_WORKER)))
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        futures = [executor.submit(_verify, chunk) for chunk in chunks]
        out: list[Verdict] = []
        for chunk, future in zip(chunks, futures):
            try:
                verdicts, seconds, cpu = future.result()
            except BrokenProcessPool:
                self.close()
                raise PoolFailure("a verification worker process died (out of memory, or killed?) "
                                  "or could not load the domain; rerun the same command to resume") from None
            except Exception as e:
                self.close()
                raise PoolFailure(f"verifying {chunk[0][0]} .. {chunk[-1][0]} failed in a worker process: "
                                  f"{type(e).__name__}: {e}") from None
            out += verdicts
            self.cpu_seconds += cpu
            for k, v in seconds.items():
                self.verifier.timer.seconds[k] = self.verifier.timer.seconds.get(k, 0.0) + v
        return out

    def take_cpu(self) -> float:
        cpu, self.cpu_seconds = self.cpu_seconds, 0.0
        return cpu

    def close(self) -> None:
        """End the workers once the chunks they are running finish; queued chunks are dropped."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

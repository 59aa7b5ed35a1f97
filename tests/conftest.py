"""Shared fixtures: project paths, the reference data (skipped cleanly when absent), domains."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "tau2"
DOMAINS = ["airline", "retail", "telecom"]
# The exhaustive sweeps (every mutant, every evaluation, every synthesised task) run with
# EIGENDSL_DEEP=1 (scripts/deep_checks.sh); the README's command runs a fixed, seeded sample of
# each, which keeps every domain and every kind of case (docs/verification.md says which).
DEEP = os.environ.get("EIGENDSL_DEEP") == "1"
deep_only = pytest.mark.skipif(not DEEP, reason="the full sweep: EIGENDSL_DEEP=1 (scripts/deep_checks.sh)")


def shared_dir(domain: str) -> Path:
    path = SHARED / domain
    if not (path / "tasks.json").is_file():
        pytest.skip(f"reference data {path} is absent (it lives in ../shared next to the project)")
    return path


def domain_source(domain: str) -> Path:
    path = ROOT / "domains" / f"{domain}.eig"
    if not path.is_file():
        pytest.skip(f"{path.name} is not written yet")
    return path


def root_for(path: Path) -> Path:
    """A tree holding both `path` and the project: a test's own file may import the project's domains."""
    return Path(os.path.commonpath([Path(path).resolve(), ROOT]))


@pytest.fixture
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)
    return ROOT


def cached(load):
    """A session cache of domains by name."""
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = load(name)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def compiled_domains():
    """Domains compiled from source with the project's own data, one per name, cached."""
    from eigendsl.compiler import load_domain

    return cached(lambda name: load_domain(domain_source(name)))


@pytest.fixture(scope="session")
def reference_domains():
    """Domains compiled with the benchmark's data from ../shared, one per name, cached."""
    from eigendsl.compiler import load_domain

    def load(name: str):
        shared = shared_dir(name)
        user_db = shared / "user_db.json"
        return load_domain(domain_source(name), shared / "db.json", user_db if user_db.is_file() else None)

    return cached(load)


def train_ids(domain: str) -> set[str]:
    return set(json.loads((shared_dir(domain) / "split_tasks.json").read_text())["train"])


def imported_benchmark_tasks(domain: str, tmp_path: Path):
    """The benchmark's tasks of a domain, imported to eig (`import-tau2`) and compiled on its data."""
    from click.testing import CliRunner

    from eigendsl.cli import main
    from eigendsl.compiler import compile_file

    shared = shared_dir(domain)
    out = tmp_path / f"{domain}.eig"
    result = CliRunner().invoke(main, ["import-tau2", str(shared / "tasks.json"), "--domain", str(ROOT / "domains" / f"{domain}.eig"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    user_db = shared / "user_db.json"
    c = compile_file(out, shared / "db.json", user_db if user_db.is_file() else None, root=root_for(out))
    assert c.ok, [d.message for d in c.diagnostics if d.is_error]
    return c


class Hang(Exception):
    """The code under test used more CPU time than its guard allows."""


@contextlib.contextmanager
def cpu_time_limit(seconds: float):
    """Raise Hang in this process once the block has used `seconds` of CPU time (ITIMER_PROF,
    SIGPROF). CPU time, not wall time: a busy machine slows the clock, not the work, so a guard
    does not fire because other processes share the cores. SIGPROF, not SIGALRM: pytest-timeout's
    own wall-clock timer (SIGALRM) stays in place as the last resort."""
    def hang(signum, frame):
        raise Hang()

    previous = signal.signal(signal.SIGPROF, hang)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)

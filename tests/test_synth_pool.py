"""`eigendsl synth --workers`: verification in worker processes keeps exactly what one process
keeps, stays out of the resume hash, and turns a failing worker into a clear error."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import ROOT

from eigendsl.synth.engine import Engine, SynthConfig, SynthProblem, config_hash
from eigendsl.synth.pool import PoolFailure, VerifyPool

AIRLINE = ROOT / "domains" / "airline.eig"
TIMINGS = {"seconds", "stage_seconds", "kept_per_minute", "cpu_seconds", "kept_per_cpu_minute", "workers"}


def outputs(out: Path) -> dict[str, str]:
    files = {p.relative_to(out).as_posix(): p.read_text() for p in sorted((out / "tasks").glob("*.eig"))}
    for name in ("rl.jsonl", "sft.jsonl", "user_sft.jsonl"):
        files[name] = (out / name).read_text()
    report = {k: v for k, v in json.loads((out / "report.json").read_text()).items() if k not in TIMINGS}
    for r in report["rounds"]:
        del r["seconds"], r["verify_seconds"]
    files["report.json"] = json.dumps(report, sort_keys=True)
    return files


def test_two_workers_keep_what_one_process_keeps(tmp_path):
    config = dict(target=str(AIRLINE), tasks=40, batch=40, rounds=2, seed=7)
    one = Engine(SynthConfig(**config, workers=1), tmp_path / "one").run()
    two = Engine(SynthConfig(**config, workers=2), tmp_path / "two").run()
    assert one["kept"] >= 40 and one["workers"] == 1 and two["workers"] == 2
    assert outputs(tmp_path / "one") == outputs(tmp_path / "two")
    verify = [r["verify_seconds"] for r in two["rounds"]]
    assert all(v["wall"] > 0 and v["workers_cpu"] > 0 for v in verify)
    assert all(r["verify_seconds"]["workers_cpu"] == 0 for r in one["rounds"])
    assert two["cpu_seconds"] > sum(v["workers_cpu"] for v in verify)  # the engine's own time and the workers'


def test_workers_do_not_decide_whether_a_run_resumes(tmp_path):
    text = AIRLINE.read_text()
    hashes = {config_hash(SynthConfig(target=str(AIRLINE), workers=w), text) for w in (None, 1, 2, 8)}
    assert len(hashes) == 1
    with pytest.raises(ValueError):
        SynthConfig(target=str(AIRLINE), workers=0)


@pytest.fixture(scope="module")
def compiled_drafts(tmp_path_factory):
    """An engine with its verifier, and a few of its drafts."""
    engine = Engine(SynthConfig(target=str(AIRLINE), tasks=8, workers=1), tmp_path_factory.mktemp("pool") / "run")
    engine.round_stats(1)
    rng = random.Random(0)
    drafts = [(f"d{i}", d) for i, plan in enumerate(engine.choose(rng, 12))
              if not isinstance(d := engine.writer.write_plan(plan, rng), str)]
    return engine, drafts


def test_a_worker_that_raises_is_a_clear_error(compiled_drafts):
    engine, todo = compiled_drafts
    pool = VerifyPool(engine.verifier, engine.source, 2)
    try:
        assert [v.task_id for v in pool.verify(todo)] == [tid for tid, _ in todo]
        with pytest.raises(PoolFailure, match=r"verifying bad \.\. bad failed in a worker process: \w+Error"):
            pool.verify([("bad", None)])
    finally:
        pool.close()


def test_a_worker_that_cannot_start_is_a_clear_error(compiled_drafts, tmp_path):
    engine, todo = compiled_drafts
    pool = VerifyPool(engine.verifier, tmp_path / "gone.eig", 2)
    try:
        with pytest.raises(PoolFailure, match="worker process died .* or could not load the domain"):
            pool.verify(todo)
    finally:
        pool.close()


def test_the_engine_reports_a_failed_worker_as_a_synth_problem(tmp_path):
    engine = Engine(SynthConfig(target=str(AIRLINE), tasks=8, workers=2), tmp_path / "run")
    engine.pool.source = tmp_path / "gone.eig"  # the workers cannot load the domain
    with pytest.raises(SynthProblem, match="worker process died"):
        engine.run()
    assert engine.pool.executor is None  # the workers were ended


def test_a_drafts_verdict_does_not_depend_on_its_batch(compiled_drafts):
    """Split anywhere, a batch gets the same verdicts: model text that leaves a brace open, or
    calls a tool the domain lacks, is blamed on itself and not on the draft after it."""
    engine, drafts = compiled_drafts
    tid, first = drafts[0]
    open_brace = ("m-open", replace(first, text='task "m-open" {\n  user {\n    persona "a traveller"\n'))
    no_tool = ("m-tool", replace(first, text='task "m-tool" {\n  user { persona "a traveller" }\n  gold { fly_to_the_moon() }\n}'))
    items = [drafts[0], open_brace, *drafts[1:4], no_tool, *drafts[4:]]
    together = engine.verifier.verify(items)
    alone = [engine.verifier.verify([item])[0] for item in items]
    assert [(v.task_id, v.ok, v.reason, v.detail) for v in together] == [(v.task_id, v.ok, v.reason, v.detail) for v in alone]
    verdicts = {v.task_id: v for v in together}
    assert verdicts["m-open"].reason == verdicts["m-tool"].reason == "compile"
    assert sum(v.ok for v in together) >= 2
